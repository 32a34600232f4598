//! The JSON bodies of the applications endpoints: what a client sends (an application, a new IBAN) and what it
//! reads back (a receipt, the list of its applications), with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::law::{self, DeclarationKind};
use sportello_store::{Application, ApplicationStatus, PaymentRecord};
use utoipa::ToSchema;

use super::situation::Reason;
use crate::apply::form::{ApplicationForm, ContactDetails, Declarations, Payment};
use crate::apply::standing::Standing;
use crate::apply::stored::{details_of, reasons_of, standing};
use crate::auth::AuthState;
use crate::i18n::Lang;
use crate::schemes::{legal_ref, scheme_title};

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
    /// The request as the application form would have posted it, so that one validation serves both.
    pub(super) fn as_form(&self) -> ApplicationForm {
        let (payment, iban) = match &self.payment {
            PaymentRequest::Iban { iban } => ("iban", iban.clone()),
            PaymentRequest::Domiciliato => ("domiciliato", String::new()),
        };
        let mut form = ApplicationForm {
            scheme: self.scheme.clone(),
            payment: payment.to_owned(),
            iban,
            email: self.contact.email.clone().unwrap_or_default(),
            mobile: self.contact.mobile.clone().unwrap_or_default(),
            ..ApplicationForm::default()
        };
        for kind in DeclarationKind::ALL {
            form.tick(kind, self.declarations.made(kind));
        }
        form.income_2019_bimester_2 = self.figures.get("income_2019_bimester_2").cloned().unwrap_or_default();
        form.income_2020_bimester_2 = self.figures.get("income_2020_bimester_2").cloned().unwrap_or_default();
        form
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
        let reasons = reasons_of(&application).into_iter().map(|r: law::Reason| Reason::new(r, lang)).collect();
        let details = details_of(&application);
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
            contact: details.map(|d| d.contact),
            standing_message: standing.message(lang),
            standing,
            scheme: application.scheme,
            protocol: application.protocol,
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
