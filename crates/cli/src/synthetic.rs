//! A synthetic registry extract for the demo, the tests and the benchmarks: deterministic for a seed, valid by the
//! specification, with a realistic mix of the five categories, every kind of exclusion and people with several
//! positions; and the persons file of the same people (names, residence, contacts, a third of them with no contact
//! on file).
//!
//! Birthplaces are real: Belfiore (cadastral) codes of Italian municipalities and of foreign countries, so that a
//! generated codice fiscale decodes with the usual tools to a date, a sex and a place. The name letters of a code
//! are not derived from the generated names (they number the people, which keeps codes unique).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sportello_domain::registry::{Cessation, HEADER, Position, PositionKind};
use sportello_domain::{Cents, CodiceFiscale};

/// The kinds of people the generator makes, each with the decision the law should give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Partita IVA in the Gestione separata, active on 23 Feb 2020: art. 27.
    Professionista,
    /// Co.co.co. in the Gestione separata, active on 23 Feb 2020: art. 27.
    Cococo,
    /// Enrolled in an AGO special scheme: art. 28.
    Autonomo,
    /// AGO special scheme and Gestione separata at once: still art. 28.
    AutonomoConGestioneSeparata,
    /// Seasonal worker in tourism or spas, ended involuntarily in the window: art. 29.
    Stagionale,
    /// Fixed-term farm worker with at least 50 days in 2019: art. 30.
    Agricolo,
    /// Entertainment worker with ≥ 30 contributions and income ≤ 50,000 € in 2019: art. 38.
    Spettacolo,
    /// Seasonal in the window and farm worker: eligible for two, one only can be granted (art. 31).
    StagionaleEAgricolo,
    /// Partita IVA opened after 23 Feb 2020: not art. 27.
    ProfessionistaTardivo,
    /// Gestione separata but holding a pension on 17 Mar 2020.
    Pensionato,
    /// An AGO scheme but receiving reddito di cittadinanza (art. 31).
    PercettoreRdc,
    /// Co.co.co. also employed on 17 Mar 2020 (another compulsory scheme).
    CococoDipendente,
    /// Seasonal employment that ended by resignation.
    StagionaleDimesso,
    /// Seasonal employment that ended before 2019.
    StagionaleScaduto,
    /// Seasonal worker employed again on 17 Mar 2020.
    StagionaleOccupato,
    /// Farm worker with fewer than 50 days in 2019.
    AgricoloSottoSoglia,
    /// Entertainment worker with fewer than 30 contributions in 2019.
    SpettacoloPocheGiornate,
    /// Entertainment worker with income above 50,000 € in 2019.
    SpettacoloRedditoAlto,
    /// Enrolled only in a cassa privata: pointed to their own fund (art. 44).
    CassaPrivata,
    /// An ordinary employee: none of the indemnities.
    Dipendente,
}

impl Profile {
    /// Profiles with their weight in a thousand people: eligible categories roughly as the 2020 applications were
    /// spread, plus a generous share of every exclusion so that tests and the demo meet each of them.
    pub const MIX: [(Profile, u32); 20] = [
        (Profile::Professionista, 70),
        (Profile::Cococo, 30),
        (Profile::Autonomo, 330),
        (Profile::AutonomoConGestioneSeparata, 20),
        (Profile::Stagionale, 60),
        (Profile::Agricolo, 100),
        (Profile::Spettacolo, 20),
        (Profile::StagionaleEAgricolo, 20),
        (Profile::ProfessionistaTardivo, 20),
        (Profile::Pensionato, 30),
        (Profile::PercettoreRdc, 30),
        (Profile::CococoDipendente, 20),
        (Profile::StagionaleDimesso, 15),
        (Profile::StagionaleScaduto, 15),
        (Profile::StagionaleOccupato, 15),
        (Profile::AgricoloSottoSoglia, 40),
        (Profile::SpettacoloPocheGiornate, 15),
        (Profile::SpettacoloRedditoAlto, 10),
        (Profile::CassaPrivata, 40),
        (Profile::Dipendente, 100),
    ];

