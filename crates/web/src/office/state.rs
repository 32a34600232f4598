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
}

impl OfficeState {
    /// The state over `app` and `auth`.
    pub fn new(app: AppState, auth: Auth) -> Self {
        Self { app, auth, passwords: Arc::new(OnceCell::new()) }
    }

    /// The password hasher, made now if it was not yet.
    pub async fn passwords(&self) -> Result<&PinHasher, sportello_usecases::UseCaseError> {
        self.passwords.get_or_try_init(|| async { sportello_usecases::office::accounts::password_hasher() }).await
    }
}
