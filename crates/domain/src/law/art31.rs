//! Art. 31: the indemnities are not cumulable, and not granted to recipients of reddito di cittadinanza.
//!
//! > **Art. 31** — *Incumulabilità ed esclusione dal diritto alle indennità*
//! >
//! > 1. Le indennità di cui agli articoli 27, 28, 29, 30 e 38 non sono tra esse cumulabili e non sono altresì
//! > riconosciute ai percettori di reddito di cittadinanza ai sensi del decreto-legge 28 gennaio 2019, n. 4,
//! > convertito con modificazioni dalla legge 28 marzo 2019, n. 26.
//!
//! As code: a `reddito_cittadinanza` position active on the exclusions date fails every scheme. Non-cumulability is
//! not a condition of any one scheme: a person may meet the conditions of several and then chooses one, so each
//! scheme stays eligible and carries a reason saying that only one of them can be granted; the application layer
//! grants one per person.

use super::SchemeDecision;
use super::common::{Conditions, Person, date_en, date_it, reason};
use super::exclusions::Exclusions;
use super::scheme::Scheme;
use crate::registry::PositionKind;

/// Fails the scheme for a recipient of reddito di cittadinanza on the exclusions date.
pub(crate) fn exclude_reddito_di_cittadinanza(c: &mut Conditions, exclusions: &Exclusions, person: &Person<'_>) {
    if person.held_on_day(|p| p.kind == PositionKind::RedditoCittadinanza).is_some() {
        let (it, en) = (date_it(person.day()), date_en(person.day()));
        c.failed(reason(
            &exclusions.code,
            "reddito_di_cittadinanza",
            &exclusions.reddito_di_cittadinanza_ref,
            format!("Il {it} Lei percepiva il reddito di cittadinanza, che esclude da questa indennità."),
            format!("On {en} you were receiving the reddito di cittadinanza (citizenship income), which rules out this allowance."),
        ));
    }
}

/// Adds to every eligible scheme, when another of its cumulation group is eligible too, a reason naming the others:
/// only one of the group can be granted.
pub(crate) fn flag_not_cumulable(decisions: &mut [SchemeDecision], schemes: &[Scheme], exclusions: &Exclusions) {
    let eligible: Vec<usize> = decisions.iter().enumerate().filter(|(_, d)| d.eligible).map(|(i, _)| i).collect();
    for &i in &eligible {
        let group = schemes[i].cumulation();
        let others =
            eligible.iter().filter(|&&j| j != i).filter_map(|&j| schemes.get(j)).filter(|s| s.cumulation() == group);
        let (mut others_it, mut others_en) = (Vec::new(), Vec::new());
        for other in others {
            others_it.push(format!("«{}» ({})", other.title_it(), other.legal_ref()));
            others_en.push(format!("“{}” ({})", other.title_en(), other.legal_ref()));
        }
        if others_it.is_empty() {
            continue;
        }
        let (others_it, others_en) = (others_it.join(", "), others_en.join(", "));
        decisions[i].reasons.push(reason(
            &exclusions.code,
            "one_indemnity_only",
            group.legal_ref(),
            format!("Lei ha i requisiti anche per {others_it}, ma queste indennità non sono cumulabili: ne può essere concessa una sola."),
            format!("You also qualify for {others_en}, but these allowances cannot be combined: only one of them can be granted."),
        ));
    }
}
