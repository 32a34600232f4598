//! Opening hours: each room has windows in local time (Europe/Rome by default), a pre-queue that opens some
//! minutes before each opening, and a maintenance mode the operator switches on with a message.

use chrono::{
    DateTime, Datelike as _, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone as _, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::token::WindowId;

/// When a room is open, in the room's local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowSpec {
    /// On the given weekdays from `opens` to `closes` (`None`: midnight; a `closes` not after `opens`: the next
    /// day, for overnight windows).
    Weekly {
        /// The days it opens on.
        days: Vec<Weekday>,
        /// Opening time.
        opens: NaiveTime,
        /// Closing time.
        closes: Option<NaiveTime>,
    },
    /// Once, from `opens` until `closes` (`None`: open from then on).
    Dated {
        /// Opening date and time.
        opens: NaiveDateTime,
        /// Closing date and time.
        closes: Option<NaiveDateTime>,
    },
}

/// A room's opening hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The time zone the windows are written in.
    pub tz: Tz,
    /// The windows; overlapping ones are allowed, the earliest-opened current one is the open window.
    pub windows: Vec<WindowSpec>,
    /// How long before an opening arrivals join the pre-queue; zero: no pre-queue.
    pub pre_queue_lead: TimeDelta,
}

/// One opening, as instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// It opens then.
    pub opens_at: DateTime<Utc>,
    /// It closes then, if ever.
    pub closes_at: Option<DateTime<Utc>>,
}

/// Where a room's schedule stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Open: arrivals queue first come, first served.
    Open {
        /// The open window.
        window: WindowId,
        /// When it closes, if ever.
        closes_at: Option<DateTime<Utc>>,
    },
    /// Closed, with the next opening's pre-queue taking arrivals.
    PreQueue {
        /// The window the pre-queue is for.
        window: WindowId,
        /// When it opens.
        opens_at: DateTime<Utc>,
    },
    /// Closed, pre-queue not yet open.
    Closed {
        /// The next opening, if any is scheduled.
        opens_at: Option<DateTime<Utc>>,
    },
}

/// The operator's maintenance message, in both of the portal's languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceMessage {
    /// In Italian.
    pub it: String,
    /// In English.
    pub en: String,
}

/// What a room shows a visitor right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RoomStatus {
    /// Closed; `pre_queue_open` when arrivals can already join the pre-queue for `opens_at`.
    Closed {
        /// The next opening, if any.
        opens_at: Option<DateTime<Utc>>,
        /// Arrivals join the pre-queue.
        pre_queue_open: bool,
    },
    /// Open.
    Open {
        /// When it closes, if ever.
        closes_at: Option<DateTime<Utc>>,
    },
    /// Closed by the operator.
    Maintenance {
        /// What the operator wants visitors to read.
        message: MaintenanceMessage,
    },
}

impl RoomStatus {
    /// The status for a schedule phase, unless maintenance overrides it.
    pub fn of(phase: Phase, maintenance: Option<&MaintenanceMessage>) -> Self {
        if let Some(message) = maintenance {
            return Self::Maintenance { message: message.clone() };
        }
        match phase {
            Phase::Open { closes_at, .. } => Self::Open { closes_at },
            Phase::PreQueue { opens_at, .. } => Self::Closed { opens_at: Some(opens_at), pre_queue_open: true },
            Phase::Closed { opens_at } => Self::Closed { opens_at, pre_queue_open: false },
        }
    }
}

impl Schedule {
    /// Where the schedule stands at `now`.
    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        let occurrences = self.occurrences_around(now);
        let current = occurrences
            .iter()
            .filter(|o| o.opens_at <= now && o.closes_at.is_none_or(|c| now < c))
            .min_by_key(|o| o.opens_at);
        if let Some(o) = current
            && let Some(window) = WindowId::opening_at(o.opens_at)
        {
            return Phase::Open { window, closes_at: o.closes_at };
        }
        let next = occurrences.iter().filter(|o| o.opens_at > now).map(|o| o.opens_at).min();
        match next {
            Some(opens_at) if self.pre_queue_lead > TimeDelta::zero() && now >= opens_at - self.pre_queue_lead => {
                match WindowId::opening_at(opens_at) {
                    Some(window) => Phase::PreQueue { window, opens_at },
                    None => Phase::Closed { opens_at: None },
                }
            }
            _ => Phase::Closed { opens_at: next },
        }
    }

    /// Every opening that can matter at `now`: all dated ones, and weekly ones from yesterday to a week ahead.
    pub fn occurrences_around(&self, now: DateTime<Utc>) -> Vec<Occurrence> {
        let today = now.with_timezone(&self.tz).date_naive();
        let mut out = Vec::new();
        for spec in &self.windows {
            match spec {
                WindowSpec::Dated { opens, closes } => out.push(Occurrence {
                    opens_at: local_to_utc(self.tz, *opens),
                    closes_at: closes.map(|c| local_to_utc(self.tz, c)),
                }),
                WindowSpec::Weekly { days, opens, closes } => {
                    for offset in -1..=7 {
                        let Some(day) = today.checked_add_signed(TimeDelta::days(offset)) else { continue };
                        if days.contains(&day.weekday()) {
                            out.push(weekly_occurrence(self.tz, day, *opens, *closes));
                        }
                    }
                }
            }
        }
        out
    }
}

