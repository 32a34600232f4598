//! How a long use case (an import, a payment run) tells its door how far it has got, without knowing whether a
//! progress bar, a page or nobody is watching.

/// Someone watching a long piece of work. Every method does nothing unless implemented.
pub trait Progress: Send + Sync {
    /// The work begins: `total` units (bytes of a file, payments of a run).
    fn begin(&self, _total: u64) {}
    /// `done` units are done so far, with a note for people (e.g. how many rows were read).
    fn reached(&self, _done: u64, _note: &str) {}
    /// One more unit is done.
    fn advance(&self) {}
    /// The work is over, finished or not.
    fn end(&self) {}
}

/// Nobody is watching.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unwatched;

impl Progress for Unwatched {}
