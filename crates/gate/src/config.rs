//! The gate's configuration: rooms (entry path, opening hours, capacity) and the proof of work. Read as plain
//! data ([`GateSettings`], e.g. the `[gate]` table of Sportello's TOML), then checked into a [`GateConfig`] with
//! every problem named by where it is.

use std::str::FromStr as _;

use chrono::{NaiveDateTime, NaiveTime, TimeDelta, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::capacity::Capacity;
pub use crate::invalid::Invalid;
use crate::pow::PowConfig;
use crate::schedule::{Schedule, WindowSpec};
use crate::token::RoomId;

/// Every problem found in a gate configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the gate configuration has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<Invalid>);

/// The gate's configuration as written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// The rooms, in a fixed order (a room's index is in its tokens: append, do not reorder).
    pub rooms: Vec<RoomSettings>,
    /// Proof of work.
    #[serde(default)]
    pub pow: PowConfig,
    /// How long a node reuses the operator's live settings (capacity, maintenance) before asking the shared state
    /// again, milliseconds. Default 1000.
    #[serde(default = "default_control_cache_ms")]
    pub control_cache_ms: u32,
}

fn default_control_cache_ms() -> u32 {
    1000
}

/// One room as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSettings {
    /// Short name, used in the shared state's keys and the operator's commands (`cittadini`).
    pub key: String,
    /// The entry path it guards (`/`, `/intermediari`); the longest matching path wins.
    pub path: String,
    /// IANA time zone of the windows. Default `Europe/Rome`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Minutes before each opening that the pre-queue takes arrivals; 0: no pre-queue.
    #[serde(default)]
    pub pre_queue_minutes: u32,
    /// When it is open.
    pub windows: Vec<WindowSettings>,
    /// Capacity until the operator changes it live.
    #[serde(default)]
    pub capacity: Capacity,
}

fn default_timezone() -> String {
    "Europe/Rome".to_owned()
}

/// One window as written: weekly (`days`, `opens`, `closes`) or dated (`from`, `until`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSettings {
    /// Weekly: the days, as `mon` … `sun`.
    pub days: Option<Vec<String>>,
    /// Weekly: opening time, `HH:MM`.
    pub opens: Option<String>,
    /// Weekly: closing time, `HH:MM`; `24:00` or absent for midnight; earlier than `opens` for the next day.
    pub closes: Option<String>,
    /// Dated: opening, `YYYY-MM-DDTHH:MM`.
    pub from: Option<String>,
    /// Dated: closing, `YYYY-MM-DDTHH:MM`; absent: open from then on.
    pub until: Option<String>,
}

/// A checked gate configuration.
#[derive(Clone, Debug)]
pub struct GateConfig {
    /// The rooms; `rooms[i].id == RoomId(i)`.
    pub rooms: Vec<Room>,
    /// Proof of work.
    pub pow: PowConfig,
    /// How long a node reuses the live settings.
    pub control_cache: TimeDelta,
}

/// A checked room.
#[derive(Clone, Debug)]
pub struct Room {
    /// Its index.
    pub id: RoomId,
    /// Its short name.
    pub key: String,
    /// The entry path it guards.
    pub path: String,
    /// Its opening hours.
    pub schedule: Schedule,
    /// Its configured capacity (the operator may override it live).
    pub capacity: Capacity,
}

