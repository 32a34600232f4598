//! An application's draft as every door builds it: the typed input a door read from its own format (the form's
//! strings, the API's JSON), checked in one place against the scheme applied for, into the [`Details`] stored with
//! the application. The checks say what is wrong as [`Invalid`] values; each door words them in its own language
//! and places them on its own fields (a form's field, a JSON pointer).
//!
//! The details are typed here and become JSON only at the store's boundary, in the shape every stored row has:
//! `{"payment": {"method": "iban", "iban": …}, "contact": {"email", "mobile"}, "declarations": {…: bool},
//! "figures": {…: cents}}`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sportello_domain::law::{Declaration, DeclarationKind, Decrees, Figure, Scheme};
use sportello_domain::persons::{parse_email, parse_mobile};
use sportello_domain::{Cents, Iban, IbanError};
use sportello_store::Application;

/// How the indemnity is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Payment {
    /// A transfer to the citizen's account.
    Iban {
        /// The account.
        iban: Iban,
    },
    /// Cash at a post office (bonifico domiciliato).
    Domiciliato,
}

/// Where the institute can reach the citizen: at least one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contacts {
    /// An e-mail address.
    pub email: Option<String>,
    /// A mobile number, digits with an optional leading `+`.
    pub mobile: Option<String>,
}

/// The self-declarations made (DPR 445/2000 arts. 46–47), as stored: exactly the scheme's, each true.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Declarations {
    /// Not a holder of a pension.
    pub not_pension_holder: bool,
    /// Not enrolled in another compulsory pension scheme.
    pub no_other_compulsory_scheme: bool,
    /// Not employed on the day the decree took force.
    pub not_employed: bool,
    /// Not a recipient of reddito di cittadinanza.
    pub not_reddito_di_cittadinanza: bool,
}

impl Declarations {
    /// Whether the declaration of `kind` was made.
    pub fn made(&self, kind: DeclarationKind) -> bool {
        match kind {
            DeclarationKind::NotPensionHolder => self.not_pension_holder,
            DeclarationKind::NoOtherCompulsoryScheme => self.no_other_compulsory_scheme,
            DeclarationKind::NotEmployed => self.not_employed,
            DeclarationKind::NotRedditoDiCittadinanza => self.not_reddito_di_cittadinanza,
        }
    }

    /// Exactly the declarations `asked` (a scheme's), as made.
    pub fn of(asked: &[Declaration]) -> Self {
        let mut made = Declarations::default();
        for declaration in asked {
            match declaration.kind() {
                DeclarationKind::NotPensionHolder => made.not_pension_holder = true,
                DeclarationKind::NoOtherCompulsoryScheme => made.no_other_compulsory_scheme = true,
                DeclarationKind::NotEmployed => made.not_employed = true,
                DeclarationKind::NotRedditoDiCittadinanza => made.not_reddito_di_cittadinanza = true,
            }
        }
        made
    }
}

/// What is stored with an application as its details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// How to pay.
    pub payment: Payment,
    /// Where to write.
    pub contact: Contacts,
    /// What the citizen declared.
    pub declarations: Declarations,
    /// The amounts the citizen declared, by figure id (only for schemes that ask for them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Cents>,
    /// Who filed it for the citizen, when someone else did: set by the use case that files under a mandate, never
    /// read from a door's input; the receipt says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filed_by: Option<FiledBy>,
}

/// The office and operator that filed an application for a citizen, as stored with it: under a mandate (a patronato's
/// office), or on a call the citizen made to the Contact Center. Exactly one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiledBy {
    /// The intermediary's office (its code on the roster).
    pub office: String,
    /// Its kind (`patronato` …).
    pub kind: String,
    /// The operator's codice fiscale.
    pub operator: String,
    /// The mandate the office acted under, when it acted under one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate: Option<i64>,
    /// The Contact Center call the operator filed it on, when the citizen called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
}

impl Details {
    /// The details stored with `application` (`None` if they cannot be read back, which is logged).
    pub fn stored(application: &Application) -> Option<Self> {
        serde_json::from_value::<Details>(application.details.clone())
            .inspect_err(|e| tracing::error!(error = %e, protocol = %application.protocol, "unreadable details"))
            .ok()
    }
}

