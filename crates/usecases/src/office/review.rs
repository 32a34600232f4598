//! Review ("riesame", L. 241/1990 art. 3 c. 4 and the INPS messages cited by the receipt): a supervisor re-decides a
//! suspended or contested application with a written motivation. If their judgement agrees with what the law decides
//! now from the registry, it is applied at once; if it overrides the law, a second supervisor must confirm it (four
//! eyes). Either way, once applied, the person is told by message at the contacts of the application (or on file),
//! in the same transaction.

use chrono::{DateTime, Utc};
use sportello_domain::ProtocolNumber;
use sportello_domain::law::Decrees;
use sportello_domain::principal::Duty;
use sportello_store::reviews::{NewReview, Review};
use sportello_store::{Application, ApplicationStatus, AuditEntry, OutboxMessage, Store};

use super::{OnDuty, Reason};
use crate::draft::Details;
use crate::error::UseCaseError;

/// Fewest characters a motivation has.
pub const MIN_MOTIVATION: usize = 20;
/// Most characters a motivation has.
pub const MAX_MOTIVATION: usize = 2000;

/// What the supervisor decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The application.
    pub protocol: ProtocolNumber,
    /// Its status as the supervisor saw it.
    pub seen_status: ApplicationStatus,
    /// Whether the person is entitled, in the supervisor's judgement.
    pub entitled: bool,
    /// Why, in words the person will read.
    pub motivation: String,
}

/// Whether the law, deciding now from the registry, entitles the owner of `application` to its scheme.
pub async fn law_entitles(
    store: &dyn Store,
    decrees: &Decrees,
    application: &Application,
) -> Result<bool, UseCaseError> {
    let situation = crate::decide::situation(store, decrees, application.codice_fiscale).await?;
    Ok(situation.decision.schemes.iter().any(|d| d.scheme == application.scheme && d.eligible))
}

/// Records `proposal` by `officer` at `now`: applied at once when it agrees with the law, waiting for a second
/// supervisor when it overrides it.
pub async fn propose(
    store: &dyn Store,
    decrees: &Decrees,
    officer: &OnDuty,
    proposal: Proposal,
    now: DateTime<Utc>,
) -> Result<Review, UseCaseError> {
    officer.require(Duty::Review)?;
    let motivation = proposal.motivation.trim();
    let length = motivation.chars().count();
    if !(MIN_MOTIVATION..=MAX_MOTIVATION).contains(&length) {
        return Err(UseCaseError::OfficeInput(format!(
            "the motivation has {length} characters: write {MIN_MOTIVATION} to {MAX_MOTIVATION}, for the person to read"
        )));
    }
    let application = store
        .application_by_protocol(&proposal.protocol)
        .await?
        .ok_or_else(|| UseCaseError::NoSuchApplication(proposal.protocol.to_string()))?;
    let overrides_law = law_entitles(store, decrees, &application).await? != proposal.entitled;
    let reason = Reason::parse(&format!("riesame: {}", motivation.chars().take(Reason::MAX - 9).collect::<String>()))?;
    let audit = entry(officer, &application, "office_review_proposed", &reason, now);
    let messages =
        if overrides_law { Vec::new() } else { told(store, &application, proposal.entitled, motivation, now).await? };
    let new = NewReview {
        protocol: proposal.protocol,
        seen_status: proposal.seen_status,
        entitled: proposal.entitled,
        overrides_law,
        motivation: motivation.to_owned(),
        by: officer.on(application.codice_fiscale).principal.actor.stored(),
        at: now,
    };
    Ok(store.propose_review(new, audit, &messages).await?)
}

/// A second supervisor, `officer`, confirms review `id` at `now`: it is applied and the person told.
pub async fn confirm(store: &dyn Store, officer: &OnDuty, id: i64, now: DateTime<Utc>) -> Result<Review, UseCaseError> {
    officer.require(Duty::ConfirmOverride)?;
    let missing = || UseCaseError::NoSuchApplication(format!("review {id}"));
    let review = store.review(id).await?.ok_or_else(missing)?;
    let application = store.application_by_protocol(&review.protocol).await?.ok_or_else(missing)?;
    let reason = Reason::parse(&format!("conferma del riesame n. {id}"))?;
    let audit = entry(officer, &application, "office_review_confirmed", &reason, now);
    let messages = told(store, &application, review.entitled, &review.motivation, now).await?;
    let by = officer.on(application.codice_fiscale).principal.actor.stored();
    Ok(store.confirm_review(id, &by, now, audit, &messages).await?)
}

fn entry(officer: &OnDuty, application: &Application, action: &str, reason: &Reason, now: DateTime<Utc>) -> AuditEntry {
    let principal = officer.on(application.codice_fiscale).principal;
    AuditEntry {
        actor: principal.actor.stored(),
        action: action.to_owned(),
        subject: application.codice_fiscale,
        object: Some(application.protocol.to_string()),
        at: now,
        from: officer.from.clone(),
        login_method: Some(principal.method.as_str().to_owned()),
        channel: principal.channel.as_str().to_owned(),
        reason: Some(reason.as_str().to_owned()),
    }
}

/// The messages telling the owner of `application` the review's outcome: at the contacts given with the application,
/// else those on file.
async fn told(
    store: &dyn Store,
    application: &Application,
    entitled: bool,
    motivation: &str,
    now: DateTime<Utc>,
) -> Result<Vec<OutboxMessage>, UseCaseError> {
    let given = Details::stored(application).map(|d| d.contact).unwrap_or_default();
    let (email, mobile) = match (given.email, given.mobile) {
        (None, None) => match store.person(&application.codice_fiscale).await? {
            Some(person) => (person.email, person.cellulare),
            None => (None, None),
        },
        given => given,
    };
    let protocol = &application.protocol;
    let outcome = if entitled { "Le spetta l'indennità richiesta" } else { "l'indennità richiesta non Le spetta" };
    let subject = format!("Riesame della domanda n. {protocol}");
    let body = format!(
        "L'INPS ha riesaminato la Sua domanda n. {protocol}: {outcome}.\nMotivazione: {motivation}\nLo stato \
         aggiornato della domanda è nella pagina «Le mie domande» del portale."
    );
    let mut messages = Vec::new();
    if let Some(email) = email {
        messages.push(OutboxMessage {
            channel: "email".into(),
            recipient: email,
            subject: subject.clone(),
            body: body.clone(),
            not_before: now,
        });
    }
    if let Some(mobile) = mobile {
        let sms =
            format!("INPS: la Sua domanda n. {protocol} è stata riesaminata: {outcome}. Dettagli in «Le mie domande».");
        messages.push(OutboxMessage { channel: "sms".into(), recipient: mobile, subject, body: sms, not_before: now });
    }
    Ok(messages)
}