    /// The scheme ids this profile is entitled to under DL 18/2020.
    pub fn entitled(self) -> &'static [&'static str] {
        match self {
            Profile::Professionista | Profile::Cococo => &["art27"],
            Profile::Autonomo | Profile::AutonomoConGestioneSeparata => &["art28"],
            Profile::Stagionale => &["art29"],
            Profile::Agricolo => &["art30"],
            Profile::Spettacolo => &["art38"],
            Profile::StagionaleEAgricolo => &["art29", "art30"],
            _ => &[],
        }
    }
}

/// One generated person.
#[derive(Debug, Clone)]
pub struct Person {
    /// The person's codice fiscale (some omocodic).
    pub codice_fiscale: CodiceFiscale,
    /// Which kind of person it is.
    pub profile: Profile,
    /// The registry positions.
    pub positions: Vec<Position>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// A day uniformly drawn between two dates, both included.
fn day_between(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + chrono::Duration::days(rng.random_range(0..=span))
}

/// The generator: person `i` of a seed is always the same person.
pub struct Generator {
    rng: ChaCha8Rng,
    next: u64,
    total_weight: u32,
}

/// Letters for months, as in the codice fiscale.
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
/// Letters replacing digits in omocodic codes.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

impl Generator {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed), next: 0, total_weight: Profile::MIX.iter().map(|p| p.1).sum() }
    }

    /// A codice fiscale unique to index `i`: the six name letters encode a scrambled `i`, so no two people of one
    /// file share a code; about one in fifty is omocodic.
    fn codice_fiscale(&mut self, i: u64) -> CodiceFiscale {
        const SPACE: u64 = 26u64.pow(6);
        // An odd multiplier not divisible by 13 is a bijection modulo 26^6.
        let mut n = (i.wrapping_mul(0x9E37_79B1) + 12_345) % SPACE;
        let mut letters = [b'A'; 6];
        for l in letters.iter_mut().rev() {
            *l = b'A' + (n % 26) as u8;
            n /= 26;
        }
        let year = self.rng.random_range(40..100u32);
        let month = MONTHS[self.rng.random_range(0..12usize)];
        let day = self.rng.random_range(1..=28u32) + if self.rng.random_bool(0.5) { 40 } else { 0 };
        // Two draws, as before real places were used, so that a seed still gives the same people and positions.
        let region = self.rng.random_range(0..12usize) as u64;
        let place = birthplace(region * 999 + u64::from(self.rng.random_range(1..1000u32)));
        let mut code = format!(
            "{}{year:02}{}{day:02}{place}",
            std::str::from_utf8(&letters).unwrap_or("XXXXXX"),
            char::from(month),
        )
        .into_bytes();
        if self.rng.random_bool(0.02) {
            // Omocodia replaces digits from the right: 14, 13, 12, 10, 9, 7, 6 (zero-based).
            let level = self.rng.random_range(1..=3usize);
            for &pos in [14usize, 13, 12].iter().take(level) {
                code[pos] = OMOCODIA[usize::from(code[pos] - b'0')];
            }
        }
        let first15 = String::from_utf8(code).unwrap_or_default();
        CodiceFiscale::with_check_character(&first15).unwrap_or_else(|e| unreachable!("generated {first15}: {e}"))
    }

    fn pick_profile(&mut self) -> Profile {
        let mut roll = self.rng.random_range(0..self.total_weight);
        for (profile, weight) in Profile::MIX {
            if roll < weight {
                return profile;
            }
            roll -= weight;
        }
        Profile::Dipendente
    }

    /// The next person.
    pub fn person(&mut self) -> Person {
        let i = self.next;
        self.next += 1;
        let codice_fiscale = self.codice_fiscale(i);
        let profile = self.pick_profile();
        let positions = self.positions(profile);
        Person { codice_fiscale, profile, positions }
    }

    fn positions(&mut self, profile: Profile) -> Vec<Position> {
        use PositionKind as K;
        let rng = &mut self.rng;
        let ref_day = date(2020, 2, 23);
        let before = |rng: &mut ChaCha8Rng| day_between(rng, date(1995, 1, 1), ref_day);
        let ago = [K::Artigiano, K::Commerciante, K::ColtivatoreDiretto, K::Colono, K::Mezzadro];
        let seasonal = |rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate, cessation: Cessation| {
            let end = day_between(rng, from, to);
            let kind = if rng.random_bool(0.8) { K::StagionaleTurismo } else { K::StagionaleTermale };
            Position {
                start: Some(end - chrono::Duration::days(rng.random_range(60..200))),
                end: Some(end),
                cessation: Some(cessation),
                ..Position::period(kind, end, None)
            }
        };
        let yearly = |kind, days, income| Position {
            kind,
            start: None,
            end: None,
            year: Some(2019),
            days: Some(days),
            income,
            cessation: None,
        };
        let farm = |rng: &mut ChaCha8Rng, days: std::ops::RangeInclusive<u32>| {
            yearly(K::OperaioAgricoloTd, rng.random_range(days), None)
        };
        let fpls = |rng: &mut ChaCha8Rng, days: std::ops::RangeInclusive<u32>, euros: std::ops::RangeInclusive<i64>| {
            let days = rng.random_range(days);
            yearly(K::SpettacoloFpls, days, Some(Cents::new(rng.random_range(euros) * 100 + rng.random_range(0..100))))
        };
        let in_window = (date(2019, 1, 1), date(2020, 3, 17));
        let mut positions = match profile {
            Profile::Professionista => vec![Position::period(K::GestioneSeparataProfessionista, before(rng), None)],
            Profile::Cococo => vec![Position::period(K::GestioneSeparataCococo, before(rng), None)],
            Profile::Autonomo => vec![Position::period(ago[rng.random_range(0..ago.len())], before(rng), None)],
            Profile::AutonomoConGestioneSeparata => vec![
                Position::period(ago[rng.random_range(0..2)], before(rng), None),
                Position::period(K::GestioneSeparataProfessionista, before(rng), None),
            ],
            Profile::Stagionale => vec![seasonal(rng, in_window.0, in_window.1, Cessation::Involuntary)],
            Profile::Agricolo => vec![farm(rng, 50..=180)],
            Profile::Spettacolo => vec![fpls(rng, 30..=200, 3_000..=50_000)],
            Profile::StagionaleEAgricolo => {
                vec![seasonal(rng, in_window.0, in_window.1, Cessation::Involuntary), farm(rng, 50..=120)]
            }
            Profile::ProfessionistaTardivo => vec![Position::period(
                K::GestioneSeparataProfessionista,
                day_between(rng, date(2020, 2, 24), date(2020, 3, 31)),
                None,
            )],
            Profile::Pensionato => vec![
                Position::period(K::GestioneSeparataProfessionista, before(rng), None),
                Position::period(K::Pensione, day_between(rng, date(2005, 1, 1), date(2020, 3, 17)), None),
            ],
            Profile::PercettoreRdc => vec![
                Position::period(ago[rng.random_range(0..ago.len())], before(rng), None),
                Position::period(K::RedditoCittadinanza, day_between(rng, date(2019, 4, 1), date(2020, 3, 1)), None),
            ],
            Profile::CococoDipendente => vec![
                Position::period(K::GestioneSeparataCococo, before(rng), None),
                Position::period(K::LavoroDipendente, before(rng), None),
            ],
            Profile::StagionaleDimesso => vec![seasonal(rng, in_window.0, in_window.1, Cessation::Voluntary)],
            Profile::StagionaleScaduto => {
                vec![seasonal(rng, date(2016, 1, 1), date(2018, 12, 31), Cessation::Involuntary)]
            }
            Profile::StagionaleOccupato => vec![
                seasonal(rng, in_window.0, date(2019, 12, 31), Cessation::Involuntary),
                Position::period(K::LavoroDipendente, day_between(rng, date(2020, 1, 1), date(2020, 3, 17)), None),
            ],
            Profile::AgricoloSottoSoglia => vec![farm(rng, 1..=49)],
            Profile::SpettacoloPocheGiornate => vec![fpls(rng, 1..=29, 1_000..=30_000)],
            Profile::SpettacoloRedditoAlto => vec![fpls(rng, 30..=250, 50_001..=400_000)],
            Profile::CassaPrivata => vec![Position::period(K::AltraPrevidenzaObbligatoria, before(rng), None)],
            Profile::Dipendente => vec![Position::period(K::LavoroDipendente, before(rng), None)],
        };
        // A past job, long closed, gives many people a history that must not change their decision.
        if rng.random_bool(0.3) {
            let start = day_between(rng, date(1985, 1, 1), date(2005, 12, 31));
            let end = day_between(rng, start, date(2010, 12, 31));
            positions.push(Position::period(K::LavoroDipendente, start, Some(end)));
        }
        positions
    }
}

