//! The application form: what the browser posts, how it is checked, and the details stored with the application.
//!
//! A value is kept as typed until it is valid; [`ApplicationForm::validate`] turns the whole form into
//! [`Details`] or into messages tied to its fields, in the citizen's language.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sportello_domain::law::{Declaration, DeclarationKind, Figure, Scheme};
use sportello_domain::{Cents, Iban, IbanError};
use utoipa::ToSchema;

use crate::auth::handlers::Contact;
use crate::i18n::Lang;

/// The value a ticked declaration's checkbox posts.
pub const TICKED: &str = "si";

/// The application form as posted. Every field defaults to empty, so that the handler judges what is missing
/// (a missing CSRF token is a 403, a missing declaration a message beside its checkbox).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApplicationForm {
    /// The CSRF token, bound to the session.
    pub csrf: String,
    /// The indemnity applied for (`art27` …).
    pub scheme: String,
    /// Drawn when the form was first rendered; the same key makes a resubmission answer with the same application.
    pub idempotency_key: String,
    /// `iban` (transfer to an account) or `domiciliato` (cash at a post office).
    pub payment: String,
    /// The IBAN as typed.
    pub iban: String,
    /// The e-mail address as typed.
    pub email: String,
    /// The mobile number as typed.
    pub mobile: String,
    /// Ticked: not a holder of a pension.
    pub not_pension_holder: String,
    /// Ticked: not enrolled in another compulsory pension scheme.
    pub no_other_compulsory_scheme: String,
    /// Ticked: not employed on the day the decree took force.
    pub not_employed: String,
    /// Ticked: not a recipient of reddito di cittadinanza.
    pub not_reddito_di_cittadinanza: String,
    /// Declared: income of March–April 2019 in euros, as typed (art. 84 c. 2 DL 34/2020).
    pub income_2019_bimester_2: String,
    /// Declared: income of March–April 2020 in euros, as typed.
    pub income_2020_bimester_2: String,
    /// Non-empty when the review page's "Modifica" button sent the form back for editing.
    pub edit: String,
}

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactDetails {
    /// An e-mail address.
    #[schema(example = "mario.rossi@example.it")]
    pub email: Option<String>,
    /// A mobile number, digits with an optional leading `+`.
    #[schema(example = "+393331234567")]
    pub mobile: Option<String>,
}

/// The self-declarations (DPR 445/2000 arts. 46–47): each scheme requires its own (`GET /api/v1/schemes` lists
/// them with their articles), and each of those must be true for the application to be recorded. Stored details
/// have exactly the scheme's declarations true. A declaration left out reads as not made; one the scheme does not
/// ask for is not recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Declarations {
    /// Not a holder of a pension (arts. 27, 28, 29, 30 and 38 c. 1).
    pub not_pension_holder: bool,
    /// Not enrolled in another compulsory pension scheme (arts. 27 and 28 c. 1).
    pub no_other_compulsory_scheme: bool,
    /// Not employed on 17 March 2020, the day the decree took force (art. 29 c. 1, art. 38 c. 2).
    pub not_employed: bool,
    /// Not a recipient of reddito di cittadinanza (art. 31 c. 1).
    pub not_reddito_di_cittadinanza: bool,
}

impl Declarations {
    /// Whether the declaration of `kind` was made.
    pub fn made(&self, kind: DeclarationKind) -> bool {
        *self.slot(kind)
    }

    /// Records the declaration of `kind` as made, or not.
    pub fn set(&mut self, kind: DeclarationKind, made: bool) {
        *self.slot_mut(kind) = made;
    }

    fn slot(&self, kind: DeclarationKind) -> &bool {
        match kind {
            DeclarationKind::NotPensionHolder => &self.not_pension_holder,
            DeclarationKind::NoOtherCompulsoryScheme => &self.no_other_compulsory_scheme,
            DeclarationKind::NotEmployed => &self.not_employed,
            DeclarationKind::NotRedditoDiCittadinanza => &self.not_reddito_di_cittadinanza,
        }
    }