/// How the door's input says to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentChoice {
    /// A transfer to the IBAN as typed (spaces and lower case allowed).
    Iban(String),
    /// Cash at a post office.
    Domiciliato,
    /// No choice made.
    None,
}

/// A draft as a door read it, typed but not yet checked against the scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftInput {
    /// The scheme applied for, by id.
    pub scheme: String,
    /// How to pay.
    pub payment: PaymentChoice,
    /// The e-mail address as typed, if any.
    pub email: Option<String>,
    /// The mobile number as typed, if any.
    pub mobile: Option<String>,
    /// The declarations made.
    pub declarations: BTreeSet<DeclarationKind>,
    /// The amounts declared, by figure id.
    pub figures: BTreeMap<String, Cents>,
    /// The figures typed but not readable as an amount (see [`parse_amount`]).
    pub unreadable: BTreeSet<String>,
}

/// One thing wrong with a draft: what and, through [`Invalid::field`], where.
#[derive(Debug, Clone)]
pub enum Invalid {
    /// No decree in force has a scheme of this id; those applied for are listed.
    UnknownScheme {
        /// The id asked for.
        asked: String,
        /// The schemes one may apply for.
        known: Vec<String>,
    },
    /// The scheme is paid without an application.
    NotOnApplication(String),
    /// Neither a transfer nor cash at a post office chosen.
    NoPaymentMethod,
    /// A transfer chosen, no IBAN given.
    NoIban,
    /// The IBAN given is not one.
    Iban(IbanError),
    /// The e-mail address does not look like one.
    Email,
    /// The mobile number does not look like one.
    Mobile,
    /// Neither an e-mail address nor a mobile number.
    NoContact,
    /// A declaration the scheme asks for was not made.
    Declaration(Declaration),
    /// An amount the scheme asks to declare is missing.
    FigureMissing(Figure),
    /// An amount the scheme asks to declare is not readable as one.
    FigureUnreadable(Figure),
}

impl Invalid {
    /// The field it is about, by the names the form and the stored details use: `scheme`, `payment`, `iban`,
    /// `email`, `mobile`, a declaration's kind, a figure's id.
    pub fn field(&self) -> &str {
        match self {
            Self::UnknownScheme { .. } | Self::NotOnApplication(_) => "scheme",
            Self::NoPaymentMethod => "payment",
            Self::NoIban | Self::Iban(_) => "iban",
            Self::Email | Self::NoContact => "email",
            Self::Mobile => "mobile",
            Self::Declaration(declaration) => declaration.kind().as_str(),
            Self::FigureMissing(figure) | Self::FigureUnreadable(figure) => figure.id(),
        }
    }
}

/// Checks `input` against the decrees in force: the scheme applied for and the [`Details`] to store, or every
/// thing that is wrong, in the order a form shows its fields. An unknown scheme asks for no declaration and no
/// figure: its own error is reported with the other fields'.
pub fn validate<'a>(decrees: &'a Decrees, input: &DraftInput) -> Result<(&'a Scheme, Details), Vec<Invalid>> {
    let mut invalid = Vec::new();
    let found = decrees.scheme(&input.scheme);
    let scheme = found.filter(|s| s.on_application());
    match found {
        Some(s) if !s.on_application() => invalid.push(Invalid::NotOnApplication(s.id().to_owned())),
        Some(_) => {}
        None => {
            let known = decrees.schemes().filter(|s| s.on_application()).map(|s| s.id().to_owned()).collect();
            invalid.push(Invalid::UnknownScheme { asked: input.scheme.clone(), known });
        }
    }
    let details = details(scheme, input, &mut invalid);
    match (scheme, details) {
        (Some(scheme), Some(details)) if invalid.is_empty() => Ok((scheme, details)),
        _ => Err(invalid),
    }
}

/// [`validate`] for a scheme the door already found and knows is applied for (the form names it in its address).
pub fn validate_for(scheme: &Scheme, input: &DraftInput) -> Result<Details, Vec<Invalid>> {
    let mut invalid = Vec::new();
    match details(Some(scheme), input, &mut invalid) {
        Some(details) if invalid.is_empty() => Ok(details),
        _ => Err(invalid),
    }
}

