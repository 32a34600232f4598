//! The JSON bodies of the applications endpoints: what a client sends (an application, a new IBAN) and what it
//! reads back (a receipt, the list of its applications), with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::law::DeclarationKind;
use sportello_store::{Application, ApplicationStatus, PaymentRecord};
use utoipa::ToSchema;

use sportello_usecases::draft::{self, Contacts, Details, DraftInput, Payment, PaymentChoice};

use super::situation::Reason;
use crate::apply::standing::Standing;
use crate::apply::stored::standing;
use crate::auth::AuthState;
use crate::i18n::Lang;
use crate::schemes::{legal_ref, scheme_title};

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

impl From<Contacts> for ContactDetails {
    fn from(contacts: Contacts) -> Self {
        ContactDetails { email: contacts.email, mobile: contacts.mobile }
    }
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
        match kind {
            DeclarationKind::NotPensionHolder => self.not_pension_holder,
            DeclarationKind::NoOtherCompulsoryScheme => self.no_other_compulsory_scheme,
            DeclarationKind::NotEmployed => self.not_employed,
            DeclarationKind::NotRedditoDiCittadinanza => self.not_reddito_di_cittadinanza,
        }
    }
}

/// How the indemnity is to be paid.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentRequest {
    /// A transfer to an account in the citizen's name or joint name.
    Iban {
        /// The IBAN, spaces allowed.
        #[schema(example = "IT60 X054 2811 1010 0000 0123 456")]
        iban: String,
    },
    /// Cash to collect at a post office (bonifico domiciliato).
    Domiciliato,
}

/// An application for one indemnity. Its declarations are those `GET /api/v1/schemes` lists for the indemnity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "scheme": "art27",
    "payment": {"method": "iban", "iban": "IT60X0542811101000000123456"},
    "contact": {"email": "mario.rossi@example.it"},
    "declarations": {"not_pension_holder": true, "no_other_compulsory_scheme": true,
                     "not_reddito_di_cittadinanza": true}
}))]
pub struct ApplicationRequest {
    /// The indemnity applied for, as `GET /api/v1/schemes` names it.
    pub scheme: String,
    /// How to pay it.
    pub payment: PaymentRequest,
    /// Where the institute can write: at least one of the two.
    #[serde(default)]
    pub contact: ContactDetails,
    /// The self-declarations (DPR 445/2000 arts. 46–47): each that the indemnity asks for must be `true`.
    #[serde(default)]
    pub declarations: Declarations,
    /// The amounts the indemnity asks to declare (`figures` in `GET /api/v1/schemes`), in euros as strings with a
    /// dot before the cents and a minus sign for a loss, e.g. `{"income_2019_bimester_2": "4000.00"}`.
    #[serde(default)]
    #[schema(example = json!({}))]
    pub figures: std::collections::BTreeMap<String, String>,
}

