//! A person's decision under every decree in force: the registry's positions, the indemnities they already hold
//! (April's follows an accepted March art. 27), and the figures they declare, if any.

use std::collections::BTreeMap;

use sportello_domain::law::{Decision, Decrees, Facts, SchemeDecision};
use sportello_domain::{Cents, CodiceFiscale};
use sportello_store::{Application, ApplicationStatus, Store};

use crate::error::UseCaseError;

/// What the law decides for one person now.
#[derive(Debug, Clone)]
pub struct Situation {
    /// Whether the registry knows the person at all.
    pub in_registry: bool,
    /// Every decree's schemes, each eligible or not with its reasons.
    pub decision: Decision,
    /// The applications holding an indemnity, at most one per cumulation group.
    pub holdings: Vec<Application>,
}

impl Situation {
    /// Whether the person may apply for `scheme` now: one applied for, entitled to it, and holding no indemnity of
    /// its cumulation group yet.
    pub fn may_apply(&self, decrees: &Decrees, scheme: &str) -> bool {
        let Some(found) = decrees.scheme(scheme) else { return false };
        found.on_application()
            && self.holding_in(decrees, scheme).is_none()
            && self.decision.schemes.iter().any(|d| d.scheme == scheme && d.eligible)
    }

    /// The application holding an indemnity of the same cumulation group as `scheme`, if any.
    pub fn holding_in(&self, decrees: &Decrees, scheme: &str) -> Option<&Application> {
        holding_among(&self.holdings, decrees, scheme)
    }
}

/// Of `applications`, the one holding an indemnity of the same cumulation group as `scheme`: the one the store would
/// name when refusing another.
fn holding_among<'a>(applications: &'a [Application], decrees: &Decrees, scheme: &str) -> Option<&'a Application> {
    let group = decrees.scheme(scheme)?.cumulation();
    applications
        .iter()
        .find(|a| a.status.holds_indemnity() && decrees.scheme(&a.scheme).is_some_and(|s| s.cumulation() == group))
}

/// The application of `codice_fiscale` that holds an indemnity of the same cumulation group as `scheme`, if any,
/// read without deciding anything: what a form checks before the citizen fills it in.
pub async fn holding(
    store: &dyn Store,
    decrees: &Decrees,
    codice_fiscale: &CodiceFiscale,
    scheme: &str,
) -> Result<Option<Application>, UseCaseError> {
    let applications = store.applications_of(codice_fiscale).await?;
    Ok(holding_among(&applications, decrees, scheme).cloned())
}

/// The person's situation: their positions decided by every decree, with the indemnities they hold as facts.
pub async fn situation(
    store: &dyn Store,
    decrees: &Decrees,
    codice_fiscale: CodiceFiscale,
) -> Result<Situation, UseCaseError> {
    let applications = store.applications_of(&codice_fiscale).await?;
    let holdings: Vec<Application> = applications.into_iter().filter(|a| a.status.holds_indemnity()).collect();
    let granted = holdings.iter().filter(|a| a.status == ApplicationStatus::Accepted).map(|a| a.scheme.clone());
    let positions = store.positions(&codice_fiscale).await?;
    let decision = decrees.decide(codice_fiscale, &positions, &Facts::granted(granted));
    Ok(Situation { in_registry: !positions.is_empty(), decision, holdings })
}

/// The decision on the registry and `figures` declared in an application (indemnities held do not count: they
/// matter only to schemes granted without an application, which nobody applies for).
pub async fn for_application(
    store: &dyn Store,
    decrees: &Decrees,
    codice_fiscale: CodiceFiscale,
    figures: &BTreeMap<String, Cents>,
) -> Result<Decision, UseCaseError> {
    let positions = store.positions(&codice_fiscale).await?;
    let facts = Facts { figures: figures.clone(), ..Facts::none() };
    Ok(decrees.decide(codice_fiscale, &positions, &facts))
}

/// The decision for `scheme` taken out of `decision`; an error if the decrees gave none (a defect, not input).
pub fn of_scheme(decision: Decision, scheme: &str) -> Result<SchemeDecision, UseCaseError> {
    decision.schemes.into_iter().find(|d| d.scheme == scheme).ok_or_else(|| UseCaseError::Undecided(scheme.to_owned()))
}

/// The principal's subject's situation, the reading audited (`view_decision`) before anything is read out: no audit
/// row, no decision.
pub async fn viewed(
    store: &dyn Store,
    decrees: &Decrees,
    who: &crate::acting::Acting,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Situation, UseCaseError> {
    who.audit(store, "view_decision", None, now).await?;
    situation(store, decrees, who.principal.subject).await
}
