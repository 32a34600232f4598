//! The kind of a use case's failure, which each door maps once to a page, a problem or an exit status. A leaf:
//! the errors of every use case name their kind with it.

/// What kind of failure an error is: what the caller did wrong, what cannot be found, or what is unavailable now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request names something that does not fit: a page's 404/422, a problem's 422, exit status 2.
    Input,
    /// What the request names is not the principal's subject's, or does not exist: 404, exit status 2.
    NotFound,
    /// The principal may not do this with the credential they logged in with: 403, exit status 2.
    Forbidden,
    /// The request is well formed but the thing it names is not in the state it needs: 409, exit status 2.
    Conflict,
    /// Something failed on our side or is unavailable now: a 503 page or problem, exit status 1.
    Unavailable,
}