fn weekly_occurrence(tz: Tz, day: NaiveDate, opens: NaiveTime, closes: Option<NaiveTime>) -> Occurrence {
    let next_day = day.succ_opt().unwrap_or(day);
    let closes_at = match closes {
        None => next_day.and_time(NaiveTime::MIN),
        Some(c) if c > opens => day.and_time(c),
        Some(c) => next_day.and_time(c),
    };
    Occurrence { opens_at: local_to_utc(tz, day.and_time(opens)), closes_at: Some(local_to_utc(tz, closes_at)) }
}

/// The instant a local time names. A time repeated when clocks go back means its first occurrence; a time skipped
/// when clocks go forward is read with the offset in force before the change (02:30 on the spring-forward day in
/// Rome is 03:30 CEST), the "compatible" rule of RFC 9557 and JavaScript's Temporal.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => {
            // No zone changes offset twice within a day, so the offset a day earlier is the one before the gap.
            let day_before = local - TimeDelta::days(1);
            let before = tz.offset_from_utc_datetime(&day_before);
            let offset = chrono::Offset::fix(&before);
            Utc.from_utc_datetime(&(local - TimeDelta::seconds(i64::from(offset.local_minus_utc()))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Rome;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn intermediaries() -> Schedule {
        use Weekday::*;
        Schedule {
            tz: Rome,
            windows: vec![WindowSpec::Weekly {
                days: vec![Mon, Tue, Wed, Thu, Fri],
                opens: hm(8, 0),
                closes: Some(hm(16, 0)),
            }],
            pre_queue_lead: TimeDelta::minutes(60),
        }
    }

    fn citizens() -> Schedule {
        Schedule {
            tz: Rome,
            windows: vec![WindowSpec::Dated { opens: local("2020-04-01T16:00:00"), closes: None }],
            pre_queue_lead: TimeDelta::minutes(60),
        }
    }

    fn window(s: &str) -> WindowId {
        WindowId::opening_at(utc(s)).unwrap()
    }

    #[test]
    fn first_of_april_2020_intermediaries_eight_to_sixteen_citizens_from_sixteen() {
        // Rome is UTC+2 (CEST) on 1 April 2020, a Wednesday.
        let cases = [
            (
                "2020-04-01T04:59:59Z",
                Phase::Closed { opens_at: Some(utc("2020-04-01T06:00:00Z")) },
                Phase::Closed { opens_at: Some(utc("2020-04-01T14:00:00Z")) },
            ),
            (
                "2020-04-01T05:00:00Z",
                Phase::PreQueue { window: window("2020-04-01T06:00:00Z"), opens_at: utc("2020-04-01T06:00:00Z") },
                Phase::Closed { opens_at: Some(utc("2020-04-01T14:00:00Z")) },
            ),
            (
                "2020-04-01T06:00:00Z",
                Phase::Open { window: window("2020-04-01T06:00:00Z"), closes_at: Some(utc("2020-04-01T14:00:00Z")) },
                Phase::Closed { opens_at: Some(utc("2020-04-01T14:00:00Z")) },
            ),
            (
                "2020-04-01T13:00:00Z",
                Phase::Open { window: window("2020-04-01T06:00:00Z"), closes_at: Some(utc("2020-04-01T14:00:00Z")) },
                Phase::PreQueue { window: window("2020-04-01T14:00:00Z"), opens_at: utc("2020-04-01T14:00:00Z") },
            ),
            (
                "2020-04-01T13:59:59Z",
                Phase::Open { window: window("2020-04-01T06:00:00Z"), closes_at: Some(utc("2020-04-01T14:00:00Z")) },
                Phase::PreQueue { window: window("2020-04-01T14:00:00Z"), opens_at: utc("2020-04-01T14:00:00Z") },
            ),
            (
                "2020-04-01T14:00:00Z",
                Phase::Closed { opens_at: Some(utc("2020-04-02T06:00:00Z")) },
                Phase::Open { window: window("2020-04-01T14:00:00Z"), closes_at: None },
            ),
            (
                "2020-04-04T10:00:00Z",
                Phase::Closed { opens_at: Some(utc("2020-04-06T06:00:00Z")) },
                Phase::Open { window: window("2020-04-01T14:00:00Z"), closes_at: None },
            ),
        ];
        for (now, expect_intermediaries, expect_citizens) in cases {
            assert_eq!(intermediaries().phase(utc(now)), expect_intermediaries, "intermediaries at {now}");
            assert_eq!(citizens().phase(utc(now)), expect_citizens, "citizens at {now}");
        }
    }

    #[test]
    fn opening_hours_follow_daylight_saving_time() {
        // Friday 27 March 2020 is CET (UTC+1); Monday 30 March is CEST (UTC+2): 08:00 local both days.
        let s = intermediaries();
        assert_eq!(
            s.phase(utc("2020-03-27T06:59:59Z")),
            Phase::PreQueue { window: window("2020-03-27T07:00:00Z"), opens_at: utc("2020-03-27T07:00:00Z") }
        );
        assert!(matches!(s.phase(utc("2020-03-27T07:00:00Z")), Phase::Open { .. }));
        assert_eq!(s.phase(utc("2020-03-28T12:00:00Z")), Phase::Closed { opens_at: Some(utc("2020-03-30T06:00:00Z")) });
        assert_eq!(s.phase(utc("2020-03-30T14:00:00Z")), Phase::Closed { opens_at: Some(utc("2020-03-31T06:00:00Z")) });
        // Back to CET on Sunday 25 October 2020: Monday 26 October is 08:00-16:00 CET, 07:00Z-15:00Z.
        let monday = window("2020-10-26T07:00:00Z");
        assert_eq!(
            s.phase(utc("2020-10-26T14:59:59Z")),
            Phase::Open { window: monday, closes_at: Some(utc("2020-10-26T15:00:00Z")) }
        );
        assert_eq!(s.phase(utc("2020-10-26T15:00:00Z")), Phase::Closed { opens_at: Some(utc("2020-10-27T07:00:00Z")) });
    }

    #[test]
    fn skipped_and_repeated_local_times_resolve_predictably() {
        // 29 March 2020 02:30 does not exist in Rome: read with the CET offset, it is 01:30Z (03:30 CEST).
        assert_eq!(local_to_utc(Rome, local("2020-03-29T02:30:00")), utc("2020-03-29T01:30:00Z"));
        // 25 October 2020 02:30 happens twice: the first (CEST) one counts.
        assert_eq!(local_to_utc(Rome, local("2020-10-25T02:30:00")), utc("2020-10-25T00:30:00Z"));
        assert_eq!(local_to_utc(Rome, local("2020-10-25T12:00:00")), utc("2020-10-25T11:00:00Z"));
    }

    #[test]
    fn overnight_and_until_midnight_windows() {
        let s = Schedule {
            tz: Rome,
            windows: vec![
                WindowSpec::Weekly { days: vec![Weekday::Sat], opens: hm(22, 0), closes: Some(hm(6, 0)) },
                WindowSpec::Weekly { days: vec![Weekday::Wed], opens: hm(16, 0), closes: None },
            ],
            pre_queue_lead: TimeDelta::zero(),
        };
        // Saturday 4 April 2020 22:00 CEST to Sunday 06:00.
        assert_eq!(
            s.phase(utc("2020-04-05T03:00:00Z")),
            Phase::Open { window: window("2020-04-04T20:00:00Z"), closes_at: Some(utc("2020-04-05T04:00:00Z")) }
        );
        assert_eq!(
            s.phase(utc("2020-04-08T21:59:59Z")),
            Phase::Open { window: window("2020-04-08T14:00:00Z"), closes_at: Some(utc("2020-04-08T22:00:00Z")) }
        );
        // No lead: no pre-queue, just closed.
        assert_eq!(s.phase(utc("2020-04-08T13:59:00Z")), Phase::Closed { opens_at: Some(utc("2020-04-08T14:00:00Z")) });
    }

    #[test]
    fn a_room_with_nothing_ahead_says_so() {
        let s = Schedule {
            tz: Rome,
            windows: vec![WindowSpec::Dated {
                opens: local("2020-04-01T08:00:00"),
                closes: Some(local("2020-04-01T16:00:00")),
            }],
            pre_queue_lead: TimeDelta::minutes(30),
        };
        assert_eq!(s.phase(utc("2020-05-01T00:00:00Z")), Phase::Closed { opens_at: None });
    }

    #[test]
    fn maintenance_overrides_the_schedule() {
        let message = MaintenanceMessage { it: "Manutenzione".into(), en: "Maintenance".into() };
        let open = Phase::Open { window: WindowId(1), closes_at: None };
        assert_eq!(RoomStatus::of(open, Some(&message)), RoomStatus::Maintenance { message });
        assert_eq!(RoomStatus::of(open, None), RoomStatus::Open { closes_at: None });
    }
}