/// Italian municipalities: Belfiore code, name, province, a postal code of theirs.
pub const MUNICIPALITIES: [(&str, &str, &str, &str); 28] = [
    ("H501", "Roma", "RM", "00185"),
    ("F205", "Milano", "MI", "20121"),
    ("F839", "Napoli", "NA", "80121"),
    ("L219", "Torino", "TO", "10121"),
    ("G273", "Palermo", "PA", "90121"),
    ("D969", "Genova", "GE", "16121"),
    ("A944", "Bologna", "BO", "40121"),
    ("D612", "Firenze", "FI", "50121"),
    ("A662", "Bari", "BA", "70121"),
    ("C351", "Catania", "CT", "95121"),
    ("L736", "Venezia", "VE", "30121"),
    ("L781", "Verona", "VR", "37121"),
    ("F158", "Messina", "ME", "98121"),
    ("G224", "Padova", "PD", "35121"),
    ("L424", "Trieste", "TS", "34121"),
    ("B157", "Brescia", "BS", "25121"),
    ("G337", "Parma", "PR", "43121"),
    ("F257", "Modena", "MO", "41121"),
    ("G478", "Perugia", "PG", "06121"),
    ("A271", "Ancona", "AN", "60121"),
    ("L049", "Taranto", "TA", "74121"),
    ("B354", "Cagliari", "CA", "09121"),
    ("E506", "Lecce", "LE", "73100"),
    ("G482", "Pescara", "PE", "65121"),
    ("L378", "Trento", "TN", "38121"),
    ("A794", "Bergamo", "BG", "24121"),
    ("G702", "Pisa", "PI", "56121"),
    ("E625", "Livorno", "LI", "57121"),
];