    fn slot_mut(&mut self, kind: DeclarationKind) -> &mut bool {
        match kind {
            DeclarationKind::NotPensionHolder => &mut self.not_pension_holder,
            DeclarationKind::NoOtherCompulsoryScheme => &mut self.no_other_compulsory_scheme,
            DeclarationKind::NotEmployed => &mut self.not_employed,
            DeclarationKind::NotRedditoDiCittadinanza => &mut self.not_reddito_di_cittadinanza,
        }
    }

    /// Exactly the declarations `asked` (a scheme's), as made.
    pub fn of(asked: &[Declaration]) -> Self {
        let mut declarations = Declarations::default();
        for declaration in asked {
            declarations.set(declaration.kind(), true);
        }
        declarations
    }
}

/// What is stored with an application as its details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// How to pay.
    pub payment: Payment,
    /// Where to write.
    pub contact: ContactDetails,
    /// What the citizen declared.
    pub declarations: Declarations,
    /// The amounts the citizen declared, by figure id (only for schemes that ask for them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Cents>,
}

fn incomplete_message(lang: Lang) -> &'static str {
    lang.pick(
        "Il modulo era incompleto: controlli i dati e lo invii di nuovo.",
        "The form was incomplete: check what you entered and send it again.",
    )
}

/// The form's field for a figure: its id, as a static name for [`FieldErrors`].
fn figure_field(id: &str) -> &'static str {
    match id {
        "income_2019_bimester_2" => "income_2019_bimester_2",
        "income_2020_bimester_2" => "income_2020_bimester_2",
        _ => "figure",
    }
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

fn figure_message(figure: &Figure, problem: AmountProblem, lang: Lang) -> String {
    let label = lang.pick(figure.text_it(), figure.text_en());
    match (problem, lang) {
        (AmountProblem::Missing, Lang::It) => format!("Indichi il «{label}» ({}).", figure.legal_ref()),
        (AmountProblem::Missing, Lang::En) => format!("Enter the “{label}” ({}).", figure.legal_ref()),
        (AmountProblem::Malformed, Lang::It) => format!(
            "«{label}»: scriva l'importo in euro senza separatori delle migliaia, con la virgola prima dei centesimi e il segno meno se è una perdita, ad esempio 1500,50 o -200."
        ),
        (AmountProblem::Malformed, Lang::En) => format!(
            "“{label}”: write the amount in euros without thousands separators, with a comma or dot before the cents and a minus sign for a loss, for example 1500.50 or -200."
        ),
    }
}

/// Messages tied to the form's fields, in the order the form shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// The message for field `id`, if it has one.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.0.iter().find(|(field, _)| *field == id).map(|(_, message)| message.as_str())
    }

    /// Whether field `id` has a message.
    pub fn has(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Every `(field id, message)`, in the form's order.
    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.0.iter()
    }

    /// Whether there is no message at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, id: &'static str, message: String) {
        self.0.push((id, message));
    }
}

/// Whether `key` looks like one the form drew: 32 lower-case hex digits (128 random bits).
pub fn is_idempotency_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The citizen's message for an IBAN that does not parse.
fn iban_message(error: &IbanError, lang: Lang) -> String {
    match (error, lang) {
        (IbanError::Invalid(_), Lang::It) => "L'IBAN non è valido: controlli che inizi con la sigla del paese (IT per \
             l'Italia) e due cifre di controllo, che abbia la lunghezza giusta (27 caratteri per un conto italiano) e \
             che nessun carattere sia stato scritto male."
            .to_owned(),
        (IbanError::Invalid(_), Lang::En) => "The IBAN is not valid: check that it starts with the country code (IT \
             for Italy) and two check digits, that it has the right length (27 characters for an Italian account) and \
             that no character is mistyped."
            .to_owned(),
        (IbanError::Cin { found, expected }, Lang::It) => format!(
            "Il quinto carattere dell'IBAN (il CIN) è «{found}», ma banca, filiale e numero di conto indicati \
             richiedono «{expected}»: uno dei caratteri è probabilmente scritto male."
        ),
        (IbanError::Cin { found, expected }, Lang::En) => format!(
            "The fifth character of the IBAN (the CIN) is “{found}”, but the bank, branch and account number given \
             require “{expected}”: one of the characters is probably mistyped."
        ),
    }
}

