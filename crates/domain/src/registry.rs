//! The institute's registry as Sportello sees it: one [`Position`] per row of the extract
//! (`docs/specs/registry-extract.md`), and the rules that make a row valid.
//!
//! A person is the set of positions with the same codice fiscale; eligibility is decided from those alone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Cents, CodiceFiscale, Date};

/// The header an extract must start with, columns in this order.
pub const HEADER: [&str; 8] = ["codice_fiscale", "position", "start", "end", "year", "days", "income_eur", "cessation"];

/// What a registry row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionKind {
    /// Libero professionista with partita IVA enrolled in the Gestione separata (L. 335/1995 art. 2 c. 26).
    GestioneSeparataProfessionista,
    /// Collaboratore coordinato e continuativo enrolled in the Gestione separata.
    GestioneSeparataCococo,
    /// AGO special scheme: craftsman.
    Artigiano,
    /// AGO special scheme: trader.
    Commerciante,
    /// AGO special scheme: direct farmer.
    ColtivatoreDiretto,
    /// AGO special scheme: colono.
    Colono,
    /// AGO special scheme: mezzadro.
    Mezzadro,
    /// Seasonal employment in tourism.
    StagionaleTurismo,
    /// Seasonal employment in thermal establishments.
    StagionaleTermale,
    /// Fixed-term agricultural worker: days of work in a year.
    OperaioAgricoloTd,
    /// Enrolment in the Fondo pensioni lavoratori dello spettacolo: daily contributions and income in a year.
    SpettacoloFpls,
    /// Any employment relationship.
    LavoroDipendente,
    /// Holder of a pension.
    Pensione,
    /// Recipient of reddito di cittadinanza.
    RedditoCittadinanza,
    /// Enrolled in another compulsory pension scheme (e.g. a cassa privata).
    AltraPrevidenzaObbligatoria,
}

/// Which optional columns a kind of position uses; the others must be empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `start` (required) and `end`.
    Period,
    /// `start` (required), `end` and `cessation`.
    SeasonalPeriod,
    /// `year` and `days` (required).
    YearDays,
    /// `year`, `days` and `income_eur` (required).
    YearDaysIncome,
}

impl PositionKind {
    /// Every kind, in the order of the specification.
    pub const ALL: [PositionKind; 15] = [
        Self::GestioneSeparataProfessionista,
        Self::GestioneSeparataCococo,
        Self::Artigiano,
        Self::Commerciante,
        Self::ColtivatoreDiretto,
        Self::Colono,
        Self::Mezzadro,
        Self::StagionaleTurismo,
        Self::StagionaleTermale,
        Self::OperaioAgricoloTd,
        Self::SpettacoloFpls,
        Self::LavoroDipendente,
        Self::Pensione,
        Self::RedditoCittadinanza,
        Self::AltraPrevidenzaObbligatoria,
    ];

    /// The name used in the extract.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::GestioneSeparataProfessionista => "gestione_separata_professionista",
            Self::GestioneSeparataCococo => "gestione_separata_cococo",
            Self::Artigiano => "artigiano",
            Self::Commerciante => "commerciante",
            Self::ColtivatoreDiretto => "coltivatore_diretto",
            Self::Colono => "colono",
            Self::Mezzadro => "mezzadro",
            Self::StagionaleTurismo => "stagionale_turismo",
            Self::StagionaleTermale => "stagionale_termale",
            Self::OperaioAgricoloTd => "operaio_agricolo_td",
            Self::SpettacoloFpls => "spettacolo_fpls",
            Self::LavoroDipendente => "lavoro_dipendente",
            Self::Pensione => "pensione",
            Self::RedditoCittadinanza => "reddito_cittadinanza",
            Self::AltraPrevidenzaObbligatoria => "altra_previdenza_obbligatoria",
        }
    }

    /// Which columns the kind uses.
    pub const fn shape(self) -> Shape {
        match self {
            Self::StagionaleTurismo | Self::StagionaleTermale => Shape::SeasonalPeriod,
            Self::OperaioAgricoloTd => Shape::YearDays,
            Self::SpettacoloFpls => Shape::YearDaysIncome,
            _ => Shape::Period,
        }
    }

    /// An AGO special scheme for the self-employed (art. 28).
    pub const fn is_ago_special(self) -> bool {
        matches!(self, Self::Artigiano | Self::Commerciante | Self::ColtivatoreDiretto | Self::Colono | Self::Mezzadro)
    }

    /// Enrolment in the Gestione separata (art. 27).
    pub const fn is_gestione_separata(self) -> bool {
        matches!(self, Self::GestioneSeparataProfessionista | Self::GestioneSeparataCococo)
    }

    /// Seasonal employment in tourism or thermal establishments (art. 29).
    pub const fn is_seasonal(self) -> bool {
        matches!(self, Self::StagionaleTurismo | Self::StagionaleTermale)
    }
}

