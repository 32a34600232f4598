//! DL 17 March 2020 n. 18 ("Cura Italia") as code: the five indemnities of arts. 27, 28, 29, 30 and 38, the
//! exclusions of art. 31 and the pointer of art. 44 for people enrolled only in other compulsory schemes.
//!
//! Parameters (amounts, dates, thresholds, spending limits) come from a scheme file (`schemes/*.toml`) through
//! [`Rulebook`]; the modules here hold the rules and the article's wording beside them.

mod decision;

pub use decision::{Decision, Reason, SchemeDecision};
