//! What Sportello does, apart from the doors that ask for it. The pages, the JSON API and the command line parse
//! their input, call these functions with the principal who acts, and render what comes back; the law
//! (`sportello-domain`) decides and the store (`sportello-store`) records.
//!
//! - [`decide`]: a person's decision under every decree in force, with the indemnities they already hold;
//! - [`draft`]: an application's typed input checked in one place against its scheme, whichever door read it;
//! - [`apply`]: an application decided now and recorded once, with its audit row, per cumulation group;
//! - [`receipts`]: the subject's own applications and their payments, every reading audited;
//! - [`iban`] and [`annul`]: a new IBAN for a returned payment; the annulment of an application made in the
//!   person's name with a credential they never confirmed;
//! - [`pin`], [`pin_request`], [`login`] and [`pins`]: the INPS PIN (drawn, normalised, hashed off the reactor),
//!   a PIN asked for at the portal's door, the login's check and lockout, the office's issue and confirmation of
//!   identity;
//! - [`sessions`]: a session opened for a principal, of the door's kind, its id stored only hashed;
//! - [`grant`]: an indemnity paid without an application, granted to the beneficiaries of the one it follows;
//! - the operator's: [`budgets`] (spending limits), [`payments`] (payment runs, pain.001 and pain.002),
//!   [`gate`] (the admission gate's capacity, maintenance and passes), [`registry`] (the registry import), each
//!   taking the [`Operator`] who acts where it records one; [`intermediaries`] (the roster of the operators who
//!   act for citizens);
//! - [`office`]: the institute's back office: officers' accounts and logins, cases read with a stated reason,
//!   subject access and breach assessment (GDPR arts. 15 and 33), retention.
//!
//! Every use case that touches personal data takes the [`Acting`] principal and reaches only its subject's data.
//! Errors are one type, [`UseCaseError`], whose [`ErrorKind`] each door maps once: to a page, to an RFC 9457
//! problem, to an exit status.

pub mod acting;
pub mod annul;
pub mod apply;
pub mod budgets;
pub mod decide;
pub mod draft;
mod error;
pub mod files;
pub mod gate;
pub mod grant;
pub mod iban;
pub mod intermediaries;
mod kind;
mod language;
pub mod login;
pub mod office;
mod operator;
pub mod payments;
pub mod pin;
pub mod pin_request;
pub mod pins;
pub mod progress;
pub mod receipts;
pub mod registry;
pub mod sessions;

pub use acting::Acting;
pub use error::{ErrorKind, UseCaseError};
pub use language::Language;
pub use operator::Operator;
