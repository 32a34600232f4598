//! What the office's handlers reach: the portal's state, the login machinery (its clock and CSRF key), and the hasher
//! of officers' passwords, made on first use (its parameters cost a dummy hash to set up). A leaf of `office/`.

use std::sync::Arc;

use sportello_usecases::pin::PinHasher;
use tokio::sync::OnceCell;

use crate::auth::Auth;
use crate::state::AppState;

/// The office routes' state.
#[derive(Clone)]
pub struct OfficeState {
    /// The portal's state.
    pub app: AppState,
    /// The clock, the CSRF key and the rate limits.
    pub auth: Auth,
    /// Argon2id with the parameters for passwords, made on first use.
    pub passwords: Arc<OnceCell<PinHasher>>,
    /// The admission gate, when the portal has a waiting room: the dashboard reads its rooms.
    pub gate: Option<Arc<sportello_gate::gate::Gate>>,
}

impl OfficeState {
    /// The state over `app` and `auth`, with the portal's admission gate if it has one.
    pub fn new(app: AppState, auth: Auth, gate: Option<Arc<sportello_gate::gate::Gate>>) -> Self {
        Self { app, auth, passwords: Arc::new(OnceCell::new()), gate }
    }

    /// The password hasher, made now if it was not yet.
    pub async fn passwords(&self) -> Result<&PinHasher, sportello_usecases::UseCaseError> {
        self.passwords.get_or_try_init(|| async { sportello_usecases::office::accounts::password_hasher() }).await
    }
}
