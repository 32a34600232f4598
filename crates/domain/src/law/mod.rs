//! DL 17 March 2020 n. 18 ("Cura Italia") as code: the five indemnities of arts. 27, 28, 29, 30 and 38, the
//! exclusions of art. 31 and the pointer of art. 44 for people enrolled only in other compulsory schemes.
//!
//! Parameters (amounts, dates, thresholds, spending limits) come from a scheme file (`schemes/*.toml`) through
//! [`Rulebook`]; the modules here hold the rules and the article's wording beside them.
//!
//! Reason codes read `<rule>.<condition>`: the rule is the article module that states the condition (`art27`,
//! `art31`, `art44`, …), the condition a snake-case fact (`pension_holder`, `not_active_on_reference_date`).

mod art27;
mod art28;
mod art29;
mod art30;
mod art31;
mod art38;
mod art44;
mod common;
mod decision;
mod declaration;
mod rulebook;

pub use decision::{Decision, Reason, SchemeDecision};
pub use declaration::{Declaration, DeclarationKind};
pub use rulebook::{Decree, OwnFund, Rulebook, RulebookError, Scheme};
