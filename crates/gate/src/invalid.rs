//! One problem in a gate configuration, named by where it is: what the configuration's parts (rooms, capacity,
//! proof of work) each report when they check themselves.

use std::fmt;

/// One problem in the configuration: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The field, as a path (`rooms[1].windows[0].opens`).
    pub at: String,
    /// What is wrong and what would be right.
    pub problem: String,
}

impl Invalid {
    /// A problem at `at`.
    pub fn new(at: &str, problem: String) -> Self {
        Self { at: at.to_owned(), problem }
    }

    pub(crate) fn under(mut self, prefix: &str) -> Self {
        self.at = if self.at.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", self.at) };
        self
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}
