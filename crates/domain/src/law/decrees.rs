//! Every decree in force at once: DL 18/2020 for March 2020 and DL 34/2020 art. 84 for April and May, each from its
//! own scheme file, deciding side by side. A scheme id and a cumulation group id name one thing across all of them,
//! since applications store them.

use std::collections::HashSet;

use thiserror::Error;

use super::rulebook::{DL18_2020, DL34_2020};
use super::{Decision, Facts, Outside, Rulebook, RulebookError, Scheme};
use crate::registry::Position;
use crate::{CodiceFiscale, Date};

/// Why a set of scheme files cannot be loaded together.
#[derive(Debug, Clone, Error)]
pub enum DecreesError {
    /// One file is wrong; the error names it.
    #[error("{file}: {error}")]
    File {
        /// The file's name.
        file: String,
        /// What is wrong in it.
        error: Box<RulebookError>,
    },
    /// No scheme file at all.
    #[error("no scheme file was given: a folder of schemes/*.toml needs at least one decree")]
    Empty,
    /// Two files use the same id for a decree, a scheme or a cumulation group.
    #[error("{file}: {what} '{id}' is already defined by {other}; ids must be unique across every scheme file")]
    Duplicate {
        /// The file that repeats it.
        file: String,
        /// `decree`, `scheme` or `cumulation group`.
        what: &'static str,
        /// The repeated id.
        id: String,
        /// The file that defined it first.
        other: String,
    },
}

/// The decrees in force, in the order their files were given (by file name when loaded from a folder).
#[derive(Debug, Clone)]
pub struct Decrees {
    books: Vec<Rulebook>,
    windows: Windows,
}

/// Whether applications are refused outside the days each decree's scheme file gives (`[decree] applications`).
///
/// The windows are 2020's: a portal run later (the demo, drills, tests, a training copy) replays the day and takes
/// applications whatever the date, which is why [`Windows::Open`] is what every constructor gives. A deployment that
/// serves the decree's own days enforces them (`sportello serve` with `SPORTELLO_APPLICATION_WINDOWS=enforced`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Windows {
    /// Applications are taken whatever the day.
    #[default]
    Open,
    /// An application outside its decree's window is refused.
    Enforced,
}

/// An application refused because its day is outside its decree's window.
#[derive(Debug, Clone, Copy)]
pub struct OutsideWindow<'a> {
    /// The decree whose window it is.
    pub decree: &'a Rulebook,
    /// Before the first day or after the last.
    pub side: Outside,
}

impl Decrees {
    /// Loads scheme files given as (name, text) pairs; an error names the file.
    pub fn from_files<N: AsRef<str>, T: AsRef<str>>(files: &[(N, T)]) -> Result<Self, DecreesError> {
        if files.is_empty() {
            return Err(DecreesError::Empty);
        }
        let mut books: Vec<(String, Rulebook)> = Vec::with_capacity(files.len());
        for (name, text) in files {
            let file = name.as_ref().to_owned();
            let book = Rulebook::from_toml(text.as_ref())
                .map_err(|error| DecreesError::File { file: file.clone(), error: Box::new(error) })?;
            for (other, earlier) in &books {
                let duplicate = |what, id: &str| DecreesError::Duplicate {
                    file: file.clone(),
                    what,
                    id: id.to_owned(),
                    other: other.clone(),
                };
                if earlier.decree().id() == book.decree().id() {
                    return Err(duplicate("decree", book.decree().id()));
                }
                let ids: HashSet<&str> = earlier.schemes().iter().map(Scheme::id).collect();
                if let Some(s) = book.schemes().iter().find(|s| ids.contains(s.id())) {
                    return Err(duplicate("scheme", s.id()));
                }
                let groups: HashSet<&str> = earlier.cumulations().map(|g| g.id()).collect();
                if let Some(g) = book.cumulations().find(|g| groups.contains(g.id())) {
                    return Err(duplicate("cumulation group", g.id()));
                }
            }
            books.push((file, book));
        }
        Ok(Self { books: books.into_iter().map(|(_, book)| book).collect(), windows: Windows::default() })
    }

    /// One decree alone.
    pub fn single(book: Rulebook) -> Self {
        Self { books: vec![book], windows: Windows::default() }
    }

    /// The same decrees, with their application windows open or enforced.
    pub fn with_windows(mut self, windows: Windows) -> Self {
        self.windows = windows;
        self
    }

    /// Whether the application windows are enforced.
    pub fn windows(&self) -> Windows {
        self.windows
    }

