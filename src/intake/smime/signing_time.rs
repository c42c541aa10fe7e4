//! Signing-time rules: the signed signing-time must not lie in the future
//! (5 minutes of clock skew allowed), must be within the operator's maximum
//! age, and within an hour of the mail's Date. Also the one time format the
//! check texts use.

use time::{Duration, OffsetDateTime};

pub(super) fn fmt_time(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub(super) fn check_signing_time(
    st: OffsetDateTime,
    date: Option<OffsetDateTime>,
    now: OffsetDateTime,
    max_age: Duration,
) -> Result<String, String> {
    if st > now + Duration::minutes(5) {
        return Err(format!("signing time {} is in the future", fmt_time(st)));
    }
    if now - st > max_age {
        return Err(format!(
            "signing time {} is older than {} days",
            fmt_time(st),
            max_age.whole_days()
        ));
    }
    let Some(date) = date else {
        return Err("no readable Date header to compare with the signing time".into());
    };
    if (date - st).abs() > Duration::hours(1) {
        return Err(format!(
            "Date header {} is more than 1 hour from the signing time {}",
            fmt_time(date),
            fmt_time(st)
        ));
    }
    Ok(format!("signed at {}", fmt_time(st)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn signing_time_table() {
        let now = datetime!(2024-01-15 12:00 UTC);
        let max = Duration::days(14);
        let cases = [
            (now - Duration::minutes(1), Some(now), true),
            (now + Duration::minutes(4), Some(now), true),
            (now + Duration::minutes(6), Some(now), false),
            (
                now - Duration::days(15),
                Some(now - Duration::days(15)),
                false,
            ),
            (
                now - Duration::minutes(10),
                Some(now + Duration::minutes(55)),
                false,
            ),
            (
                now - Duration::minutes(10),
                Some(now + Duration::minutes(45)),
                true,
            ),
            (now - Duration::minutes(10), None, false),
        ];
        for (st, date, ok) in cases {
            assert_eq!(
                check_signing_time(st, date, now, max).is_ok(),
                ok,
                "{st} {date:?}"
            );
        }
    }
}
