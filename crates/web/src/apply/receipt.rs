//! The receipt of an application (`GET /domande/{protocol}`), and the same receipt sent to the contact given in the
//! application once it is recorded: what was applied for and its amount, what the person declared, the outcome
//! with its reasons, when it will be paid, and, for a rejection, how and by when to ask for it to be reviewed.
//!
//! One [`ReceiptView`] feeds the page and the message, so that they never say different things.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Days, NaiveDate};
use sportello_domain::law::Scheme;
use sportello_store::{Application, ApplicationStatus, OutboxMessage};

use super::form::Payment;
use super::italian_time;
use super::standing::Standing;
use super::stored::{details_of, standing};
use crate::auth::AuthState;
use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr};
use crate::error::{OrPage, PageError};
use crate::i18n::{Lang, LangQuery};
use crate::notify::Channel;
use crate::render::{LAST_UPDATE, lang_suffix, render_with as render};
use crate::schemes::{citation, find_scheme, period, scheme_title};

/// The print button's script: a static file, as the content security policy allows no inline script.
pub const PRINT_JS: &str = concat!("/static/sportello/", env!("SPORTELLO_PRINT_JS_HASH"), "/print.js");

/// Days, from the day the person learns of the rejection (the receipt's date), to ask INPS to review it.
///
/// L. 241/1990 art. 3 c. 4 requires a decision to state the term and the authority for a remedy. For the indemnities
/// of DL 18/2020 INPS stated that no administrative appeal (ricorso amministrativo) lies against a rejection, only an
/// action before the courts, and that its territorial office may review the application on request, in autotutela
/// (messaggio INPS 1 giugno 2020 n. 2263); the request for review (istanza di riesame) is to be made, with the
/// documents proving the requirements, within 20 days of learning of the rejection, after which the application is
/// definitively rejected (messaggio INPS 10 agosto 2020 n. 3088; the same term in messaggio 30 ottobre 2020 n. 4005).
/// Disputes on social security benefits go to the labour judge (art. 442 c.p.c.).
pub const REVIEW_DAYS: u64 = 20;

/// One reason of a receipt: the article and the text.
pub struct ReasonView {
    /// The article it rests on.
    pub article: String,
    /// The reason, in the receipt's language.
    pub text: String,
}

/// Everything a receipt says, in one language.
pub struct ReceiptView {
    /// The protocol number.
    pub protocol: String,
    /// When it was submitted, in Italian time to the second.
    pub submitted_at: String,
    /// The applicant.
    pub codice_fiscale: String,
    /// The indemnity's title.
    pub title: String,
    /// The article granting it.
    pub legal_ref: String,
    /// The month it is for ("marzo 2020").
    pub period: String,
    /// The indemnity's amount, written as the language writes it.
    pub amount: String,
    /// The outcome decided at submission, in words.
    pub outcome: &'static str,
    /// Accepted (held for identity or not).
    pub accepted: bool,
    /// Entitled, but waiting for a higher spending limit.
    pub suspended: bool,
    /// Accepted, but not paid until the person confirms their identity.
    pub held: bool,
    /// Where it stands, in a few words.
    pub standing_label: &'static str,
    /// What that means and what to do.
    pub standing_message: String,
    /// How it will be paid, without the whole IBAN.
    pub payment: String,
    /// When it will be paid, or why that is not known yet; `None` where no payment is due.
    pub pay_date: Option<String>,
    /// What the person declared, one sentence each.
    pub declarations: Vec<String>,
    /// Why it was decided so, each reason citing its article.
    pub reasons: Vec<ReasonView>,
    /// For a rejection: how, to whom and by when to ask for a review.
    pub review: Option<String>,
    /// Who filed it for the applicant, when someone else did: the office, its kind, the operator, the mandate.
    pub filed_by: Option<String>,
    /// The e-mail address given, if any.
    pub email: String,
    /// The mobile number given, if any.
    pub mobile: String,
}