impl GateSettings {
    /// Checks everything, reporting every problem with its place.
    pub fn validate(&self) -> Result<GateConfig, ConfigError> {
        let mut problems: Vec<Invalid> = Vec::new();
        if let Err(ps) = self.pow.validate() {
            problems.extend(ps.into_iter().map(|p| p.under("pow")));
        }
        if self.rooms.is_empty() {
            problems.push(Invalid::new("rooms", "no room is configured; add at least one [[gate.rooms]]".to_owned()));
        }
        if self.rooms.len() > 255 {
            problems.push(Invalid::new("rooms", format!("{} rooms; at most 255", self.rooms.len())));
        }
        let mut rooms = Vec::new();
        for (i, raw) in self.rooms.iter().enumerate() {
            let at = format!("rooms[{i}]");
            let id = RoomId(u8::try_from(i).unwrap_or(u8::MAX));
            match raw.validate(id, &self.rooms[..i]) {
                Ok(room) => rooms.push(room),
                Err(ps) => problems.extend(ps.into_iter().map(|p| p.under(&at))),
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(GateConfig {
            rooms,
            pow: self.pow.clone(),
            control_cache: TimeDelta::milliseconds(i64::from(self.control_cache_ms)),
        })
    }
}

impl RoomSettings {
    fn validate(&self, id: RoomId, earlier: &[RoomSettings]) -> Result<Room, Vec<Invalid>> {
        let mut problems = Vec::new();
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 32
            && self.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !key_ok {
            problems.push(Invalid::new("key", format!("{:?}: use 1 to 32 of a-z, 0-9, _ and -", self.key)));
        }
        if earlier.iter().any(|r| r.key == self.key) {
            problems.push(Invalid::new("key", format!("{:?} is used by an earlier room", self.key)));
        }
        if !self.path.starts_with('/') {
            problems.push(Invalid::new("path", format!("{:?} must start with /", self.path)));
        }
        if earlier.iter().any(|r| r.path == self.path) {
            problems.push(Invalid::new("path", format!("{:?} is guarded by an earlier room", self.path)));
        }
        let tz = match Tz::from_str(&self.timezone) {
            Ok(tz) => Some(tz),
            Err(_) => {
                problems.push(Invalid::new(
                    "timezone",
                    format!("{:?} is not an IANA time zone like Europe/Rome", self.timezone),
                ));
                None
            }
        };
        if self.windows.is_empty() {
            problems.push(Invalid::new("windows", "no window: the room would never open".to_owned()));
        }
        let mut windows = Vec::new();
        for (i, w) in self.windows.iter().enumerate() {
            match w.validate() {
                Ok(spec) => windows.push(spec),
                Err(ps) => problems.extend(ps.into_iter().map(|p| p.under(&format!("windows[{i}]")))),
            }
        }
        if let Err(ps) = self.capacity.validate() {
            problems.extend(ps.into_iter().map(|p| p.under("capacity")));
        }
        match tz {
            Some(tz) if problems.is_empty() => Ok(Room {
                id,
                key: self.key.clone(),
                path: self.path.clone(),
                schedule: Schedule {
                    tz,
                    windows,
                    pre_queue_lead: TimeDelta::minutes(i64::from(self.pre_queue_minutes)),
                },
                capacity: self.capacity,
            }),
            _ => Err(problems),
        }
    }
}

impl WindowSettings {
    fn validate(&self) -> Result<WindowSpec, Vec<Invalid>> {
        let weekly = self.days.is_some() || self.opens.is_some() || self.closes.is_some();
        let dated = self.from.is_some() || self.until.is_some();
        match (weekly, dated) {
            (true, false) => self.weekly(),
            (false, true) => self.dated(),
            _ => Err(vec![Invalid::new(
                "",
                "give either days, opens and closes (weekly) or from and until (dated)".to_owned(),
            )]),
        }
    }

    fn weekly(&self) -> Result<WindowSpec, Vec<Invalid>> {
        let mut problems = Vec::new();
        let mut days = Vec::new();
        match &self.days {
            None => problems.push(Invalid::new("days", "missing: list the days, e.g. [\"mon\", \"fri\"]".to_owned())),
            Some(list) if list.is_empty() => problems.push(Invalid::new("days", "empty".to_owned())),
            Some(list) => {
                for (i, d) in list.iter().enumerate() {
                    match d.parse::<Weekday>() {
                        Ok(day) => days.push(day),
                        Err(_) => problems
                            .push(Invalid::new(&format!("days[{i}]"), format!("{d:?} is not a day; use mon … sun"))),
                    }
                }
            }
        }
        let opens = match self.opens.as_deref().map(parse_time) {
            Some(Ok(Some(t))) => Some(t),
            Some(Ok(None)) => {
                problems.push(Invalid::new("opens", "24:00 cannot open a window; use 00:00".to_owned()));
                None
            }
            Some(Err(p)) => {
                problems.push(Invalid::new("opens", p));
                None
            }
            None => {
                problems.push(Invalid::new("opens", "missing: the opening time, HH:MM".to_owned()));
                None
            }
        };
        let closes = match self.closes.as_deref().map(parse_time) {
            Some(Ok(t)) => t,
            Some(Err(p)) => {
                problems.push(Invalid::new("closes", p));
                None
            }
            None => None,
        };
        match opens {
            Some(opens) if problems.is_empty() => Ok(WindowSpec::Weekly { days, opens, closes }),
            _ => Err(problems),
        }
    }

    fn dated(&self) -> Result<WindowSpec, Vec<Invalid>> {
        let mut problems = Vec::new();
        let opens = match self.from.as_deref().map(parse_local) {
            Some(Ok(t)) => Some(t),
            Some(Err(p)) => {
                problems.push(Invalid::new("from", p));
                None
            }
            None => {
                problems.push(Invalid::new("from", "missing: the opening, YYYY-MM-DDTHH:MM".to_owned()));
                None
            }
        };
        let closes = match self.until.as_deref().map(parse_local) {
            Some(Ok(t)) => Some(t),
            Some(Err(p)) => {
                problems.push(Invalid::new("until", p));
                None
            }
            None => None,
        };
        if let (Some(o), Some(c)) = (opens, closes)
            && c <= o
        {
            problems.push(Invalid::new("until", format!("{c} is not after from ({o})")));
        }
        match opens {
            Some(opens) if problems.is_empty() => Ok(WindowSpec::Dated { opens, closes }),
            _ => Err(problems),
        }
    }
}

/// `HH:MM`; `24:00` is `None` (midnight at the end of the day).
fn parse_time(s: &str) -> Result<Option<NaiveTime>, String> {
    if s == "24:00" {
        return Ok(None);
    }
    NaiveTime::parse_from_str(s, "%H:%M").map(Some).map_err(|_| format!("{s:?} is not a time HH:MM"))
}

fn parse_local(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .map_err(|_| format!("{s:?} is not a local date and time YYYY-MM-DDTHH:MM"))
}

impl GateConfig {
    /// The room guarding `path`: the one whose path is the longest prefix of it at a segment boundary.
    pub fn room_for_path(&self, path: &str) -> Option<&Room> {
        self.rooms
            .iter()
            .filter(|r| {
                let p = r.path.trim_end_matches('/');
                p.is_empty() || path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|r| r.path.len())
    }

    /// The room with index `id`.
    pub fn room(&self, id: RoomId) -> Option<&Room> {
        self.rooms.get(usize::from(id.0))
    }

    /// The room named `key`.
    pub fn room_by_key(&self, key: &str) -> Option<&Room> {
        self.rooms.iter().find(|r| r.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> GateSettings {
        toml::from_str(toml_text).unwrap()
    }

    const FIRST_OF_APRIL: &str = r#"
        [[rooms]]
        key = "cittadini"
        path = "/"
        pre_queue_minutes = 60
        windows = [{ from = "2020-04-01T16:00" }]

        [[rooms]]
        key = "intermediari"
        path = "/intermediari"
        pre_queue_minutes = 60
        windows = [{ days = ["mon", "tue", "wed", "thu", "fri"], opens = "08:00", closes = "16:00" }]
        capacity = { admit_per_sec = 20, burst = 50, max_active = 1000, pass_ttl_secs = 1200, claim_grace_secs = 60, refresh_interval_secs = 15, ticket_ttl_secs = 60 }
    "#;

    #[test]
    fn the_first_of_april_configuration_reads() {
        let config = settings(FIRST_OF_APRIL).validate().unwrap();
        assert_eq!(config.rooms.len(), 2);
        assert_eq!(config.rooms[1].capacity.admit_per_sec, 20);
        assert_eq!(config.room_for_path("/").unwrap().key, "cittadini");
        assert_eq!(config.room_for_path("/domanda/nuova").unwrap().key, "cittadini");
        assert_eq!(config.room_for_path("/intermediari").unwrap().key, "intermediari");
        assert_eq!(config.room_for_path("/intermediari/pratiche").unwrap().key, "intermediari");
        assert_eq!(config.room_for_path("/intermediarix").unwrap().key, "cittadini");
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let bad = r#"
            [pow]
            min_bits = 30
            max_bits = 20

            [[rooms]]
            key = "Cittadini"
            path = "cittadini"
            timezone = "Europe/Roma"
            windows = [{ days = ["mon", "someday"], opens = "8", closes = "16:00" }, { from = "2020-04-01T16:00", until = "2020-04-01T15:00" }, { from = "2020-04-01T16:00", opens = "08:00" }]
            capacity = { admit_per_sec = 0, burst = 1, max_active = 1, pass_ttl_secs = 600, claim_grace_secs = 60, refresh_interval_secs = 15, ticket_ttl_secs = 60 }
        "#;
        let err = settings(bad).validate().unwrap_err();
        let places: Vec<&str> = err.0.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            places,
            [
                "pow.min_bits",
                "rooms[0].key",
                "rooms[0].path",
                "rooms[0].timezone",
                "rooms[0].windows[0].days[1]",
                "rooms[0].windows[0].opens",
                "rooms[0].windows[1].until",
                "rooms[0].windows[2]",
                "rooms[0].capacity.admit_per_sec",
            ]
        );
        assert!(err.to_string().contains("rooms[0].timezone: \"Europe/Roma\" is not an IANA time zone"), "{err}");
    }
}