/// The message for an e-mail address that does not look like one.
pub fn email_message(lang: Lang) -> &'static str {
    lang.pick(
        "L'indirizzo e-mail non sembra valido: deve avere la forma nome@esempio.it.",
        "The e-mail address does not look valid: it should read like name@example.it.",
    )
}

/// The message for a mobile number that does not look like one.
pub fn mobile_message(lang: Lang) -> &'static str {
    lang.pick(
        "Il numero di cellulare deve avere da 8 a 15 cifre, con l'eventuale prefisso +39.",
        "The mobile number must have 8 to 15 digits, with an optional +39 prefix.",
    )
}

/// The message for a declaration `scheme` asks for and the citizen did not make, naming it and its article.
fn declaration_message(text_it: &str, text_en: &str, legal_ref: &str, lang: Lang) -> String {
    match lang {
        Lang::It => format!("Per presentare la domanda deve dichiarare {text_it} ({legal_ref})."),
        Lang::En => format!("To apply, tick the declaration “{text_en}” ({legal_ref})."),
    }
}

impl ApplicationForm {
    /// The box of the declaration of `kind` as posted (`si` when ticked).
    pub fn ticked(&self, kind: DeclarationKind) -> &str {
        match kind {
            DeclarationKind::NotPensionHolder => &self.not_pension_holder,
            DeclarationKind::NoOtherCompulsoryScheme => &self.no_other_compulsory_scheme,
            DeclarationKind::NotEmployed => &self.not_employed,
            DeclarationKind::NotRedditoDiCittadinanza => &self.not_reddito_di_cittadinanza,
        }
    }

    /// Ticks (or clears) the box of the declaration of `kind`.
    pub fn tick(&mut self, kind: DeclarationKind, ticked: bool) {
        let value = if ticked { TICKED.to_owned() } else { String::new() };
        match kind {
            DeclarationKind::NotPensionHolder => self.not_pension_holder = value,
            DeclarationKind::NoOtherCompulsoryScheme => self.no_other_compulsory_scheme = value,
            DeclarationKind::NotEmployed => self.not_employed = value,
            DeclarationKind::NotRedditoDiCittadinanza => self.not_reddito_di_cittadinanza = value,
        }
    }