impl ReceiptView {
    /// The receipt of `application`, standing as `standing`, in `lang`.
    pub fn new(state: &AuthState, application: &Application, standing: &Standing, lang: Lang) -> Self {
        let details = details_of(application);
        let payment = match details.as_ref().map(|d| &d.payment) {
            Some(Payment::Iban { iban }) => {
                format!(
                    "{} {}",
                    lang.pick("Accredito sull'IBAN che termina con", "Transfer to the IBAN ending in"),
                    iban.last4()
                )
            }
            _ => lang.pick("Bonifico domiciliato presso un ufficio postale", "Cash at a post office").to_owned(),
        };
        let filed_by = details.as_ref().and_then(|d| d.filed_by.as_ref()).map(|by| {
            let under = match (&by.call, by.mandate) {
                (Some(call), _) => {
                    format!(
                        "{} {call}",
                        lang.pick("nella chiamata al Contact Center n.", "on the Contact Center call no.")
                    )
                }
                (None, Some(mandate)) => {
                    format!("{} {mandate}", lang.pick("in forza della delega n.", "under mandate no."))
                }
                (None, None) => String::new(),
            };
            match lang {
                Lang::It => format!("ufficio {} ({}), operatore {}, {under}", by.office, by.kind, by.operator),
                Lang::En => format!("office {} ({}), operator {}, {under}", by.office, by.kind, by.operator),
            }
        });
        let (email, mobile) = details.map(|d| (d.contact.email, d.contact.mobile)).unwrap_or_default();
        let amount = find_scheme(state, &application.scheme).map(|s| lang.money(s.amount())).unwrap_or_default();
        let submitted_on = italian_time::in_italy(application.submitted_at).date_naive();
        let accepted_on = italian_time::in_italy(application.updated_at).date_naive();
        let status = application.status;
        ReceiptView {
            protocol: application.protocol.to_string(),
            submitted_at: italian_time::format_seconds(application.submitted_at),
            codice_fiscale: application.codice_fiscale.to_string(),
            title: scheme_title(state, &application.scheme, lang),
            legal_ref: citation(state, &application.scheme),
            period: period(state, &application.scheme, lang),
            amount,
            outcome: outcome(status, lang),
            accepted: status == ApplicationStatus::Accepted,
            suspended: status == ApplicationStatus::SuspendedBudget,
            held: *standing == Standing::HeldForIdentity,
            standing_label: standing.label(lang),
            standing_message: standing.message(lang),
            payment,
            pay_date: pay_date(standing, state.app.config.payments.next_run_on_or_after(accepted_on), lang),
            declarations: declarations(find_scheme(state, &application.scheme), &application.details, lang),
            reasons: application
                .reasons
                .iter()
                .map(|r| ReasonView { article: r.article.clone(), text: lang.pick(&r.it, &r.en).to_owned() })
                .collect(),
            review: (status == ApplicationStatus::Rejected).then(|| review(submitted_on, lang)),
            filed_by,
            email: email.unwrap_or_default(),
            mobile: mobile.unwrap_or_default(),
        }
    }