/// Foreign countries: Belfiore code and name.
pub const COUNTRIES: [(&str, &str); 12] = [
    ("Z404", "Stati Uniti d'America"),
    ("Z112", "Germania"),
    ("Z110", "Francia"),
    ("Z131", "Spagna"),
    ("Z114", "Regno Unito"),
    ("Z129", "Romania"),
    ("Z100", "Albania"),
    ("Z330", "Marocco"),
    ("Z600", "Argentina"),
    ("Z602", "Brasile"),
    ("Z210", "Cina"),
    ("Z133", "Svizzera"),
];

/// The birthplace code for a draw: one in eight born abroad, the others in an Italian municipality.
fn birthplace(draw: u64) -> &'static str {
    if draw % 8 == 7 {
        COUNTRIES[(draw / 8) as usize % COUNTRIES.len()].0
    } else {
        MUNICIPALITIES[draw as usize % MUNICIPALITIES.len()].0
    }
}

/// Writes a registry extract of `persons` people for `seed`; returns the number of rows written.
/// Each person's rows are adjacent except that their history row, when any, comes at the end of the file's next
/// block of people, so readers cannot rely on adjacency, as the specification warns.
pub fn write_extract<W: Write>(out: W, persons: u64, seed: u64) -> Result<u64, csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    let mut generator = Generator::new(seed);
    let mut rows = 0u64;
    let mut deferred: Vec<(CodiceFiscale, Position)> = Vec::new();
    for i in 0..persons {
        let mut person = generator.person();
        if person.positions.len() > 1
            && person.positions.last().is_some_and(is_history)
            && let Some(history) = person.positions.pop()
        {
            deferred.push((person.codice_fiscale, history));
        }
        for position in &person.positions {
            write_row(&mut writer, &person.codice_fiscale, position)?;
            rows += 1;
        }
        if i % 64 == 63 || i + 1 == persons {
            for (cf, position) in deferred.drain(..) {
                write_row(&mut writer, &cf, &position)?;
                rows += 1;
            }
        }
    }
    writer.flush()?;
    Ok(rows)
}

/// A past job closed before 2011, as the generator adds to some people.
fn is_history(position: &Position) -> bool {
    position.kind == PositionKind::LavoroDipendente && position.end.is_some_and(|e| e < date(2011, 1, 1))
}