impl fmt::Display for PositionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PositionKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

/// How a seasonal employment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cessation {
    /// Ended against the worker's will (end of season, dismissal).
    Involuntary,
    /// Ended by the worker (resignation).
    Voluntary,
}

impl Cessation {
    /// The name used in the extract.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Involuntary => "involuntary",
            Self::Voluntary => "voluntary",
        }
    }
}

/// One position a person holds or held, validated against the specification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// What the position is.
    pub kind: PositionKind,
    /// When it began.
    pub start: Option<Date>,
    /// When it ended; `None` while still open.
    pub end: Option<Date>,
    /// Reference year of yearly figures.
    pub year: Option<i32>,
    /// Days of work or daily contributions in `year`.
    pub days: Option<u32>,
    /// Income of `year`.
    pub income: Option<Cents>,
    /// How a seasonal employment ended.
    pub cessation: Option<Cessation>,
}

impl Position {
    /// A position with a period and nothing else, e.g. a pension from `start`, still open when `end` is `None`.
    pub fn period(kind: PositionKind, start: Date, end: Option<Date>) -> Self {
        Self { kind, start: Some(start), end, year: None, days: None, income: None, cessation: None }
    }

    /// Whether the position covers `day` (both ends included; an open end covers every later day).
    pub fn active_on(&self, day: Date) -> bool {
        self.start.is_some_and(|s| s <= day) && self.end.is_none_or(|e| e >= day)
    }

    /// The row's cells in the extract's column order, from `position` on (without the codice fiscale).
    pub fn to_cells(&self) -> [String; 7] {
        let opt = |v: Option<String>| v.unwrap_or_default();
        [
            self.kind.as_str().to_owned(),
            opt(self.start.map(|d| d.to_string())),
            opt(self.end.map(|d| d.to_string())),
            opt(self.year.map(|y| y.to_string())),
            opt(self.days.map(|d| d.to_string())),
            opt(self.income.map(|c| c.to_string())),
            opt(self.cessation.map(|c| c.as_str().to_owned())),
        ]
    }
}

/// A valid row of the extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    /// Whose position it is.
    pub codice_fiscale: CodiceFiscale,
    /// The position.
    pub position: Position,
}

/// One thing wrong with a row: which column (1-based, with its name) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// 1-based column number.
    pub column: usize,
    /// Why the cell is wrong, in words that say what to write instead.
    pub reason: String,
    /// The header of the file the row belongs to (the extract's [`HEADER`], or the persons file's), which names the
    /// column.
    pub header: &'static [&'static str],
}

impl CellError {
    /// An error in column `column` (1-based) of a registry extract's row.
    pub fn new(column: usize, reason: impl Into<String>) -> Self {
        Self::in_file(&HEADER, column, reason)
    }

    /// An error in column `column` (1-based) of a row of a file whose header is `header`.
    pub fn in_file(header: &'static [&'static str], column: usize, reason: impl Into<String>) -> Self {
        Self { column, reason: reason.into(), header }
    }

    /// The column's name in the header.
    pub fn column_name(&self) -> &'static str {
        self.column.checked_sub(1).and_then(|i| self.header.get(i)).copied().unwrap_or("(extra column)")
    }
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {} ({}): {}", self.column, self.column_name(), self.reason)
    }
}

/// Checks the header row; the error names the first column that differs.
pub fn check_header<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<(), CellError> {
    check_header_of(&HEADER, cells)
}

/// Checks the header row of a file whose header must be `header`; the error names the first column that differs.
pub fn check_header_of<'a>(
    header: &'static [&'static str],
    cells: impl IntoIterator<Item = &'a str>,
) -> Result<(), CellError> {
    let cells: Vec<&str> = cells.into_iter().collect();
    // A spreadsheet set to Italian saves "CSV" separated by semicolons: the whole header then reads as one cell.
    if cells.len() == 1 && cells[0].contains(';') {
        return Err(CellError::in_file(
            header,
            1,
            "the file is separated by semicolons; the specification's CSV is separated by commas: save it again as \
             comma-separated CSV (UTF-8)"
                .to_owned(),
        ));
    }
    for (i, expected) in header.iter().enumerate() {
        match cells.get(i) {
            // A UTF-8 byte-order mark before the first name is tolerated.
            Some(found) if found.trim_start_matches('\u{feff}') == *expected => {}
            Some(found) => {
                return Err(CellError::in_file(
                    header,
                    i + 1,
                    format!("the header must name '{expected}' here, found '{found}'"),
                ));
            }
            None => {
                return Err(CellError::in_file(header, i + 1, format!("the header is missing column '{expected}'")));
            }
        }
    }
    if cells.len() > header.len() {
        return Err(CellError::in_file(
            header,
            header.len() + 1,
            format!("the header has more than the {} columns of the specification", header.len()),
        ));
    }
    Ok(())
}