    /// The receipt as the text of a message to the contact given: the e-mail carries all of it, a text message the
    /// essentials. Neither carries the codice fiscale or more of the IBAN than the page shows.
    pub fn message(&self, channel: Channel, lang: Lang) -> (String, String) {
        let subject = format!("{} {}", lang.pick("Ricevuta della domanda", "Receipt of application"), self.protocol);
        let pay_date = self.pay_date.as_deref().map(|d| format!("{}: {d}", lang.pick("Pagamento", "Payment")));
        if channel == Channel::Sms {
            let body = [
                format!("INPS: {} {} ({}).", lang.pick("domanda", "application"), self.protocol, self.title),
                format!("{}: {}.", lang.pick("Esito", "Outcome"), self.outcome),
                pay_date.map(|d| format!("{d}.")).unwrap_or_default(),
                lang.pick(
                    "La ricevuta completa è in «Le mie domande» su Sportello.",
                    "The full receipt is in \"My applications\" on Sportello.",
                )
                .to_owned(),
            ];
            return (subject, body.iter().filter(|l| !l.is_empty()).cloned().collect::<Vec<_>>().join(" "));
        }
        let mut body = vec![
            lang.pick(
                "Gentile richiedente,\n\nla Sua domanda è stata registrata. Questa è la ricevuta.",
                "Dear applicant,\n\nyour application has been recorded. This is its receipt.",
            )
            .to_owned(),
            String::new(),
            format!("{}: {}", lang.pick("Numero di protocollo", "Protocol number"), self.protocol),
            format!(
                "{}: {} ({})",
                lang.pick("Presentata il", "Submitted on"),
                self.submitted_at,
                lang.pick("ora italiana", "Italian time")
            ),
            format!("{}: {} ({}), {}", lang.pick("Indennità", "Allowance"), self.title, self.legal_ref, self.period),
            format!("{}: {}", lang.pick("Importo", "Amount"), self.amount),
            format!("{}: {}", lang.pick("Esito", "Outcome"), self.outcome),
            format!("{}: {}. {}", lang.pick("Stato", "Status"), self.standing_label, self.standing_message),
            format!("{}: {}", lang.pick("Modalità di pagamento", "Payment method"), self.payment),
        ];
        if let Some(by) = &self.filed_by {
            // After the outcome, before the status and the payment (the last two lines so far).
            let at = body.len() - 2;
            body.insert(at, format!("{}: {by}", lang.pick("Presentata per Suo conto da", "Filed on your behalf by")));
        }
        body.extend(pay_date.map(|_| {
            format!("{}: {}", lang.pick("Data di pagamento", "Payment date"), self.pay_date.as_deref().unwrap_or(""))
        }));
        if !self.declarations.is_empty() {
            body.push(String::new());
            body.push(
                lang.pick(
                    "Ha dichiarato (DPR 445/2000, artt. 46 e 47):",
                    "You declared (DPR 445/2000, arts. 46 and 47):",
                )
                .to_owned(),
            );
            body.extend(self.declarations.iter().map(|d| format!("- {d}")));
        }
        body.push(String::new());
        body.push(lang.pick("Motivazioni:", "Reasons:").to_owned());
        body.extend(self.reasons.iter().map(|r| format!("- {} ({})", r.text, r.article)));
        if let Some(review) = &self.review {
            body.push(String::new());
            body.push(review.clone());
        }
        body.push(String::new());
        body.push(
            lang.pick(
                "Può rivedere e stampare la ricevuta nella pagina «Le mie domande» di Sportello.",
                "You can see and print the receipt on the page \"My applications\" of Sportello.",
            )
            .to_owned(),
        );
        (subject, body.join("\n"))
    }
}

/// The outcome decided at submission, in words.
pub fn outcome(status: ApplicationStatus, lang: Lang) -> &'static str {
    match status {
        ApplicationStatus::Accepted => lang.pick("Accolta", "Accepted"),
        ApplicationStatus::SuspendedBudget => {
            lang.pick("Sospesa per il limite di spesa", "Suspended for the spending limit")
        }
        ApplicationStatus::Rejected => lang.pick("Respinta", "Rejected"),
        ApplicationStatus::Annulled => lang.pick("Annullata", "Annulled"),
    }
}

/// When an application standing as `standing` will be paid: the date of its payment once it is in a run; otherwise
/// `next_run`, the first run on or after the day it was accepted; or what is known when there is no such run.
/// `None` where nothing is to be paid (rejected, annulled) or payment waits for a law (suspended).
fn pay_date(standing: &Standing, next_run: Option<NaiveDate>, lang: Lang) -> Option<String> {
    let to_be_announced = || {
        lang.pick(
            "sarà comunicata: la prossima data di pagamento non è ancora stata fissata",
            "to be announced: the next payment date has not been set yet",
        )
        .to_owned()
    };
    match standing {
        Standing::Rejected | Standing::Annulled | Standing::SuspendedBudget { .. } => None,
        Standing::HeldForIdentity => Some(
            lang.pick(
                "la prima data di pagamento dopo che Lei avrà confermato la Sua identità",
                "the first payment date after you have confirmed your identity",
            )
            .to_owned(),
        ),
        Standing::Reserved => Some(next_run.map_or_else(to_be_announced, |day| {
            format!("{} ({})", lang.date(day), lang.pick("prossima data di pagamento", "next payment date"))
        })),
        Standing::Scheduled { pay_date, .. } | Standing::Paid { pay_date, .. } => Some(lang.date(*pay_date)),
        Standing::Returned { .. } => Some(
            lang.pick(
                "la prima data di pagamento dopo che Lei avrà indicato un nuovo IBAN",
                "the first payment date after you have given a new IBAN",
            )
            .to_owned(),
        ),
    }
}

