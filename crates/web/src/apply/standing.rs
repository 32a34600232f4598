//! Where an application stands for its citizen, from submission to payment: rejected, suspended for the spending
//! limit, accepted with its amount reserved, scheduled for a payment date, paid, or returned by the bank with what
//! to do. Pages and the JSON API show the same standing and the same words.

use chrono::NaiveDate;
use serde::Serialize;
use sportello_store::{Application, ApplicationStatus, PaymentRecord, PaymentStatus};
use utoipa::ToSchema;

use crate::i18n::Lang;

/// Where an application stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Standing {
    /// Not entitled.
    Rejected,
    /// Entitled, waiting for a higher spending limit.
    SuspendedBudget {
        /// The article and paragraph that set the limit.
        #[schema(example = "art. 27 c. 2")]
        limit_ref: String,
    },
    /// Accepted, its amount reserved, but made with a PIN whose first half went to a contact not on file: not paid
    /// until the person confirms with the full PIN (its second half is posted to the residence on file), or an
    /// officer confirms their identity.
    HeldForIdentity,
    /// Annulled by the rightful person: made in their name by someone else's request for a PIN.
    Annulled,
    /// Accepted, its amount reserved; not yet in a payment run.
    Reserved,
    /// In the payment run of `pay_date`.
    Scheduled {
        /// The payment date.
        pay_date: NaiveDate,
        /// The last four characters of the account; absent for cash at a post office.
        #[serde(skip_serializing_if = "Option::is_none")]
        iban_last4: Option<String>,
    },
    /// Paid: the bank confirmed the transfer (or the cash was made available).
    Paid {
        /// The payment date.
        pay_date: NaiveDate,
        /// The last four characters of the account; absent for cash at a post office.
        #[serde(skip_serializing_if = "Option::is_none")]
        iban_last4: Option<String>,
    },
    /// The bank sent the transfer back: the citizen must give a new IBAN.
    Returned {
        /// The payment date of the returned transfer.
        pay_date: NaiveDate,
        /// The last four characters of the account it was sent to.
        #[serde(skip_serializing_if = "Option::is_none")]
        iban_last4: Option<String>,
        /// The bank's ISO 20022 reason code, e.g. AC04 (closed account).
        #[schema(example = "AC04")]
        reason: String,
    },
}

impl Standing {
    /// The standing of `application` given its payments (any order; the latest counts) and the article that sets
    /// its scheme's spending limit.
    pub fn of(application: &Application, payments: &[&PaymentRecord], limit_ref: &str) -> Self {
        match application.status {
            ApplicationStatus::Rejected => return Self::Rejected,
            ApplicationStatus::SuspendedBudget => return Self::SuspendedBudget { limit_ref: limit_ref.to_owned() },
            ApplicationStatus::Annulled => return Self::Annulled,
            ApplicationStatus::Accepted if application.hold.is_some() => return Self::HeldForIdentity,
            ApplicationStatus::Accepted => {}
        }
        // A payment superseded by a new IBAN is history: the application waits for the next run.
        let Some(payment) = payments.iter().rev().find(|p| p.status != PaymentStatus::Superseded) else {
            return Self::Reserved;
        };
        let (pay_date, iban_last4) = (payment.pay_date, payment.iban_last4.clone());
        match payment.status {
            PaymentStatus::Scheduled => Self::Scheduled { pay_date, iban_last4 },
            PaymentStatus::Confirmed => Self::Paid { pay_date, iban_last4 },
            PaymentStatus::Returned | PaymentStatus::Superseded => {
                Self::Returned { pay_date, iban_last4, reason: payment.reason.clone().unwrap_or_default() }
            }
        }
    }

    /// Whether the citizen can give a new IBAN now.
    pub fn needs_new_iban(&self) -> bool {
        matches!(self, Self::Returned { .. })
    }

