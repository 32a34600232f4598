//! Art. 44: the Fondo per il reddito di ultima istanza, for workers the indemnities of arts. 27–38 do not reach.
//!
//! > **Art. 44** — *Istituzione del Fondo per il reddito di ultima istanza a favore dei lavoratori danneggiati dal
//! > virus COVID-19*
//! >
//! > 1. Al fine di garantire misure di sostegno al reddito per i lavoratori dipendenti e autonomi che in conseguenza
//! > dell'emergenza epidemiologica da COVID 19 hanno cessato, ridotto o sospeso la loro attività o il loro rapporto di
//! > lavoro, è istituito, nello stato di previsione del Ministero del lavoro e delle politiche sociali, un Fondo
//! > denominato "Fondo per il reddito di ultima istanza" volto a garantire il riconoscimento ai medesimi soggetti di
//! > cui al presente comma, di una indennità, nel limite di spesa di 300 milioni di euro per l'anno 2020.
//! >
//! > 2. Con uno o più decreti del Ministro del lavoro e delle politiche sociali, di concerto con il Ministro
//! > dell'economia e delle finanze, da adottarsi entro trenta giorni dall'entrata in vigore del presente decreto, sono
//! > definiti i criteri di priorità e le modalità di attribuzione dell'indennità di cui al comma 1, nonché la
//! > eventuale quota del limite di spesa di cui al comma 1 da destinare, in via eccezionale, in considerazione della
//! > situazione di emergenza epidemiologica, al sostegno del reddito dei professionisti iscritti agli enti di diritto
//! > privato di previdenza obbligatoria di cui al decreto legislativo 30 giugno 1994, n. 509 e al decreto legislativo
//! > 10 febbraio 1996, n. 103.
//!
//! As code: Sportello does not decide the fund's indemnity (its own funds do); it points people to it. A person whose
//! every position is `altra_previdenza_obbligatoria`, at least one of them active on the exclusions date, gets on
//! every scheme a reason sending them to their own fund. Someone whose only such enrolment had ended is not "enrolled
//! only in another scheme" and gets the schemes' own reasons alone.

use super::SchemeDecision;
use super::common::{Person, reason};
use super::exclusions::OwnFund;
use crate::registry::PositionKind;

const RULE: &str = "art44";

/// Adds the pointer to the person's own fund when they are enrolled only in another compulsory scheme.
pub(crate) fn point_to_own_fund(decision: &mut SchemeDecision, fund: &OwnFund, person: &Person<'_>) {
    let other = |kind| kind == PositionKind::AltraPrevidenzaObbligatoria;
    let only_other =
        person.positions().iter().all(|p| other(p.kind)) && person.held_on_day(|p| other(p.kind)).is_some();
    if only_other {
        decision.reasons.push(reason(
            RULE,
            "own_fund",
            &fund.legal_ref,
            format!(
                "Le Sue posizioni risultano soltanto in un'altra forma di previdenza obbligatoria, ad esempio una cassa professionale: per Lei è previsto il {}, da chiedere al Suo ente previdenziale.",
                fund.name_it
            ),
            format!(
                "You are enrolled only in another compulsory pension scheme, such as a professional fund: the {} is meant for you, and you apply to it through your own fund.",
                fund.name_en
            ),
        ));
    }
}
