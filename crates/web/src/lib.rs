//! Sportello's web layer: the citizen portal served by axum, the INPS PIN, and notifications.
//!
//! Handlers stay thin: extractors validate, the domain decides, a template renders.

pub mod api;
pub mod apply;
pub mod assets;
pub mod auth;
pub mod body_limit;
pub mod config;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod gate;
pub mod i18n;
pub mod intermediaries;
pub mod limits;
pub mod mandates;
pub mod metrics;
pub mod office;
pub mod pages;
pub mod reminders;
pub mod render;
pub mod routes;
pub mod schemes;
pub mod secret;
pub mod security;
pub mod serve;
pub mod server;
pub mod shed;
pub mod situation;
pub mod state;
pub mod throughput;
pub mod viewer;

pub mod notify;
pub mod outbox;
/// The INPS PIN, now a use case's (`sportello_usecases::pin`); kept at this path for the benches and tools.
pub use sportello_usecases::pin;
