//! The receipts a command sends: the grant of an indemnity paid without an application queues, for each person
//! granted, the receipt the portal queues after a submission, worded by the portal's own code so the two never differ.

use std::sync::Arc;

use sportello_domain::law::Decrees;
use sportello_store::{Application, OutboxMessage, Store};
use sportello_web::auth::{Auth, AuthState};
use sportello_web::config::Config;
use sportello_web::i18n::Lang;
use sportello_web::state::AppState;

/// The portal's receipt, in Italian (the institute's language), with the payment runs of the configuration the
/// environment gives (`SPORTELLO_PAYMENTS__RUN_DATES`).
pub struct PortalReceipts {
    state: AuthState,
}

impl PortalReceipts {
    /// Receipts worded as the portal over `store` and `decrees` words them.
    pub fn new(store: Arc<dyn Store>, decrees: Decrees) -> anyhow::Result<Self> {
        let config = Config::load(None)?;
        let auth = Auth::from_config(&config)?;
        let app = AppState { store, decrees: Arc::new(decrees), config: Arc::new(config) };
        Ok(Self { state: AuthState { app, auth } })
    }
}

impl sportello_usecases::grant::Receipts for PortalReceipts {
    fn receipt(&self, application: &Application) -> Option<OutboxMessage> {
        sportello_web::apply::receipt::message(&self.state, application, Lang::It)
    }
}
