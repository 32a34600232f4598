//! What every handler can reach: the database, the law the portal decides by, and the configuration it was started
//! with. The router in `server.rs` hands it to the doors (pages, application, API, login); they take its type from
//! here, below them, not from the router above.

use std::sync::Arc;

use sportello_domain::law::Rulebook;
use sportello_store::Store;

use crate::config::Config;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The law the portal decides by.
    pub rulebook: Arc<Rulebook>,
    /// The configuration it was started with.
    pub config: Arc<Config>,
}