    /// A short label.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            Self::Rejected => lang.pick("Respinta", "Rejected"),
            Self::SuspendedBudget { .. } => {
                lang.pick("Sospesa: limite di spesa raggiunto", "Suspended: spending limit reached")
            }
            Self::HeldForIdentity => {
                lang.pick("Accolta, pagamento in attesa di conferma", "Accepted, payment awaiting confirmation")
            }
            Self::Annulled => lang.pick("Annullata", "Annulled"),
            Self::Reserved => lang.pick("Accolta, importo riservato", "Accepted, amount reserved"),
            Self::Scheduled { .. } => lang.pick("In pagamento", "Payment scheduled"),
            Self::Paid { .. } => lang.pick("Pagata", "Paid"),
            Self::Returned { .. } => lang.pick("Pagamento respinto dalla banca", "Payment returned by the bank"),
        }
    }

    /// What it means and, where there is something to do, what.
    pub fn message(&self, lang: Lang) -> String {
        let date = |d: &NaiveDate| d.format("%d/%m/%Y").to_string();
        let account = |last4: &Option<String>| match (last4, lang) {
            (Some(l), Lang::It) => format!("sul conto che termina con {l}"),
            (Some(l), Lang::En) => format!("to the account ending in {l}"),
            (None, Lang::It) => "in contanti presso un ufficio postale (bonifico domiciliato)".to_owned(),
            (None, Lang::En) => "in cash at a post office (bonifico domiciliato)".to_owned(),
        };
        match (self, lang) {
            (Self::Rejected, Lang::It) => "La domanda non è stata accolta: i motivi sono nella ricevuta.".to_owned(),
            (Self::Rejected, Lang::En) => "The application was not accepted: the receipt gives the reasons.".to_owned(),
            (Self::SuspendedBudget { limit_ref }, Lang::It) => format!(
                "Lei ha i requisiti, ma le risorse previste per questa indennità sono esaurite: è stato raggiunto il \
                 limite di spesa ({limit_ref}). La domanda resta valida e sarà accolta, in ordine di presentazione, \
                 se una nuova legge aumenta il limite. Non deve presentarne un'altra."
            ),
            (Self::SuspendedBudget { limit_ref }, Lang::En) => format!(
                "You meet the requirements, but the funds for this allowance are exhausted: its spending limit \
                 ({limit_ref}) has been reached. Your application stays valid and will be accepted, in order of \
                 submission, if a new law raises the limit. You need not apply again."
            ),
            (Self::HeldForIdentity, Lang::It) => "La domanda è accolta e l'importo è riservato, ma è stata \
                 presentata con un PIN la cui prima parte è stata inviata a un recapito che non risulta negli archivi \
                 dell'INPS. Per sicurezza il pagamento è sospeso finché Lei non accede con il PIN completo: la \
                 seconda parte Le viene spedita per posta all'indirizzo di residenza registrato. In alternativa può \
                 farsi riconoscere presso una sede INPS."
                .to_owned(),
            (Self::HeldForIdentity, Lang::En) => "Your application is accepted and its amount reserved, but it was \
                 made with a PIN whose first half was sent to a contact that is not in INPS's records. For your \
                 safety, payment waits until you log in with the full PIN: its second half is posted to your \
                 registered residence. You can also be identified at an INPS office."
                .to_owned(),
            (Self::Annulled, Lang::It) => "La domanda è stata annullata dal titolare del codice fiscale perché \
                 presentata da altri a suo nome: non sarà pagata e non impedisce di presentarne una nuova."
                .to_owned(),
            (Self::Annulled, Lang::En) => "The application was annulled by the holder of the codice fiscale because \
                 someone else made it in their name: it will not be paid and does not stop a new application."
                .to_owned(),
            (Self::Reserved, Lang::It) => {
                "La domanda è accolta e l'importo è riservato: sarà pagato alla prossima data di pagamento.".to_owned()
            }
            (Self::Reserved, Lang::En) => {
                "Your application is accepted and its amount reserved: it will be paid on the next payment date."
                    .to_owned()
            }
            (Self::Scheduled { pay_date, iban_last4 }, Lang::It) => {
                format!("Il pagamento è disposto con data {} {}.", date(pay_date), account(iban_last4))
            }
            (Self::Scheduled { pay_date, iban_last4 }, Lang::En) => {
                format!("The payment is ordered for {} {}.", date(pay_date), account(iban_last4))
            }
            (Self::Paid { pay_date, iban_last4 }, Lang::It) => {
                format!("Pagata il {} {}.", date(pay_date), account(iban_last4))
            }
            (Self::Paid { pay_date, iban_last4 }, Lang::En) => {
                format!("Paid on {} {}.", date(pay_date), account(iban_last4))
            }
            (Self::Returned { pay_date, iban_last4, reason }, Lang::It) => format!(
                "Il bonifico del {} {} è stato respinto dalla banca ({}). Indichi un nuovo IBAN a Lei intestato: \
                 l'indennità sarà pagata di nuovo alla prossima data di pagamento.",
                date(pay_date),
                account(iban_last4),
                reason_text(reason, lang)
            ),
            (Self::Returned { pay_date, iban_last4, reason }, Lang::En) => format!(
                "The transfer of {} {} was returned by the bank ({}). Give a new IBAN in your name: the allowance \
                 will be paid again on the next payment date.",
                date(pay_date),
                account(iban_last4),
                reason_text(reason, lang)
            ),
        }
    }
}

