//! How the model's closed sets are kept in TEXT columns. The stored words are
//! the ones the database always held (no migration); a word this mailra does
//! not know reads back as a conversion error, not as a guess.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use super::outbox::OutboxStatus;
use crate::model::{ApplicationStatus, CaKind, CertKind, CertStatus, RowOutcomeKind, Verdict};

fn unknown(what: &str, s: &str) -> FromSqlError {
    FromSqlError::Other(format!("unknown {what} {s:?} in the database").into())
}

/// `ToSql`/`FromSql` for an enum through its stored word.
macro_rules! text_column {
    ($ty:ty, $what:literal, $to:expr, $from:expr) => {
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                let to: fn($ty) -> &'static str = $to;
                Ok(ToSqlOutput::from(to(*self)))
            }
        }
        impl FromSql for $ty {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = v.as_str()?;
                let from: fn(&str) -> Option<$ty> = $from;
                from(s).ok_or_else(|| unknown($what, s))
            }
        }
    };
}

text_column!(Verdict, "verdict", Verdict::as_str, Verdict::from_name);
text_column!(
    ApplicationStatus,
    "application status",
    ApplicationStatus::as_str,
    ApplicationStatus::from_name
);
text_column!(
    RowOutcomeKind,
    "row outcome",
    RowOutcomeKind::as_str,
    RowOutcomeKind::from_name
);
text_column!(CaKind, "issuing CA", CaKind::as_str, CaKind::parse);
text_column!(
    CertKind,
    "certificate kind",
    CertKind::as_str,
    CertKind::parse
);
text_column!(
    OutboxStatus,
    "outbox status",
    OutboxStatus::as_str,
    OutboxStatus::from_name
);
text_column!(
    CertStatus,
    "certificate status",
    cert_status_str,
    |s| match s {
        "valid" => Some(CertStatus::Valid),
        "revoked" => Some(CertStatus::Revoked),
        _ => None,
    }
);

fn cert_status_str(s: CertStatus) -> &'static str {
    match s {
        CertStatus::Valid => "valid",
        CertStatus::Revoked => "revoked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn round_trip<T: ToSql + FromSql + PartialEq + std::fmt::Debug>(v: T, word: &str) {
        let conn = Connection::open_in_memory().unwrap();
        let stored: String = conn.query_row("SELECT ?1", [&v], |r| r.get(0)).unwrap();
        assert_eq!(stored, word);
        let back: T = conn.query_row("SELECT ?1", [word], |r| r.get(0)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn enums_are_stored_as_the_words_the_database_always_held() {
        round_trip(Verdict::Held, "held");
        round_trip(Verdict::Accepted, "accepted");
        round_trip(ApplicationStatus::Refused, "refused");
        round_trip(RowOutcomeKind::Error, "error");
        round_trip(RowOutcomeKind::Renewed, "renewed: new certificate issued");
        round_trip(CertStatus::Revoked, "revoked");
        round_trip(CaKind::Ec, "ec");
        round_trip(OutboxStatus::Dead, "dead");
        round_trip(OutboxStatus::Pending, "pending");
        round_trip(OutboxStatus::Sent, "sent");
    }

    #[test]
    fn an_unknown_stored_word_is_an_error_not_a_guess() {
        let conn = Connection::open_in_memory().unwrap();
        let r: rusqlite::Result<Verdict> = conn.query_row("SELECT 'maybe'", [], |r| r.get(0));
        assert!(r.is_err(), "{r:?}");
        let r: rusqlite::Result<CertStatus> =
            conn.query_row("SELECT 'suspended'", [], |r| r.get(0));
        assert!(r.is_err(), "{r:?}");
    }
}
