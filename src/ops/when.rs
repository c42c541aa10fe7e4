//! The `--since` of the secretariat's listings (`applications list`,
//! `audit`): a day, meaning the start of that day in Japan (UTC+9, where the
//! secretariat works), or an RFC 3339 time with its offset.

use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime};

use super::{OpsError, Result};

/// `2026-11-01` (00:00 JST that day) or `2026-11-01T09:30:00+09:00`.
pub fn since(s: &str) -> Result<OffsetDateTime> {
    let s = s.trim();
    if let Some(t) = crate::store::parse_ts(s) {
        return Ok(t);
    }
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map(|d| d.midnight().assume_offset(offset!(+9)))
        .map_err(|_| {
            OpsError::Invalid(format!(
                "{s:?} is neither a date (YYYY-MM-DD, from 00:00 JST) nor an RFC 3339 time"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_day_starts_at_midnight_in_japan_and_a_time_keeps_its_offset() {
        let cases = [
            ("2026-11-01", Some(datetime!(2026-10-31 15:00 UTC))),
            (" 2026-11-01 ", Some(datetime!(2026-10-31 15:00 UTC))),
            (
                "2026-11-01T09:30:00+09:00",
                Some(datetime!(2026-11-01 00:30 UTC)),
            ),
            (
                "2026-11-01T09:30:00Z",
                Some(datetime!(2026-11-01 09:30 UTC)),
            ),
            ("2026-11-31", None),
            ("2026/11/01", None),
            ("2026-11-01T09:30:00", None),
            ("yesterday", None),
        ];
        for (input, expected) in cases {
            assert_eq!(since(input).ok(), expected, "{input}");
        }
    }
}
