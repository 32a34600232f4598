//! The messages a state change decided in the store sends its citizen, queued in the transaction that makes the
//! change (so each change is told exactly once): release from suspension when a raised limit accepts it, a payment
//! scheduled by a payment run, and a payment the bank reports paid or returned (with what to do).
//!
//! They go to the contacts given with the application (`details.contact`), else to those on file.

use chrono::{DateTime, Utc};

use crate::OutboxMessage;

/// Where to tell the owner of one application, as read in the transaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Addressee {
    /// The application's protocol number.
    pub protocol: String,
    /// The e-mail address to write to.
    pub email: Option<String>,
    /// The mobile number to text.
    pub mobile: Option<String>,
}

impl Addressee {
    /// The contacts given with the application (`details`, as stored), else `email` and `cellulare` on file.
    pub(crate) fn of(
        protocol: String,
        details: &serde_json::Value,
        email: Option<String>,
        cellulare: Option<String>,
    ) -> Self {
        let given =
            |key: &str| details.get("contact").and_then(|c| c.get(key)).and_then(|v| v.as_str()).map(str::to_owned);
        let (given_email, given_mobile) = (given("email"), given("mobile"));
        if given_email.is_none() && given_mobile.is_none() {
            Addressee { protocol, email, mobile: cellulare }
        } else {
            Addressee { protocol, email: given_email, mobile: given_mobile }
        }
    }

    /// The e-mail (`body`) and the SMS (`sms`) to this addressee, for each contact they have.
    fn tell(&self, subject: String, body: String, sms: String, now: DateTime<Utc>) -> Vec<OutboxMessage> {
        let mut messages = Vec::new();
        if let Some(email) = &self.email {
            messages.push(OutboxMessage {
                channel: "email".into(),
                recipient: email.clone(),
                subject: subject.clone(),
                body,
                not_before: now,
            });
        }
        if let Some(mobile) = &self.mobile {
            messages.push(OutboxMessage {
                channel: "sms".into(),
                recipient: mobile.clone(),
                subject,
                body: sms,
                not_before: now,
            });
        }
        messages
    }

    /// A suspended application accepted because a new law (`legal_ref`) raised the spending limit.
    pub(crate) fn released(&self, legal_ref: &str, now: DateTime<Utc>) -> Vec<OutboxMessage> {
        let protocol = &self.protocol;
        self.tell(
            format!("Domanda n. {protocol} accolta / Application {protocol} accepted"),
            format!(
                "La Sua domanda n. {protocol} era sospesa perché i fondi erano esauriti. Il limite di spesa è stato \
                 aumentato ({legal_ref}) e la domanda è ora accolta: l'indennità sarà pagata con il prossimo \
                 pagamento. Non deve fare nulla.\n\nYour application {protocol} was suspended because the funds had \
                 run out. The spending limit has been raised ({legal_ref}) and the application is now accepted: the \
                 indemnity will be paid with the next payment run. You need not do anything."
            ),
            format!(
                "INPS: la Sua domanda n. {protocol}, sospesa, è ora accolta. Sarà pagata con il prossimo pagamento."
            ),
            now,
        )
    }

    /// A payment of `cents` scheduled for `pay_date` (as [`day`] writes it) by `method` (`iban` or `domiciliato`).
    pub(crate) fn scheduled(&self, pay_date: &str, cents: i64, method: &str, now: DateTime<Utc>) -> Vec<OutboxMessage> {
        let protocol = &self.protocol;
        let amount = euros(cents);
        let (how, how_en) = if method == "domiciliato" {
            (
                "in contanti presso un ufficio postale (bonifico domiciliato), con un documento d'identità",
                "in cash at a post office (bonifico domiciliato), with an identity document",
            )
        } else {
            ("con bonifico sul conto che ha indicato", "by transfer to the account you gave")
        };
        self.tell(
            format!("Pagamento disposto, domanda n. {protocol} / Payment scheduled, application {protocol}"),
            format!(
                "Il pagamento di {amount} euro per la Sua domanda n. {protocol} è disposto con data {pay_date}: lo                  riceverà {how}.\n\nThe payment of EUR {amount} for your application {protocol} is scheduled for                  {pay_date}: you will receive it {how_en}."
            ),
            format!("INPS: pagamento di {amount} euro per la domanda n. {protocol} disposto con data {pay_date}."),
            now,
        )
    }

    /// A payment the bank confirmed.
    pub(crate) fn paid(&self, now: DateTime<Utc>) -> Vec<OutboxMessage> {
        let protocol = &self.protocol;
        self.tell(
            format!("Pagamento eseguito, domanda n. {protocol} / Payment made, application {protocol}"),
            format!(
                "Il pagamento dell'indennità per la Sua domanda n. {protocol} è stato eseguito. Non deve fare                  nulla.\n\nThe payment of the indemnity for your application {protocol} has been made. You need not                  do anything."
            ),
            format!("INPS: il pagamento per la domanda n. {protocol} è stato eseguito."),
            now,
        )
    }

    /// A payment the bank returned with `reason` (an ISO 20022 code), and what to do to be paid.
    pub(crate) fn returned(&self, reason: &str, now: DateTime<Utc>) -> Vec<OutboxMessage> {
        let protocol = &self.protocol;
        self.tell(
            format!("Pagamento non riuscito, domanda n. {protocol} / Payment returned, application {protocol}"),
            format!(
                "La banca ha restituito il pagamento per la Sua domanda n. {protocol} (motivo {reason}): di solito il \
                 conto è chiuso o non è intestato a Lei. Cosa fare: entri nel portale, apra la domanda in «Le mie \
                 domande» e indichi un IBAN di un conto intestato o cointestato a Lei. La pagheremo di nuovo con il \
                 prossimo pagamento.\n\nThe bank returned the payment for your application {protocol} (reason \
                 {reason}): usually the account is closed or not in your name. What to do: sign in to the portal, \
                 open the application in \"My applications\" and give the IBAN of an account in your name (or joint \
                 name). We will pay you again with the next payment run."
            ),
            format!(
                "INPS: pagamento della domanda n. {protocol} restituito dalla banca. Indichi un nuovo IBAN a Lei \
                 intestato in «Le mie domande» sul portale."
            ),
            now,
        )
    }
}

/// `date` as Italians write it: `15/04/2020`.
pub(crate) fn day(date: sportello_domain::Date) -> String {
    use chrono::Datelike;
    format!("{:02}/{:02}/{}", date.day(), date.month(), date.year())
}

/// `cents` as euros with a decimal comma: `600,00`.
fn euros(cents: i64) -> String {
    format!("{},{:02}", cents / 100, (cents % 100).abs())
}
