//! When a decree takes applications: the first and the last day, from its scheme file, and whether a given day falls
//! between them. A leaf: the loader builds it, `Decrees` asks it.

use std::fmt;

use crate::Date;

/// The days applications for a decree's indemnities are taken, both ends included, with the act that set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub(crate) opens: Date,
    pub(crate) closes: Date,
    pub(crate) legal_ref: String,
}

/// Why a day is outside a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    /// Before the first day.
    NotYetOpen,
    /// After the last day.
    Closed,
}

impl Window {
    /// The first day applications are taken.
    pub fn opens(&self) -> Date {
        self.opens
    }

    /// The last day applications are taken.
    pub fn closes(&self) -> Date {
        self.closes
    }

    /// The act that set the days (a decree's paragraph or an INPS circular).
    pub fn legal_ref(&self) -> &str {
        &self.legal_ref
    }

    /// Whether `day` falls within the window, and if not on which side.
    pub fn admits(&self, day: Date) -> Result<(), Outside> {
        if day < self.opens {
            Err(Outside::NotYetOpen)
        } else if day > self.closes {
            Err(Outside::Closed)
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "from {} to {} ({})", self.opens, self.closes, self.legal_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_are_inside_and_each_side_is_named() {
        let d = |m, day| Date::from_ymd_opt(2020, m, day).unwrap();
        let window = Window { opens: d(4, 1), closes: d(6, 3), legal_ref: "INPS".to_owned() };
        assert_eq!(window.admits(d(3, 31)), Err(Outside::NotYetOpen));
        assert_eq!(window.admits(d(4, 1)), Ok(()));
        assert_eq!(window.admits(d(6, 3)), Ok(()));
        assert_eq!(window.admits(d(6, 4)), Err(Outside::Closed));
        assert_eq!(window.to_string(), "from 2020-04-01 to 2020-06-03 (INPS)");
    }
}