fn write_row<W: Write>(writer: &mut csv::Writer<W>, cf: &CodiceFiscale, position: &Position) -> Result<(), csv::Error> {
    let cells = position.to_cells();
    writer.write_record(std::iter::once(cf.as_str()).chain(cells.iter().map(String::as_str)))
}

/// Where `registry generate` writes the persons file by default: beside the extract, named after it with `-persons`.
pub fn persons_path_beside(extract: &Path) -> PathBuf {
    let stem = extract.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "extract".to_owned());
    extract.with_file_name(format!("{stem}-persons.csv"))
}

/// Whether person `index` of a generated file has a contact on file: all but every third, so that the demo and the
/// tests meet people whose PIN requests are held until they confirm.
pub fn has_contact(index: u64) -> bool {
    index % 3 != 2
}

const MEN: [&str; 12] = [
    "Mario",
    "Giuseppe",
    "Luca",
    "Marco",
    "Francesco",
    "Antonio",
    "Giovanni",
    "Paolo",
    "Andrea",
    "Stefano",
    "Nicolò",
    "Salvatore",
];
const WOMEN: [&str; 12] =
    ["Maria", "Anna", "Giulia", "Francesca", "Chiara", "Sara", "Laura", "Elena", "Lucia", "Rosa", "Giovanna", "Paola"];
const SURNAMES: [&str; 16] = [
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno",
    "Gallo", "Conti", "De Luca", "D'Angelo", "Lombardi",
];
const STREETS: [&str; 8] = [
    "Via Roma",
    "Via Garibaldi",
    "Corso Italia",
    "Via Mazzini",
    "Piazza Cavour",
    "Via Verdi",
    "Viale della Repubblica",
    "Via Dante Alighieri",
];

/// Writes the persons file (`docs/specs/registry-persons.md`) of the people [`write_extract`] writes for `seed`:
/// names by the sex the code gives, the birth date it gives, a residence for nine in ten, and an e-mail address or
/// a mobile number (or both) for all but every third ([`has_contact`]). Returns how many have a contact.
pub fn write_persons<W: Write>(out: W, persons: u64, seed: u64) -> Result<u64, csv::Error> {
    use sportello_domain::persons::HEADER;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    let mut generator = Generator::new(seed);
    // A stream of its own: the registry's people stay the same whatever is drawn here.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7065_7273_6f6e_6531);
    let mut with_contact = 0;
    for index in 0..persons {
        let cf = generator.person().codice_fiscale;
        let (year, month, day, female) = cf.birth();
        let born = date(1900 + i32::from(year), u32::from(month), u32::from(day));
        let nome = if female { WOMEN[rng.random_range(0..WOMEN.len())] } else { MEN[rng.random_range(0..MEN.len())] };
        let cognome = SURNAMES[rng.random_range(0..SURNAMES.len())];
        let (indirizzo, cap, comune, provincia) = if rng.random_bool(0.9) {
            let (_, comune, provincia, cap) = MUNICIPALITIES[rng.random_range(0..MUNICIPALITIES.len())];
            let street = STREETS[rng.random_range(0..STREETS.len())];
            (format!("{street} {}", rng.random_range(1..200u32)), cap, comune, provincia)
        } else {
            (String::new(), "", "", "")
        };
        let (email, mobile) = if has_contact(index) {
            with_contact += 1;
            let local: String =
                format!("{nome}.{cognome}").to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
            let email = format!("{local}.{index}@example.it");
            let mobile = format!("+393{:02}{:07}", rng.random_range(20..100u32), rng.random_range(0..10_000_000u32));
            match rng.random_range(0..3u8) {
                0 => (email, String::new()),
                1 => (String::new(), mobile),
                _ => (email, mobile),
            }
        } else {
            (String::new(), String::new())
        };
        writer.write_record([
            cf.as_str(),
            cognome,
            nome,
            &born.format("%Y-%m-%d").to_string(),
            &indirizzo,
            cap,
            comune,
            provincia,
            &email,
            &mobile,
        ])?;
    }
    writer.flush()?;
    Ok(with_contact)
}