/// Validates one data row (its cells, in header order) and returns every problem found, not just the first.
pub fn parse_row<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<RegistryRow, Vec<CellError>> {
    let cells: Vec<&str> = cells.into_iter().collect();
    let mut errors = Vec::new();
    if cells.len() != HEADER.len() {
        errors.push(CellError::new(
            cells.len().min(HEADER.len()) + 1,
            format!("a row has 8 cells, this one has {}", cells.len()),
        ));
        return Err(errors);
    }

    let codice_fiscale = CodiceFiscale::parse(cells[0]).map_err(|e| errors.push(CellError::new(1, e.to_string()))).ok();
    let Ok(kind) = cells[1].parse::<PositionKind>() else {
        let kinds: Vec<&str> = PositionKind::ALL.iter().map(|k| k.as_str()).collect();
        errors.push(CellError::new(
            2,
            format!(
                "'{}' is not a kind of position of the specification; the kinds are {}",
                cells[1],
                kinds.join(", ")
            ),
        ));
        return Err(errors);
    };

    let date = |col: usize, errors: &mut Vec<CellError>| -> Option<Date> {
        let s = cells[col - 1];
        if s.is_empty() {
            return None;
        }
        Date::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| errors.push(CellError::new(col, format!("'{s}' is not a date in the form 2020-02-23"))))
            .ok()
    };
    let integer = |col: usize, errors: &mut Vec<CellError>| -> Option<u32> {
        let s = cells[col - 1];
        if s.is_empty() {
            return None;
        }
        s.parse::<u32>().map_err(|_| errors.push(CellError::new(col, format!("'{s}' is not a whole number ≥ 0")))).ok()
    };
    let must_be_empty = |cols: &[usize], errors: &mut Vec<CellError>| {
        for &col in cols {
            if !cells[col - 1].is_empty() {
                errors.push(CellError::new(
                    col,
                    format!("must be empty for a '{kind}' position (found '{}')", cells[col - 1]),
                ));
            }
        }
    };
    let required = |col: usize, present: bool, errors: &mut Vec<CellError>| {
        if !present && cells[col - 1].is_empty() {
            errors.push(CellError::new(col, format!("is required for a '{kind}' position")));
        }
    };

    let mut position = Position { kind, start: None, end: None, year: None, days: None, income: None, cessation: None };
    match kind.shape() {
        Shape::Period | Shape::SeasonalPeriod => {
            position.start = date(3, &mut errors);
            required(3, position.start.is_some(), &mut errors);
            position.end = date(4, &mut errors);
            if let (Some(s), Some(e)) = (position.start, position.end)
                && e < s
            {
                errors.push(CellError::new(4, format!("the end {e} is before the start {s}")));
            }
            must_be_empty(&[5, 6, 7], &mut errors);
            if kind.shape() == Shape::SeasonalPeriod {
                position.cessation = match cells[7] {
                    "" => None,
                    "involuntary" => Some(Cessation::Involuntary),
                    "voluntary" => Some(Cessation::Voluntary),
                    other => {
                        errors.push(CellError::new(
                            8,
                            format!("'{other}' is not a cessation: write involuntary, voluntary or nothing"),
                        ));
                        None
                    }
                };
            } else {
                must_be_empty(&[8], &mut errors);
            }
        }
        Shape::YearDays | Shape::YearDaysIncome => {
            must_be_empty(&[3, 4, 8], &mut errors);
            let year = integer(5, &mut errors);
            required(5, year.is_some(), &mut errors);
            position.year = year.and_then(|y| i32::try_from(y).ok());
            position.days = integer(6, &mut errors);
            required(6, position.days.is_some(), &mut errors);
            if kind.shape() == Shape::YearDaysIncome {
                let s = cells[6];
                if !s.is_empty() {
                    position.income = Cents::parse(s).map_err(|e| errors.push(CellError::new(7, e.to_string()))).ok();
                }
                required(7, position.income.is_some(), &mut errors);
            } else {
                must_be_empty(&[7], &mut errors);
            }
        }
    }

    match codice_fiscale {
        Some(codice_fiscale) if errors.is_empty() => Ok(RegistryRow { codice_fiscale, position }),
        _ => {
            errors.sort_by_key(|e| e.column);
            errors.dedup();
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str) -> Result<RegistryRow, Vec<CellError>> {
        parse_row(line.split(','))
    }

    fn columns(line: &str) -> Vec<usize> {
        row(line).unwrap_err().into_iter().map(|e| e.column).collect()
    }

    #[test]
    fn the_specification_example_is_valid() {
        let r = row("RSSMRA80A01H501U,gestione_separata_professionista,2015-06-01,,,,,").unwrap();
        assert_eq!(r.position.start, Date::from_ymd_opt(2015, 6, 1));
        assert_eq!(r.position.end, None);
        let r = row("MRTMRA83T56A269B,stagionale_turismo,2019-06-01,2019-09-30,,,,involuntary").unwrap();
        assert_eq!(r.position.cessation, Some(Cessation::Involuntary));
        let r = row("MRTMRA83T56A269B,operaio_agricolo_td,,,2019,62,,").unwrap();
        assert_eq!((r.position.year, r.position.days), (Some(2019), Some(62)));
        let r = row("mrtmra83t56a269b,spettacolo_fpls,,,2019,30,50000.00,").unwrap();
        assert_eq!(r.position.income, Some(Cents::from_euros(50_000)));
        assert_eq!(r.codice_fiscale.as_str(), "MRTMRA83T56A269B");
    }

    #[test]
    fn header_must_match_exactly() {
        assert!(check_header(HEADER).is_ok());
        assert!(
            check_header([
                "\u{feff}codice_fiscale",
                "position",
                "start",
                "end",
                "year",
                "days",
                "income_eur",
                "cessation"
            ])
            .is_ok()
        );
        let err = check_header(["codice_fiscale", "kind", "start", "end", "year", "days", "income_eur", "cessation"])
            .unwrap_err();
        assert_eq!(err.column, 2);
        assert_eq!(check_header(HEADER[..7].iter().copied()).unwrap_err().column, 8);
    }

    #[test]
    fn every_error_of_a_row_is_reported_with_its_column() {
        assert_eq!(columns("RSSMRA80A01H501X,pensione,2020-13-01,,2019,,,"), vec![1, 3, 5]);
        assert_eq!(columns("RSSMRA80A01H501U,pensione,2020-03-01,2020-02-01,,,,"), vec![4]);
        assert_eq!(columns("RSSMRA80A01H501U,stagionale_termale,2019-06-01,,,,,maybe"), vec![8]);
        assert_eq!(columns("RSSMRA80A01H501U,operaio_agricolo_td,2019-01-01,,,-3,,"), vec![3, 5, 6]);
        assert_eq!(columns("RSSMRA80A01H501U,spettacolo_fpls,,,2019,30,50000.001,"), vec![7]);
        assert_eq!(columns("RSSMRA80A01H501U,spettacolo_fpls,,,2019,30,,"), vec![7]);
        assert_eq!(columns("RSSMRA80A01H501U,pensione,,,,,,"), vec![3]);
        assert_eq!(columns("RSSMRA80A01H501U,astronauta,,,,,,"), vec![2]);
        assert_eq!(columns("RSSMRA80A01H501U,pensione,2020-01-01"), vec![4]);
    }

    #[test]
    fn messages_say_what_to_write() {
        let errs = row("RSSMRA80A01H501U,artigiano,2019-01-01,,2019,,,").unwrap_err();
        assert_eq!(errs[0].to_string(), "column 5 (year): must be empty for a 'artigiano' position (found '2019')");
    }

    #[test]
    fn cells_round_trip() {
        let r = row("MRTMRA83T56A269B,spettacolo_fpls,,,2019,30,50000.01,").unwrap();
        let cells = r.position.to_cells();
        let line = format!("{},{}", r.codice_fiscale, cells.join(","));
        assert_eq!(row(&line).unwrap(), r);
    }

    #[test]
    fn active_on_includes_both_ends() {
        let d = |m, day| Date::from_ymd_opt(2020, m, day).unwrap();
        let p = Position::period(PositionKind::LavoroDipendente, d(2, 23), Some(d(3, 17)));
        assert!(!p.active_on(d(2, 22)));
        assert!(p.active_on(d(2, 23)) && p.active_on(d(3, 17)));
        assert!(!p.active_on(d(3, 18)));
        assert!(Position::period(PositionKind::Pensione, d(1, 1), None).active_on(d(12, 31)));
    }
}
