//! What Sportello does, apart from the doors that ask for it. The pages, the JSON API and the command line parse
//! their input, call these functions with the principal who acts, and render what comes back; the law
//! (`sportello-domain`) decides and the store (`sportello-store`) records.
//!
//! - [`decide`]: a person's decision under every decree in force, with the indemnities they already hold;
//! - [`apply`]: an application decided now and recorded once, with its audit row, per cumulation group;
//! - [`grant`]: an indemnity paid without an application, granted to the beneficiaries of the one it follows;
//! - the operator's: [`budgets`] (spending limits), [`payments`] (payment runs, pain.001 and pain.002),
//!   [`gate`] (the admission gate's capacity, maintenance and passes), [`registry`] (the registry import), each
//!   taking the [`Operator`] who acts where it records one.
//!
//! Errors are one type, [`UseCaseError`], whose [`ErrorKind`] each door maps once: to a page, to an RFC 9457
//! problem, to an exit status.

pub mod apply;
pub mod budgets;
pub mod decide;
mod error;
pub mod files;
pub mod gate;
pub mod grant;
mod operator;
pub mod payments;
pub mod progress;
pub mod registry;

pub use error::{ErrorKind, UseCaseError};
pub use operator::Operator;