    /// Checks the whole form, with the declarations `asked` (those of the scheme applied for): the details to
    /// store, or a message for every field that needs one.
    pub fn validate(&self, lang: Lang, asked: &[Declaration]) -> Result<Details, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !is_idempotency_key(&self.idempotency_key) {
            errors.push("idempotency_key", incomplete_message(lang).to_owned());
        }
        self.check_details(lang, asked, &[], errors)
    }

    /// [`ApplicationForm::validate`] for `scheme`: its declarations and the figures it asks for.
    pub fn validate_for(&self, lang: Lang, scheme: &Scheme) -> Result<Details, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !is_idempotency_key(&self.idempotency_key) {
            errors.push("idempotency_key", incomplete_message(lang).to_owned());
        }
        self.check_details(lang, scheme.declarations(), scheme.figures(), errors)
    }

    /// [`ApplicationForm::validate_details`] for `scheme`, figures included.
    pub fn validate_details_for(&self, lang: Lang, scheme: &Scheme) -> Result<Details, FieldErrors> {
        self.check_details(lang, scheme.declarations(), scheme.figures(), FieldErrors::default())
    }

    /// The figure `id` as typed.
    pub fn figure(&self, id: &str) -> &str {
        match id {
            "income_2019_bimester_2" => &self.income_2019_bimester_2,
            "income_2020_bimester_2" => &self.income_2020_bimester_2,
            _ => "",
        }
    }

    /// Checks every field but the idempotency key, which the API carries in a header of its own: the details to
    /// store, or a message for every field that needs one.
    pub fn validate_details(&self, lang: Lang, asked: &[Declaration]) -> Result<Details, FieldErrors> {
        self.check_details(lang, asked, &[], FieldErrors::default())
    }

    /// The details, or `errors` with a message added for every field that needs one.
    fn check_details(
        &self,
        lang: Lang,
        asked: &[Declaration],
        figures: &[Figure],
        mut errors: FieldErrors,
    ) -> Result<Details, FieldErrors> {
        let payment = match self.payment.as_str() {
            "iban" if self.iban.trim().is_empty() => {
                errors.push(
                    "iban",
                    lang.pick(
                        "Inserisca l'IBAN del conto, a lei intestato o cointestato, su cui ricevere l'indennità.",
                        "Enter the IBAN of the account, in your name or joint name, the allowance is to be paid to.",
                    )
                    .to_owned(),
                );
                None
            }
            "iban" => match Iban::parse(&self.iban) {
                Ok(iban) => Some(Payment::Iban { iban }),
                Err(e) => {
                    errors.push("iban", iban_message(&e, lang));
                    None
                }
            },
            "domiciliato" => Some(Payment::Domiciliato),
            _ => {
                errors.push(
                    "payment",
                    lang.pick(
                        "Scelga come ricevere il pagamento: accredito sul conto (IBAN) o bonifico domiciliato da \
                         riscuotere in contanti presso un ufficio postale.",
                        "Choose how to be paid: a transfer to your account (IBAN) or cash to collect at a post office.",
                    )
                    .to_owned(),
                );
                None
            }
        };
        let email = match self.email.trim() {
            "" => None,
            typed => match Contact::parse(typed) {
                Some(Contact::Email(email)) => Some(email),
                _ => {
                    errors.push("email", email_message(lang).to_owned());
                    None
                }
            },
        };
        let mobile = match self.mobile.trim() {
            "" => None,
            typed => match Contact::parse(typed) {
                Some(Contact::Sms(mobile)) => Some(mobile),
                _ => {
                    errors.push("mobile", mobile_message(lang).to_owned());
                    None
                }
            },
        };
        if self.email.trim().is_empty() && self.mobile.trim().is_empty() {
            errors.push(
                "email",
                lang.pick(
                    "Indichi almeno un recapito: un indirizzo e-mail o un numero di cellulare.",
                    "Give at least one contact: an e-mail address or a mobile number.",
                )
                .to_owned(),
            );
        }
        for declaration in asked {
            if self.ticked(declaration.kind()) != TICKED {
                let message =
                    declaration_message(declaration.text_it(), declaration.text_en(), declaration.legal_ref(), lang);
                errors.push(declaration.kind().as_str(), message);
            }
        }
        let mut declared = BTreeMap::new();
        for figure in figures {
            match parse_amount(self.figure(figure.id())) {
                Ok(amount) => {
                    declared.insert(figure.id().to_owned(), amount);
                }
                Err(problem) => errors.push(figure_field(figure.id()), figure_message(figure, problem, lang)),
            }
        }
        match payment {
            Some(payment) if errors.is_empty() => Ok(Details {
                payment,
                contact: ContactDetails { email, mobile },
                declarations: Declarations::of(asked),
                figures: declared,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use sportello_domain::law::{Rulebook, Scheme};

    use super::*;

    fn complete() -> ApplicationForm {
        ApplicationForm {
            scheme: "art27".into(),
            idempotency_key: "0123456789abcdef0123456789abcdef".into(),
            payment: "iban".into(),
            iban: "it60 x054 2811 1010 0000 0123 456".into(),
            email: "mario.rossi@example.it".into(),
            not_pension_holder: TICKED.into(),
            no_other_compulsory_scheme: TICKED.into(),
            not_reddito_di_cittadinanza: TICKED.into(),
            ..ApplicationForm::default()
        }
    }

    fn art27() -> Scheme {
        Rulebook::dl18_2020().scheme("art27").unwrap().clone()
    }

    #[test]
    fn a_complete_form_gives_the_details_to_store() {
        let details = complete().validate(Lang::It, art27().declarations()).unwrap();
        assert_eq!(details.payment, Payment::Iban { iban: Iban::parse("IT60X0542811101000000123456").unwrap() });
        assert_eq!(details.contact.email.as_deref(), Some("mario.rossi@example.it"));
        let json = serde_json::to_value(&details).unwrap();
        assert_eq!(json["payment"]["method"], "iban");
        assert_eq!(json["payment"]["iban"], "IT60X0542811101000000123456");
        assert_eq!(json["declarations"]["no_other_compulsory_scheme"], true);
        assert_eq!(json["declarations"]["not_employed"], false, "art. 27 does not ask for it");
        assert_eq!(serde_json::from_value::<Details>(json).unwrap(), details, "details read back as stored");
    }

    /// Spoils one field of a complete form.
    type Spoil = fn(&mut ApplicationForm);

    #[test]
    fn each_missing_or_wrong_field_gets_its_own_message() {
        let cases: [(&str, Spoil, &str); 10] = [
            ("no payment method", |f| f.payment.clear(), "payment"),
            ("no IBAN", |f| f.iban.clear(), "iban"),
            ("a mistyped IBAN", |f| f.iban = "IT60X0542811101000000123457".into(), "iban"),
            ("no contact at all", |f| f.email.clear(), "email"),
            ("a malformed e-mail", |f| f.email = "mario@localhost".into(), "email"),
            ("a malformed mobile", |f| f.mobile = "12345".into(), "mobile"),
            ("pension not declared", |f| f.not_pension_holder.clear(), "not_pension_holder"),
            ("other scheme not declared", |f| f.no_other_compulsory_scheme.clear(), "no_other_compulsory_scheme"),
            ("RdC not declared", |f| f.not_reddito_di_cittadinanza.clear(), "not_reddito_di_cittadinanza"),
            ("no idempotency key", |f| f.idempotency_key.clear(), "idempotency_key"),
        ];
        for (situation, spoil, field) in cases {
            let mut form = complete();
            spoil(&mut form);
            let errors = form.validate(Lang::It, art27().declarations()).unwrap_err();
            assert!(errors.has(field), "{situation}: {errors:?}");
            assert_eq!(errors.iter().count(), 1, "{situation}: only that field");
        }
        let mut post_office = complete();
        post_office.payment = "domiciliato".into();
        post_office.iban = "garbage".into();
        assert_eq!(
            post_office.validate(Lang::En, art27().declarations()).unwrap().payment,
            Payment::Domiciliato,
            "the IBAN is not needed"
        );
    }

    #[test]
    fn each_scheme_asks_for_its_own_declarations_naming_the_article() {
        let book = Rulebook::dl18_2020();
        let mut form = complete();
        form.no_other_compulsory_scheme.clear();
        form.not_employed = TICKED.into();
        form.scheme = "art38".into();
        let art38 = book.scheme("art38").unwrap();
        let details = form.validate(Lang::It, art38.declarations()).unwrap();
        assert!(details.declarations.not_employed && !details.declarations.no_other_compulsory_scheme);
        form.not_employed.clear();
        let errors = form.validate(Lang::It, art38.declarations()).unwrap_err();
        assert_eq!(
            errors.get("not_employed"),
            Some(
                "Per presentare la domanda deve dichiarare di non essere titolare di rapporto di lavoro dipendente \
                 alla data del 17/03/2020 (art. 38 c. 2)."
            )
        );
        let errors = form.validate(Lang::En, art38.declarations()).unwrap_err();
        assert_eq!(
            errors.get("not_employed"),
            Some("To apply, tick the declaration “I was not in employment on 17 March 2020” (art. 38 c. 2).")
        );
        // Ticking a declaration the scheme does not ask for records nothing more.
        let mut extra = complete();
        extra.not_employed = TICKED.into();
        assert!(!extra.validate(Lang::It, art27().declarations()).unwrap().declarations.not_employed);
    }

    #[test]
    fn a_wrong_cin_is_named_in_the_message() {
        let mut form = complete();
        // CIN Y instead of X, with check digits recomputed (see sportello_domain::iban's tests).
        form.iban = "IT64Y0542811101000000123456".into();
        let errors = form.validate(Lang::It, art27().declarations()).unwrap_err();
        let message = errors.get("iban").unwrap_or_default();
        assert!(message.contains("(il CIN) è «Y»") && message.contains("richiedono «X»"), "{message}");
    }
}