/// The details of `input` for `scheme` (no declaration nor figure asked when there is none), with what is wrong
/// pushed onto `invalid`.
fn details(scheme: Option<&Scheme>, input: &DraftInput, invalid: &mut Vec<Invalid>) -> Option<Details> {
    let payment = match &input.payment {
        PaymentChoice::Iban(typed) if typed.trim().is_empty() => {
            invalid.push(Invalid::NoIban);
            None
        }
        PaymentChoice::Iban(typed) => {
            Iban::parse(typed).map(|iban| Payment::Iban { iban }).map_err(|e| invalid.push(Invalid::Iban(e))).ok()
        }
        PaymentChoice::Domiciliato => Some(Payment::Domiciliato),
        PaymentChoice::None => {
            invalid.push(Invalid::NoPaymentMethod);
            None
        }
    };
    let typed = |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (email, mobile) = (typed(&input.email), typed(&input.mobile));
    let email = email.and_then(|e| match Contact::parse(&e) {
        Some(Contact::Email(email)) => Some(email),
        _ => {
            invalid.push(Invalid::Email);
            None
        }
    });
    let mobile = mobile.and_then(|m| match Contact::parse(&m) {
        Some(Contact::Sms(mobile)) => Some(mobile),
        _ => {
            invalid.push(Invalid::Mobile);
            None
        }
    });
    if typed(&input.email).is_none() && typed(&input.mobile).is_none() {
        invalid.push(Invalid::NoContact);
    }
    let (asked, figures) = scheme.map_or((&[][..], &[][..]), |s| (s.declarations(), s.figures()));
    for declaration in asked {
        if !input.declarations.contains(&declaration.kind()) {
            invalid.push(Invalid::Declaration(declaration.clone()));
        }
    }
    let mut declared = BTreeMap::new();
    for figure in figures {
        match input.figures.get(figure.id()) {
            Some(amount) => {
                declared.insert(figure.id().to_owned(), *amount);
            }
            None if input.unreadable.contains(figure.id()) => invalid.push(Invalid::FigureUnreadable(figure.clone())),
            None => invalid.push(Invalid::FigureMissing(figure.clone())),
        }
    }
    Some(Details {
        payment: payment?,
        contact: Contacts { email, mobile },
        declarations: Declarations::of(asked),
        figures: declared,
        filed_by: None,
    })
}

/// Why a typed amount is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountProblem {
    /// Nothing typed.
    Missing,
    /// Not digits with at most two decimals.
    Malformed,
}

/// An amount in euros as a person types it: digits, an optional minus sign (a loss), and a comma or dot before at
/// most two decimals; no thousands separators, which would make "1.500" ambiguous.
pub fn parse_amount(typed: &str) -> Result<Cents, AmountProblem> {
    let typed = typed.trim().trim_end_matches('€').trim();
    if typed.is_empty() {
        return Err(AmountProblem::Missing);
    }
    let (negative, digits) = match typed.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, typed),
    };
    let cents = Cents::parse(&digits.replacen(',', ".", 1)).map_err(|_| AmountProblem::Malformed)?;
    Ok(if negative { Cents::new(-cents.get()) } else { cents })
}

/// Reads the amounts typed, `(figure id, text)`, into `input`: an empty one is left out (the scheme's check says it
/// is missing), one that is not an amount is marked unreadable.
pub fn read_figures<'a>(input: &mut DraftInput, typed: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (id, text) in typed {
        match parse_amount(text) {
            Ok(amount) => {
                input.figures.insert(id.to_owned(), amount);
            }
            Err(AmountProblem::Missing) => {}
            Err(AmountProblem::Malformed) => {
                input.unreadable.insert(id.to_owned());
            }
        }
    }
}

/// Where a message can reach a person: an e-mail address or a mobile number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// An e-mail address.
    Email(String),
    /// A mobile number, digits with an optional leading `+`.
    Sms(String),
}

impl Contact {
    /// Reads an e-mail address (anything with an `@`) or a phone number (8 to 15 digits, an optional leading `+`;
    /// spaces, dots and dashes ignored).
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        if input.contains('@') {
            return parse_email(input).map(Contact::Email);
        }
        let (plus, rest) = match input.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", input),
        };
        let digits: String = rest.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
        parse_mobile(&format!("{plus}{digits}")).map(Contact::Sms)
    }

    /// The address or number.
    pub fn recipient(&self) -> &str {
        match self {
            Contact::Email(to) | Contact::Sms(to) => to,
        }
    }
}

