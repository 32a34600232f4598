//! What a decision rests on besides the registry: the indemnities a person already holds, and the figures they
//! declare in the application.

use std::collections::{BTreeMap, BTreeSet};

use crate::Cents;

/// Facts about one person that the registry does not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The schemes of which the person holds an accepted application, by id (e.g. `art27` for March 2020): the
    /// April indemnity of art. 84 c. 1 DL 34/2020 goes to March's beneficiaries.
    pub granted: BTreeSet<String>,
    /// The amounts the applicant declares, by figure id (see [`super::Figure`]); absent when nobody has declared
    /// them yet, as when an officer looks a person up.
    pub figures: BTreeMap<String, Cents>,
}

impl Facts {
    /// No indemnity held, nothing declared: what the registry alone says.
    pub fn none() -> Self {
        Self::default()
    }

    /// The person holds these schemes.
    pub fn granted<I, S>(schemes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { granted: schemes.into_iter().map(Into::into).collect(), figures: BTreeMap::new() }
    }

    /// The same facts with a declared figure.
    pub fn with_figure(mut self, id: &str, amount: Cents) -> Self {
        self.figures.insert(id.to_owned(), amount);
        self
    }
}