impl ApplicationRequest {
    /// The request as the typed draft every door builds, for the one check `sportello_usecases::draft` makes.
    pub(super) fn input(&self) -> DraftInput {
        let mut input = DraftInput {
            scheme: self.scheme.clone(),
            payment: match &self.payment {
                PaymentRequest::Iban { iban } => PaymentChoice::Iban(iban.clone()),
                PaymentRequest::Domiciliato => PaymentChoice::Domiciliato,
            },
            email: self.contact.email.clone(),
            mobile: self.contact.mobile.clone(),
            declarations: DeclarationKind::ALL.into_iter().filter(|&k| self.declarations.made(k)).collect(),
            figures: Default::default(),
            unreadable: Default::default(),
        };
        draft::read_figures(&mut input, self.figures.iter().map(|(id, text)| (id.as_str(), text.as_str())));
        input
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Entitled at submission: the citizen's one indemnity (art. 31).
    Accepted,
    /// Not entitled at submission; kept with its reasons, it does not stop another application.
    Rejected,
    /// Entitled, but the scheme's spending limit is reached: kept in order of submission, and accepted when a new
    /// law raises the limit. It stops another application (art. 31) as an accepted one does.
    SuspendedBudget,
    /// Made in the citizen's name with a PIN whose first half went to a contact not on file, and annulled by the
    /// citizen: it holds nothing and stops no other application.
    Annulled,
}

impl From<ApplicationStatus> for Status {
    fn from(status: ApplicationStatus) -> Self {
        match status {
            ApplicationStatus::Accepted => Status::Accepted,
            ApplicationStatus::Rejected => Status::Rejected,
            ApplicationStatus::SuspendedBudget => Status::SuspendedBudget,
            ApplicationStatus::Annulled => Status::Annulled,
        }
    }
}

/// How the indemnity will be paid, as a receipt shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum PaymentShown {
    /// A transfer to an account.
    Iban {
        /// The last four characters of the IBAN: a receipt never shows the whole of it.
        #[schema(example = "3456")]
        iban_last4: String,
    },
    /// Cash at a post office.
    Domiciliato,
}

/// The receipt of an application.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receipt {
    /// The protocol number.
    #[schema(example = "INPS-COVID-2020-000000001")]
    pub protocol: String,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// The indemnity applied for.
    #[schema(example = "art27")]
    pub scheme: String,
    /// Its title, in the client's language.
    pub title: String,
    /// The article granting it.
    pub legal_ref: String,
    /// Accepted or rejected, decided at submission (or suspended for the spending limit).
    pub status: Status,
    /// Why, each reason citing its article.
    pub reasons: Vec<Reason>,
    /// How it will be paid (absent only if the stored details cannot be read back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentShown>,
    /// Where the institute will write (absent only if the stored details cannot be read back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactDetails>,
    /// Where it stands, up to its payment.
    pub standing: Standing,
    /// What the standing means and what to do, in the client's language.
    pub standing_message: String,
}

impl Receipt {
    /// The receipt of `application` in `lang`, given its citizen's `payments`.
    pub(super) fn new(state: &AuthState, application: Application, payments: &[PaymentRecord], lang: Lang) -> Self {
        let standing = standing(state, &application, payments);
        let reasons = application.reasons.iter().cloned().map(|r| Reason::new(r, lang)).collect();
        let details = Details::stored(&application);
        let payment = details.as_ref().map(|d| match &d.payment {
            Payment::Iban { iban } => PaymentShown::Iban { iban_last4: iban.last4().to_owned() },
            Payment::Domiciliato => PaymentShown::Domiciliato,
        });
        Receipt {
            submitted_at: application.submitted_at,
            title: scheme_title(state, &application.scheme, lang),
            legal_ref: legal_ref(state, &application.scheme),
            status: application.status.into(),
            reasons,
            payment,
            contact: details.map(|d| d.contact.into()),
            standing_message: standing.message(lang),
            standing,
            scheme: application.scheme,
            protocol: application.protocol.to_string(),
        }
    }
}

/// One line of the citizen's list of applications.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationSummary {
    /// The protocol number, to read the receipt.
    #[schema(example = "INPS-COVID-2020-000000001")]
    pub protocol: String,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// The indemnity applied for.
    pub scheme: String,
    /// Its title, in the client's language.
    pub title: String,
    /// Accepted, rejected, or suspended for the spending limit.
    pub status: Status,
    /// Where it stands, up to its payment.
    pub standing: Standing,
    /// What the standing means and what to do, in the client's language.
    pub standing_message: String,
}

/// The citizen's applications, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Applications {
    /// One entry per application.
    pub applications: Vec<ApplicationSummary>,
}

/// A new account for a payment the bank returned.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIbanRequest {
    /// The IBAN of an account in the citizen's name, spaces allowed.
    #[schema(example = "IT60 X054 2811 1010 0000 0123 456")]
    pub iban: String,
}