#[cfg(test)]
mod tests {
    use sportello_domain::law::Rulebook;

    use super::*;

    fn complete(scheme: &str) -> DraftInput {
        DraftInput {
            scheme: scheme.to_owned(),
            payment: PaymentChoice::Iban("it60 x054 2811 1010 0000 0123 456".to_owned()),
            email: Some("mario.rossi@example.it".to_owned()),
            mobile: None,
            declarations: DeclarationKind::ALL.into_iter().collect(),
            figures: BTreeMap::new(),
            unreadable: BTreeSet::new(),
        }
    }

    #[test]
    fn the_details_keep_the_json_shape_of_every_stored_row() {
        let decrees = Decrees::embedded();
        let (scheme, details) = validate(&decrees, &complete("art27")).unwrap();
        assert_eq!(scheme.id(), "art27");
        let json = serde_json::to_value(&details).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "payment": {"method": "iban", "iban": "IT60X0542811101000000123456"},
                "contact": {"email": "mario.rossi@example.it", "mobile": null},
                "declarations": {"not_pension_holder": true, "no_other_compulsory_scheme": true,
                                 "not_employed": false, "not_reddito_di_cittadinanza": true},
            }),
            "art. 27 asks for three declarations, and only those are recorded"
        );
        assert_eq!(serde_json::from_value::<Details>(json).unwrap(), details, "read back as stored");
    }

    #[test]
    fn an_unknown_scheme_is_named_with_every_other_field_wrong() {
        let decrees = Decrees::embedded();
        let mut input = complete("art99");
        input.email = None;
        input.payment = PaymentChoice::None;
        let fields: Vec<String> =
            validate(&decrees, &input).unwrap_err().iter().map(|i| i.field().to_owned()).collect();
        assert_eq!(fields, ["scheme", "payment", "email"]);
        let april = validate(&decrees, &complete("art84c1")).unwrap_err();
        assert!(matches!(&april[..], [Invalid::NotOnApplication(id)] if id == "art84c1"), "{april:?}");
    }

    #[test]
    fn a_figure_is_missing_or_unreadable_and_never_both() {
        let rulebook = Rulebook::dl34_2020();
        let Some(may) = rulebook.schemes().iter().find(|s| !s.figures().is_empty()) else {
            panic!("DL 34 asks for figures")
        };
        let ids: Vec<&str> = may.figures().iter().map(|f| f.id()).collect();
        let mut input = complete(may.id());
        read_figures(&mut input, [(ids[0], "1.500,5x")]);
        let invalid = validate_for(may, &input).unwrap_err();
        assert!(matches!(&invalid[0], Invalid::FigureUnreadable(f) if f.id() == ids[0]), "{invalid:?}");
        assert_eq!(invalid.iter().filter(|i| i.field() == ids[0]).count(), 1, "{invalid:?}");
        let mut input = complete(may.id());
        read_figures(&mut input, ids.iter().map(|id| (*id, "-200,50 €")));
        let details = validate_for(may, &input).unwrap();
        assert_eq!(details.figures[ids[0]], Cents::new(-20_050));
    }

    #[test]
    fn contacts_are_an_address_or_a_mobile_number() {
        let email = |s: &str| Some(Contact::Email(s.to_owned()));
        let sms = |s: &str| Some(Contact::Sms(s.to_owned()));
        let cases = [
            ("an e-mail address", "mario.rossi@example.it", email("mario.rossi@example.it")),
            ("an address with spaces around", "  a@b.it ", email("a@b.it")),
            ("an Italian mobile number with spaces", "+39 333 123 4567", sms("+393331234567")),
            ("a number without prefix", "333-1234567", sms("3331234567")),
            ("no domain dot", "mario@localhost", None),
            ("two at signs", "a@b@c.it", None),
            ("empty local part", "@example.it", None),
            ("a space inside", "mario rossi@example.it", None),
            ("too few digits", "12345", None),
            ("letters", "333ABC4567", None),
            ("empty", "", None),
        ];
        for (situation, input, expected) in cases {
            assert_eq!(Contact::parse(input), expected, "{situation}");
        }
    }
}
