//! Sportello's domain: values that exist only once validated, the registry's positions, and the law as code.
//!
//! Nothing in this crate performs I/O: the store, the web layer and the command line build on it.

pub mod clock;
pub mod codice_fiscale;
#[doc(hidden)]
pub mod fuzzing;
pub mod iban;
pub mod ids;
pub mod intermediaries;
pub mod law;
pub mod mandate;
pub mod money;
pub mod persons;
pub mod principal;
pub mod registry;

pub use codice_fiscale::{CodiceFiscale, CodiceFiscaleError};
pub use iban::{Iban, IbanError};
pub use ids::{IdempotencyKey, IdempotencyKeyError, ProtocolNumber, ProtocolNumberError};
pub use money::{Cents, MoneyError};

/// A calendar date (no time of day, no time zone), as the decree and the registry use them.
pub type Date = chrono::NaiveDate;