/// Writes the extract and the persons file of `persons` people for `seed`; returns the extract's rows and how many
/// people have a contact on file.
pub fn write_files(extract: &Path, persons_file: &Path, persons: u64, seed: u64) -> anyhow::Result<(u64, u64)> {
    use anyhow::Context as _;
    let create = |path: &Path| {
        std::fs::File::create(path)
            .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
            .with_context(|| format!("cannot create {}", path.display()))
    };
    let rows = write_extract(create(extract)?, persons, seed)
        .with_context(|| format!("cannot write {}", extract.display()))?;
    let contacts = write_persons(create(persons_file)?, persons, seed)
        .with_context(|| format!("cannot write {}", persons_file.display()))?;
    Ok((rows, contacts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_domain::registry::parse_row;
    use std::collections::HashSet;

    #[test]
    fn same_seed_same_file_other_seed_other_file() {
        let make = |seed| {
            let mut out = Vec::new();
            write_extract(&mut out, 300, seed).unwrap();
            out
        };
        assert_eq!(make(7), make(7));
        assert_ne!(make(7), make(8));
    }

    #[test]
    fn every_row_is_valid_and_codes_are_unique() {
        let mut out = Vec::new();
        let rows = write_extract(&mut out, 5_000, 1).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let mut people = HashSet::new();
        let mut omocodic = 0;
        let mut count = 0;
        for record in reader.records() {
            let record = record.unwrap();
            let row = parse_row(record.iter()).unwrap_or_else(|e| panic!("{record:?}: {e:?}"));
            if people.insert(row.codice_fiscale) && row.codice_fiscale.omocodia_level() > 0 {
                omocodic += 1;
            }
            count += 1;
        }
        assert_eq!(count, rows);
        assert_eq!(people.len(), 5_000, "one distinct code per person");
        assert!(omocodic > 20, "some codes are omocodic ({omocodic})");
        assert!(rows > 5_000, "some people hold several positions");
    }

    /// Every birthplace is a real code: a municipality's or a country's, with its digits where omocodia left them.
    #[test]
    fn birthplaces_are_real_belfiore_codes() {
        let known: HashSet<&str> = MUNICIPALITIES.iter().map(|m| m.0).chain(COUNTRIES.iter().map(|c| c.0)).collect();
        let mut generator = Generator::new(5);
        let mut abroad = 0;
        for _ in 0..2_000 {
            let cf = generator.person().codice_fiscale.base_form();
            let place = &cf.as_str()[11..15];
            assert!(known.contains(place), "{cf}: {place} is no known place");
            abroad += usize::from(place.starts_with('Z'));
        }
        assert!((100..500).contains(&abroad), "some born abroad, most in Italy ({abroad} of 2000)");
    }

    #[test]
    fn the_persons_file_is_valid_and_agrees_with_the_extract() {
        let mut extract = Vec::new();
        write_extract(&mut extract, 600, 9).unwrap();
        let in_extract: HashSet<String> =
            csv::Reader::from_reader(extract.as_slice()).records().map(|r| r.unwrap()[0].to_owned()).collect();
        let mut out = Vec::new();
        let with_contact = write_persons(&mut out, 600, 9).unwrap();
        assert_eq!(with_contact, 400, "all but every third");
        let mut reader = csv::Reader::from_reader(out.as_slice());
        assert!(sportello_domain::persons::check_header(reader.headers().unwrap().iter()).is_ok());
        let mut seen = HashSet::new();
        let (mut residences, mut contacts) = (0, 0);
        for record in reader.records() {
            let record = record.unwrap();
            let person =
                sportello_domain::persons::parse_row(record.iter()).unwrap_or_else(|e| panic!("{record:?}: {e:?}"));
            assert!(in_extract.contains(person.codice_fiscale.as_str()));
            assert!(seen.insert(person.codice_fiscale), "one record per person");
            residences += usize::from(person.residence.is_some());
            contacts += usize::from(person.has_contact());
        }
        assert_eq!((seen.len(), contacts), (600, 400));
        assert!((480..600).contains(&residences), "most have a residence ({residences})");
        let mut again = Vec::new();
        write_persons(&mut again, 600, 9).unwrap();
        assert_eq!(out, again, "the same seed gives the same file");
    }

    #[test]
    fn the_mix_has_every_profile() {
        let mut generator = Generator::new(3);
        let seen: HashSet<Profile> = (0..5_000).map(|_| generator.person().profile).collect();
        assert_eq!(seen.len(), Profile::MIX.len());
    }
}
