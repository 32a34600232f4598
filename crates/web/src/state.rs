//! What every handler can reach: the database, the decrees the portal decides by, and the configuration it was started
//! with. The router in `server.rs` hands it to the doors (pages, application, API, login); they take its type from
//! here, below them, not from the router above.

use std::sync::Arc;

use sportello_domain::law::Decrees;
use sportello_store::Store;

use crate::config::Config;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The decrees in force, each from its scheme file, deciding side by side.
    pub decrees: Arc<Decrees>,
    /// The configuration it was started with.
    pub config: Arc<Config>,
}