    /// When windows are enforced and `day` is outside the window of `scheme`'s decree: that decree and the side.
    /// `None` when the application may be taken (or the scheme is unknown, which the caller reports first).
    pub fn outside_window(&self, scheme: &str, day: Date) -> Option<OutsideWindow<'_>> {
        if self.windows == Windows::Open {
            return None;
        }
        let decree = self.rulebook_of(scheme)?;
        decree.decree().applications().admits(day).err().map(|side| OutsideWindow { decree, side })
    }

    /// The decrees the binary embeds: DL 18/2020 and DL 34/2020 art. 84.
    pub fn embedded() -> Self {
        // The embedded files are not input: a test proves they load together, so failing here is a build defect.
        Self::from_files(&[("schemes/dl18-2020.toml", DL18_2020), ("schemes/dl34-2020.toml", DL34_2020)])
            .expect("the embedded scheme files load together")
    }

    /// Every decree, in order.
    pub fn rulebooks(&self) -> &[Rulebook] {
        &self.books
    }

    /// Every scheme of every decree, decree by decree in file order.
    pub fn schemes(&self) -> impl Iterator<Item = &Scheme> {
        self.books.iter().flat_map(|b| b.schemes())
    }

    /// The scheme with this id, in whichever decree.
    pub fn scheme(&self, id: &str) -> Option<&Scheme> {
        self.books.iter().find_map(|b| b.scheme(id))
    }

    /// The decree a scheme belongs to.
    pub fn rulebook_of(&self, scheme: &str) -> Option<&Rulebook> {
        self.books.iter().find(|b| b.scheme(scheme).is_some())
    }

    /// Decides every scheme of every decree for one person, with what they hold and declare.
    pub fn decide(&self, codice_fiscale: CodiceFiscale, positions: &[Position], facts: &Facts) -> Decision {
        let schemes = self.books.iter().flat_map(|b| b.decide_schemes(positions, facts)).collect();
        Decision { codice_fiscale, schemes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_decrees_load_together_in_order() {
        let decrees = Decrees::embedded();
        let ids: Vec<_> = decrees.schemes().map(Scheme::id).collect();
        assert_eq!(
            ids,
            [
                "art27", "art28", "art29", "art30", "art38", "art84c1", "art84c2", "art84c3", "art84c4", "art84c5",
                "art84c7", "art84c10"
            ]
        );
        assert_eq!(decrees.rulebook_of("art84c2").unwrap().decree().short(), "DL 34/2020");
        assert_eq!(decrees.rulebook_of("art27").unwrap().decree().short(), "DL 18/2020");
        assert!(decrees.scheme("art44").is_none());
    }

    #[test]
    fn a_window_is_enforced_only_when_asked_and_names_its_side() {
        let day = |m, d| Date::from_ymd_opt(2020, m, d).unwrap();
        let open = Decrees::embedded();
        assert_eq!(open.windows(), Windows::Open);
        assert!(open.outside_window("art27", day(1, 1)).is_none(), "a replay takes applications whatever the day");
        let enforced = Decrees::embedded().with_windows(Windows::Enforced);
        let before = enforced.outside_window("art27", day(3, 31)).unwrap();
        assert_eq!((before.decree.decree().id(), before.side), ("dl18-2020", Outside::NotYetOpen));
        assert!(enforced.outside_window("art27", day(4, 1)).is_none(), "DL 18/2020's opened on 1 April 2020");
        let after = enforced.outside_window("art84c2", day(12, 1)).unwrap();
        assert_eq!((after.decree.decree().id(), after.side), ("dl34-2020", Outside::Closed));
        assert!(enforced.outside_window("art99", day(4, 1)).is_none());
    }

    #[test]
    fn ids_repeated_across_files_are_named_with_both_files() {
        let err = Decrees::from_files(&[("a.toml", DL18_2020), ("b.toml", DL18_2020)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.toml: decree 'dl18-2020' is already defined by a.toml; ids must be unique across every scheme file"
        );
        let renamed = DL18_2020.replacen("id = \"dl18-2020\"", "id = \"dl18-bis\"", 1);
        let err = Decrees::from_files(&[("a.toml", DL18_2020), ("b.toml", renamed.as_str())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.toml: scheme 'art27' is already defined by a.toml; ids must be unique across every scheme file"
        );
        let err = Decrees::from_files(&[("bad.toml", "[decree]\nid = 1")]).unwrap_err();
        assert!(err.to_string().starts_with("bad.toml: the scheme file does not have the expected shape"), "{err}");
        assert!(matches!(Decrees::from_files::<&str, &str>(&[]), Err(DecreesError::Empty)));
    }
}