/// The ISO 20022 reason codes a returned transfer most often carries, in words.
fn reason_text(code: &str, lang: Lang) -> String {
    let words = match code {
        "AC01" => lang.pick("IBAN errato", "incorrect account number"),
        "AC04" => lang.pick("conto chiuso", "closed account"),
        "AC06" => lang.pick("conto bloccato", "blocked account"),
        "AG01" => lang.pick("operazione non consentita sul conto", "transaction forbidden on this account"),
        "BE04" | "RC01" => lang.pick("dati del beneficiario errati", "incorrect beneficiary details"),
        "MD07" => lang.pick("titolare deceduto", "account holder deceased"),
        _ => return format!("{} {code}", lang.pick("codice", "code")),
    };
    format!("{words}, {code}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_domain::{Cents, CodiceFiscale};
    use sportello_store::PaymentMethod;

    fn application(status: ApplicationStatus) -> Application {
        Application {
            protocol: sportello_domain::ProtocolNumber::parse("INPS-COVID-2020-000000001").unwrap(),
            codice_fiscale: CodiceFiscale::parse("RSSMRA80A01H501U").unwrap(),
            scheme: "art27".to_owned(),
            cumulation_group: "dl18-2020-marzo".to_owned(),
            idempotency_key: sportello_domain::IdempotencyKey::parse("k").unwrap(),
            status,
            reasons: Vec::new(),
            details: serde_json::json!({}),
            submitted_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            hold: None,
        }
    }

    fn payment(status: PaymentStatus, reason: Option<&str>) -> PaymentRecord {
        PaymentRecord {
            protocol: "INPS-COVID-2020-000000001".to_owned(),
            pay_date: NaiveDate::from_ymd_opt(2020, 4, 15).unwrap(),
            method: PaymentMethod::Iban,
            iban_last4: Some("3456".to_owned()),
            amount: Cents::from_euros(600),
            status,
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn each_situation_has_its_standing() {
        use ApplicationStatus::*;
        let scheduled = payment(PaymentStatus::Scheduled, None);
        let paid = payment(PaymentStatus::Confirmed, None);
        let returned = payment(PaymentStatus::Returned, Some("AC04"));
        let superseded = payment(PaymentStatus::Superseded, Some("AC04"));
        let day = NaiveDate::from_ymd_opt(2020, 4, 15).unwrap();
        let last4 = Some("3456".to_owned());
        let cases: Vec<(&str, ApplicationStatus, Vec<&PaymentRecord>, Standing)> = vec![
            ("rejected", Rejected, vec![], Standing::Rejected),
            ("over the limit", SuspendedBudget, vec![], Standing::SuspendedBudget { limit_ref: "art. 27 c. 2".into() }),
            ("accepted, no run yet", Accepted, vec![], Standing::Reserved),
            ("in a run", Accepted, vec![&scheduled], Standing::Scheduled { pay_date: day, iban_last4: last4.clone() }),
            ("confirmed", Accepted, vec![&paid], Standing::Paid { pay_date: day, iban_last4: last4.clone() }),
            (
                "returned",
                Accepted,
                vec![&returned],
                Standing::Returned { pay_date: day, iban_last4: last4.clone(), reason: "AC04".into() },
            ),
            ("new IBAN given", Accepted, vec![&superseded], Standing::Reserved),
            ("annulled by the rightful person", Annulled, vec![], Standing::Annulled),
            (
                "paid again",
                Accepted,
                vec![&superseded, &scheduled],
                Standing::Scheduled { pay_date: day, iban_last4: last4.clone() },
            ),
        ];
        for (situation, status, payments, expected) in cases {
            assert_eq!(Standing::of(&application(status), &payments, "art. 27 c. 2"), expected, "{situation}");
        }
        let held = Application { hold: Some("pin:7".into()), ..application(Accepted) };
        assert_eq!(Standing::of(&held, &[], "art. 27 c. 2"), Standing::HeldForIdentity, "held for identity");
    }

    #[test]
    fn the_messages_say_what_to_do_and_show_only_the_last_four_characters() {
        let returned = Standing::Returned {
            pay_date: NaiveDate::from_ymd_opt(2020, 4, 15).unwrap(),
            iban_last4: Some("3456".into()),
            reason: "AC04".into(),
        };
        let it = returned.message(Lang::It);
        assert!(it.contains("conto chiuso") && it.contains("nuovo IBAN") && it.contains("3456"), "{it}");
        let en = returned.message(Lang::En);
        assert!(en.contains("closed account") && en.contains("new IBAN") && en.contains("15/04/2020"), "{en}");
        let suspended = Standing::SuspendedBudget { limit_ref: "art. 27 c. 2".into() };
        assert!(suspended.message(Lang::It).contains("(art. 27 c. 2)"));
        assert!(suspended.message(Lang::En).contains("spending limit (art. 27 c. 2)"));
    }
}