/// What the person declared, as stored with the application: one sentence per declaration made, with its article.
///
/// The words are the scheme's (`[[scheme.declarations]]` in its scheme file), as the form showed them. Details
/// stored before a declaration left the scheme file still list it, by its stored text or failing that by its name.
fn declarations(scheme: Option<&Scheme>, details: &serde_json::Value, lang: Lang) -> Vec<String> {
    let Some(made) = details.get("declarations").and_then(|d| d.as_object()) else {
        return Vec::new();
    };
    let worded = |key: &str| {
        let declaration = scheme?.declarations().iter().find(|d| d.kind().as_str() == key)?;
        Some(format!("{} ({})", lang.pick(declaration.text_it(), declaration.text_en()), declaration.legal_ref()))
    };
    made.iter()
        .filter_map(|(key, value)| match value {
            serde_json::Value::Bool(true) => Some(worded(key).unwrap_or_else(|| key.replace('_', " "))),
            serde_json::Value::String(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// How, to whom and by when to ask for a rejection submitted on `submitted_on` to be reviewed (see
/// [`REVIEW_DAYS`] for the sources).
fn review(submitted_on: NaiveDate, lang: Lang) -> String {
    let deadline = submitted_on.checked_add_days(Days::new(REVIEW_DAYS)).unwrap_or(submitted_on);
    match lang {
        Lang::It => format!(
            "Se ritiene che la domanda sia stata respinta per errore, ad esempio perché i dati negli archivi \
             dell'INPS non sono aggiornati, può chiederne il riesame alla sede INPS competente per la Sua residenza, \
             anche tramite un patronato, allegando i documenti che dimostrano i requisiti, entro {REVIEW_DAYS} \
             giorni dalla data di questa ricevuta, cioè entro il {}. Trascorso questo termine senza documenti, la \
             domanda si intende respinta in via definitiva. Contro il rigetto non è ammesso il ricorso \
             amministrativo: resta il ricorso al giudice del lavoro (art. 442 del codice di procedura civile).",
            lang.date(deadline)
        ),
        Lang::En => format!(
            "If you believe the application was rejected by mistake, for instance because INPS's records are out \
             of date, you can ask the INPS office for your place of residence, also through a patronato, to review \
             it, with the documents that prove the requirements, within {REVIEW_DAYS} days of this receipt's date, \
             that is by {}. After that, without documents, the rejection is final. No administrative appeal lies \
             against the rejection: an action before the labour judge remains (art. 442 of the Code of Civil \
             Procedure).",
            lang.date(deadline)
        ),
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    r: ReceiptView,
    /// The bank returned the payment: the page offers the form for a new IBAN.
    needs_new_iban: bool,
    /// Held for a credential other than the session's confirmed one: the page offers to annul it.
    may_annul: bool,
    csrf: String,
}

/// `GET /domande/{protocol}`: the receipt of one of the citizen's own applications; anyone else's protocol
/// number is a 404, as if it did not exist.
pub async fn receipt(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    Path(protocol): Path<String>,
    from: ClientAddr,
    citizen: Citizen,
) -> Result<Response, PageError> {
    let lang = query.lang();
    let who = citizen.acting(&from);
    let found = sportello_usecases::receipts::one(state.app.store.as_ref(), &who, &protocol, state.auth.now()).await;
    let sportello_usecases::receipts::Receipt { application, payments } = found.or_page(lang)?;
    let standing = standing(&state, &application, &payments);
    let page = ReceiptPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        r: ReceiptView::new(&state, &application, &standing, lang),
        needs_new_iban: standing.needs_new_iban(),
        may_annul: sportello_usecases::annul::may_annul(&who, &application),
        csrf: state.auth.csrf.token(Binding::Session(&citizen.id_hash)),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Queues the receipt of the newly recorded `application` for the contact given in it (see [`message`]). Called
/// once, when the application is created, never for a resubmission.
///
/// The application is already durable when this runs, so a failure to queue is logged and does not fail the
/// submission: the receipt stays on the page and in "Le mie domande".
pub async fn send(state: &AuthState, application: &Application, lang: Lang) {
    let Some(message) = message(state, application, lang) else { return };
    if let Err(e) = state.app.store.enqueue(message).await {
        tracing::error!(error = %e, protocol = %application.protocol, "could not queue the receipt of an application");
    }
}

/// The receipt of the newly recorded `application` as a message to its contact: the e-mail address if one was
/// given, otherwise the mobile number; `None` without either. The grant of an indemnity paid without an application
/// sends the same.
pub fn message(state: &AuthState, application: &Application, lang: Lang) -> Option<OutboxMessage> {
    let details = details_of(application)?;
    let (channel, recipient) = match (details.contact.email, details.contact.mobile) {
        (Some(email), _) => (Channel::Email, email),
        (None, Some(mobile)) => (Channel::Sms, mobile),
        (None, None) => return None,
    };
    // A new application has no payment yet.
    let standing = standing(state, application, &[]);
    let (subject, body) = ReceiptView::new(state, application, &standing, lang).message(channel, lang);
    Some(OutboxMessage { channel: channel.as_str().to_owned(), recipient, subject, body, not_before: state.auth.now() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_domain::law::Rulebook;

    #[test]
    fn the_payment_date_is_the_next_run_or_says_why_it_is_not_known() {
        let day = |d| NaiveDate::from_ymd_opt(2020, 4, d).unwrap();
        let cases: [(&str, Standing, Option<NaiveDate>, Option<&str>); 6] = [
            (
                "accepted, a run ahead",
                Standing::Reserved,
                Some(day(15)),
                Some("15/04/2020 (prossima data di pagamento)"),
            ),
            ("accepted, no run configured", Standing::Reserved, None, Some("sarà comunicata")),
            ("held for identity", Standing::HeldForIdentity, Some(day(15)), Some("dopo che Lei avrà confermato")),
            (
                "in a run",
                Standing::Scheduled { pay_date: day(30), iban_last4: None },
                Some(day(15)),
                Some("30/04/2020"),
            ),
            ("rejected", Standing::Rejected, Some(day(15)), None),
            ("suspended", Standing::SuspendedBudget { limit_ref: "art. 27 c. 2".into() }, Some(day(15)), None),
        ];
        for (situation, standing, next_run, expected) in cases {
            let shown = pay_date(&standing, next_run, Lang::It);
            match expected {
                Some(text) => assert!(shown.as_deref().is_some_and(|s| s.contains(text)), "{situation}: {shown:?}"),
                None => assert_eq!(shown, None, "{situation}"),
            }
        }
    }

    #[test]
    fn a_rejection_names_the_office_the_term_and_the_judge() {
        let it = review(NaiveDate::from_ymd_opt(2020, 4, 1).unwrap(), Lang::It);
        for expected in ["riesame", "sede INPS", "entro il 21/04/2020", "giudice del lavoro", "ricorso amministrativo"]
        {
            assert!(it.contains(expected), "{expected} missing: {it}");
        }
        assert!(review(NaiveDate::from_ymd_opt(2020, 4, 1).unwrap(), Lang::En).contains("by 21/04/2020"));
    }

    #[test]
    fn the_declarations_made_are_listed_in_the_scheme_s_words_and_an_unknown_one_still_shows() {
        let rulebook = Rulebook::dl18_2020();
        let art27 = rulebook.scheme("art27");
        let details = serde_json::json!({"declarations": {
            "not_pension_holder": true, "no_other_compulsory_scheme": false, "no_longer_asked": true,
            "not_employed_on_17_march": "di non avere un rapporto di lavoro dipendente il 17 marzo 2020"
        }});
        let made = declarations(art27, &details, Lang::It);
        assert!(made.contains(&"di non essere titolare di pensione (art. 27 c. 1)".to_owned()), "{made:?}");
        assert!(made.contains(&"no longer asked".to_owned()), "{made:?}");
        assert!(made.iter().any(|d| d.contains("17 marzo 2020")), "{made:?}");
        assert_eq!(made.len(), 3, "a declaration not made is not listed: {made:?}");
        assert!(declarations(art27, &serde_json::json!({}), Lang::It).is_empty());
    }
}
