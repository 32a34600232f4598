//! Italian civil time (Europe/Rome) for receipts: CET, or CEST between the last Sunday of March and the last Sunday
//! of October, switching at 01:00 UTC as the EU has done since 1996 (Directive 2000/84/EC).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset as _, TimeZone, Utc, Weekday};

/// The last Sunday of `month` in `year`, at 01:00 UTC: when summer time starts (March) or ends (October).
fn switch(year: i32, month: u32) -> Option<DateTime<Utc>> {
    let first_of_next = NaiveDate::from_ymd_opt(year, month + 1, 1)?;
    let mut day = first_of_next.pred_opt()?;
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt()?;
    }
    Some(Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0)?))
}

/// `at` in Italian civil time.
pub fn in_italy(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    let year = at.year();
    let summer = matches!((switch(year, 3), switch(year, 10)), (Some(start), Some(end)) if start <= at && at < end);
    let hours = if summer { 2 } else { 1 };
    let offset = FixedOffset::east_opt(hours * 3600).unwrap_or_else(|| Utc.fix());
    at.with_timezone(&offset)
}

/// `at` written the Italian way in Italian time: `02/04/2020 10:15`.
pub fn format(at: DateTime<Utc>) -> String {
    in_italy(at).format("%d/%m/%Y %H:%M").to_string()
}

/// Like [`format`] with the seconds, for receipts.
pub fn format_seconds(at: DateTime<Utc>) -> String {
    in_italy(at).format("%d/%m/%Y %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn italian_time_is_cet_in_winter_and_cest_in_summer() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let cases = [
            ("winter", "2020-03-01T09:00:00Z", "01/03/2020 10:00:00"),
            ("just before the spring switch", "2020-03-29T00:59:59Z", "29/03/2020 01:59:59"),
            ("at the spring switch", "2020-03-29T01:00:00Z", "29/03/2020 03:00:00"),
            ("click day", "2020-04-01T06:30:00Z", "01/04/2020 08:30:00"),
            ("just before the autumn switch", "2020-10-25T00:59:59Z", "25/10/2020 02:59:59"),
            ("at the autumn switch", "2020-10-25T01:00:00Z", "25/10/2020 02:00:00"),
            ("new year's eve in Rome", "2020-12-31T23:30:00Z", "01/01/2021 00:30:00"),
        ];
        for (situation, utc, italian) in cases {
            assert_eq!(format_seconds(at(utc)), italian, "{situation}");
        }
        assert_eq!(format(at("2020-04-01T06:30:00Z")), "01/04/2020 08:30");
    }
}
