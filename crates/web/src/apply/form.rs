//! The application form: what the browser posts and how its strings become the typed draft that
//! `sportello_usecases::draft` checks, the same check the API's JSON goes through; and the citizen's words for
//! every thing the check finds wrong ([`message`]), which both doors show.

use serde::Deserialize;
use sportello_domain::law::{DeclarationKind, Figure, Scheme};
use sportello_domain::{IbanError, IdempotencyKey};
use sportello_usecases::draft::{self, DraftInput, Invalid, PaymentChoice};
pub use sportello_usecases::draft::{AmountProblem, Details, Payment, parse_amount};

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

fn incomplete_message(lang: Lang) -> &'static str {
    lang.pick(
        "Il modulo era incompleto: controlli i dati e lo invii di nuovo.",
        "The form was incomplete: check what you entered and send it again.",
    )
}

/// The message for an amount the scheme asks for, missing or not readable as one.
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
pub struct FieldErrors(Vec<(String, String)>);

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
    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }

    /// Whether there is no message at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, id: &str, message: String) {
        self.0.push((id.to_owned(), message));
    }
}

/// Whether `key` looks like one the form drew: 32 lower-case hex digits (128 random bits).
pub fn is_idempotency_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The citizen's message for an IBAN that does not parse.
pub fn iban_message(error: &IbanError, lang: Lang) -> String {
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

/// The citizen's words for `invalid`, in `lang`: the same on the form and in the API's problem.
pub fn message(invalid: &Invalid, lang: Lang) -> String {
    match invalid {
        Invalid::UnknownScheme { asked, known } => {
            let known = known.join(", ");
            match lang {
                Lang::It => format!("Non esiste un'indennità «{asked}»: scelga una tra {known}."),
                Lang::En => format!("There is no allowance “{asked}”: choose one of {known}."),
            }
        }
        Invalid::NotOnApplication(id) => match lang {
            Lang::It => format!("L'indennità «{id}» non si chiede: l'INPS la paga senza domanda a chi ne ha diritto."),
            Lang::En => format!("The allowance “{id}” is not applied for: INPS pays it without an application."),
        },
        Invalid::NoPaymentMethod => lang
            .pick(
                "Scelga come ricevere il pagamento: accredito sul conto (IBAN) o bonifico domiciliato da riscuotere \
                 in contanti presso un ufficio postale.",
                "Choose how to be paid: a transfer to your account (IBAN) or cash to collect at a post office.",
            )
            .to_owned(),
        Invalid::NoIban => lang
            .pick(
                "Inserisca l'IBAN del conto, a lei intestato o cointestato, su cui ricevere l'indennità.",
                "Enter the IBAN of the account, in your name or joint name, the allowance is to be paid to.",
            )
            .to_owned(),
        Invalid::Iban(error) => iban_message(error, lang),
        Invalid::Email => email_message(lang).to_owned(),
        Invalid::Mobile => mobile_message(lang).to_owned(),
        Invalid::NoContact => lang
            .pick(
                "Indichi almeno un recapito: un indirizzo e-mail o un numero di cellulare.",
                "Give at least one contact: an e-mail address or a mobile number.",
            )
            .to_owned(),
        Invalid::Declaration(d) => declaration_message(d.text_it(), d.text_en(), d.legal_ref(), lang),
        Invalid::FigureMissing(figure) => figure_message(figure, AmountProblem::Missing, lang),
        Invalid::FigureUnreadable(figure) => figure_message(figure, AmountProblem::Malformed, lang),
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

    /// The figure `id` as typed.
    pub fn figure(&self, id: &str) -> &str {
        match id {
            "income_2019_bimester_2" => &self.income_2019_bimester_2,
            "income_2020_bimester_2" => &self.income_2020_bimester_2,
            _ => "",
        }
    }

    /// The form's strings as the typed draft every door builds: the payment chosen, the contacts, the boxes
    /// ticked, the amounts typed for `scheme`'s figures.
    pub fn input(&self, scheme: &Scheme) -> DraftInput {
        let typed = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        let mut input = DraftInput {
            scheme: self.scheme.clone(),
            payment: match self.payment.as_str() {
                "iban" => PaymentChoice::Iban(self.iban.clone()),
                "domiciliato" => PaymentChoice::Domiciliato,
                _ => PaymentChoice::None,
            },
            email: typed(&self.email),
            mobile: typed(&self.mobile),
            declarations: DeclarationKind::ALL.into_iter().filter(|&k| self.ticked(k) == TICKED).collect(),
            figures: Default::default(),
            unreadable: Default::default(),
        };
        draft::read_figures(&mut input, scheme.figures().iter().map(|f| (f.id(), self.figure(f.id()))));
        input
    }

    /// The key the form was drawn with, or the message [`ApplicationForm::validate_for`] gives when it is missing.
    pub fn key(&self, lang: Lang) -> Result<IdempotencyKey, FieldErrors> {
        match IdempotencyKey::parse(&self.idempotency_key) {
            Ok(key) if is_idempotency_key(&self.idempotency_key) => Ok(key),
            _ => {
                let mut errors = FieldErrors::default();
                errors.push("idempotency_key", incomplete_message(lang).to_owned());
                Err(errors)
            }
        }
    }

    /// Checks the whole form for `scheme`: the details to store, or a message for every field that needs one,
    /// in the form's order.
    pub fn validate_for(&self, lang: Lang, scheme: &Scheme) -> Result<Details, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !is_idempotency_key(&self.idempotency_key) {
            errors.push("idempotency_key", incomplete_message(lang).to_owned());
        }
        match draft::validate_for(scheme, &self.input(scheme)) {
            Ok(details) if errors.is_empty() => Ok(details),
            Ok(_) => Err(errors),
            Err(invalid) => {
                for each in &invalid {
                    errors.push(each.field(), message(each, lang));
                }
                Err(errors)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sportello_domain::Iban;
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
        let details = complete().validate_for(Lang::It, &art27()).unwrap();
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
            let errors = form.validate_for(Lang::It, &art27()).unwrap_err();
            assert!(errors.has(field), "{situation}: {errors:?}");
            assert_eq!(errors.iter().count(), 1, "{situation}: only that field");
        }
        let mut post_office = complete();
        post_office.payment = "domiciliato".into();
        post_office.iban = "garbage".into();
        assert_eq!(
            post_office.validate_for(Lang::En, &art27()).unwrap().payment,
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
        let details = form.validate_for(Lang::It, art38).unwrap();
        assert!(details.declarations.not_employed && !details.declarations.no_other_compulsory_scheme);
        form.not_employed.clear();
        let errors = form.validate_for(Lang::It, art38).unwrap_err();
        assert_eq!(
            errors.get("not_employed"),
            Some(
                "Per presentare la domanda deve dichiarare di non essere titolare di rapporto di lavoro dipendente \
                 alla data del 17/03/2020 (art. 38 c. 2)."
            )
        );
        let errors = form.validate_for(Lang::En, art38).unwrap_err();
        assert_eq!(
            errors.get("not_employed"),
            Some("To apply, tick the declaration “I was not in employment on 17 March 2020” (art. 38 c. 2).")
        );
        // Ticking a declaration the scheme does not ask for records nothing more.
        let mut extra = complete();
        extra.not_employed = TICKED.into();
        assert!(!extra.validate_for(Lang::It, &art27()).unwrap().declarations.not_employed);
    }

    #[test]
    fn a_wrong_cin_is_named_in_the_message() {
        let mut form = complete();
        // CIN Y instead of X, with check digits recomputed (see sportello_domain::iban's tests).
        form.iban = "IT64Y0542811101000000123456".into();
        let errors = form.validate_for(Lang::It, &art27()).unwrap_err();
        let message = errors.get("iban").unwrap_or_default();
        assert!(message.contains("(il CIN) è «Y»") && message.contains("richiedono «X»"), "{message}");
    }
}
