//! The decrees as code: DL 17 March 2020 n. 18 ("Cura Italia": the five March indemnities of arts. 27, 28, 29, 30
//! and 38, the exclusions of art. 31, the pointer of art. 44) and DL 19 May 2020 n. 34 art. 84 (April for March's
//! beneficiaries, May for professionals and for co.co.co. whose contract ended).
//!
//! Parameters (amounts, dates, thresholds, spending limits, which indemnities cannot be combined, the declarations a
//! form asks for) come from one scheme file per decree (`schemes/*.toml`) through [`Rulebook`]; [`Decrees`] holds
//! them all at once. Each article is a module implementing one trait, registered in one table (`rule.rs`), with the
//! article's wording beside the code.
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
mod art84_april;
mod art84_cococo;
mod art84_may;
mod common;
mod decision;
mod declaration;
mod decrees;
mod exclusions;
mod facts;
mod rule;
mod rulebook;
mod scheme;
mod window;

pub use decision::{Decision, Reason, SchemeDecision};
pub use declaration::{Declaration, DeclarationKind, Figure};
pub use decrees::{Decrees, DecreesError, OutsideWindow, Windows};
pub use exclusions::OwnFund;
pub use facts::Facts;
pub use rulebook::{Decree, Rulebook, RulebookError};
pub use scheme::{Cumulation, Scheme};
pub use window::{Outside, Window};
