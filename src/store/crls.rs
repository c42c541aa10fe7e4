//! The `revocations` and `crls` tables: each revocation (the certificate's
//! status changes with it) and the CRLs made from them. Each issuing CA has
//! its own CRL, with its own cRLNumber sequence.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, StoreError, parse_ts, ts};
use crate::model::{CaKind, CertStatus, RevocationReason, Serial};

#[derive(Debug, Clone)]
pub struct Revocation {
    pub serial: Serial,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
    pub comment: String,
}

/// Marks a valid certificate revoked; refuses a second revocation.
pub fn revoke(conn: &Connection, r: &Revocation, mail_id: Option<i64>) -> Result<()> {
    let n = conn.execute(
        "UPDATE certificates SET status = ?2 WHERE serial = ?1 AND status = ?3",
        params![r.serial.to_hex(), CertStatus::Revoked, CertStatus::Valid],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "certificate {} is not a valid certificate of this CA",
            r.serial
        )));
    }
    conn.execute(
        "INSERT INTO revocations(serial, revoked_at, reason, comment, mail_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![r.serial.to_hex(), ts(r.revoked_at), r.reason.code(), r.comment, mail_id],
    )?;
    Ok(())
}

/// The revocations of the certificates `ca` issued (what its CRL lists).
pub fn revocations(conn: &Connection, ca: CaKind) -> Result<Vec<Revocation>> {
    revocations_where(conn, "c.ca = ?1", &[&ca])
}

/// The revocations of the certificates an import CA (`[ca] import_cas`, by
/// name) issued: the instance holds no key to put them on a CRL, the
/// secretariat exports them for that CA.
pub fn import_ca_revocations(conn: &Connection, import_ca: &str) -> Result<Vec<Revocation>> {
    revocations_where(conn, "c.import_ca = ?1", &[&import_ca])
}

fn revocations_where(
    conn: &Connection,
    clause: &str,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Revocation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.serial, r.revoked_at, r.reason, r.comment FROM revocations r
         JOIN certificates c ON c.serial = r.serial WHERE {clause} ORDER BY r.revoked_at, r.serial"
    ))?;
    let rows = stmt
        .query_map(p, |r| {
            let s: String = r.get(0)?;
            let t: String = r.get(1)?;
            let reason: u8 = r.get(2)?;
            Ok((s, t, reason, r.get::<_, Option<String>>(3)?))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // A revocation that cannot be read stops whoever asked (the CRL above
    // all): left off silently, it would be missing from a signed CRL.
    rows.into_iter()
        .map(|(s, t, reason, c)| {
            let bad = |what, value: String| StoreError::Unreadable { what, value };
            Ok(Revocation {
                serial: Serial::from_hex(&s).ok_or_else(|| bad("revoked serial", s.clone()))?,
                revoked_at: parse_ts(&t)
                    .ok_or_else(|| bad("revocation time", format!("{t} (serial {s})")))?,
                reason: RevocationReason::from_code(reason)
                    .ok_or_else(|| bad("revocation reason", format!("{reason} (serial {s})")))?,
                comment: c.unwrap_or_default(),
            })
        })
        .collect()
}

/// The revocations made within `when` (by `revoked_at`), of the
/// certificates of one institution if given, in the order they were made.
pub fn revocations_in(
    conn: &Connection,
    when: &super::Period,
    institution_id: Option<i64>,
) -> Result<Vec<Revocation>> {
    let (from, until) = when.bounds();
    revocations_where(
        conn,
        "(?1 IS NULL OR julianday(r.revoked_at) >= julianday(?1))
         AND (?2 IS NULL OR julianday(r.revoked_at) < julianday(?2))
         AND (?3 IS NULL OR c.institution_id = ?3)",
        &[&from, &until, &institution_id],
    )
}

pub fn revocation(conn: &Connection, serial: &Serial) -> Result<Option<Revocation>> {
    Ok(
        revocations_where(conn, "r.serial = ?1", &[&serial.to_hex()])?
            .into_iter()
            .next(),
    )
}

pub fn next_crl_number(conn: &Connection, ca: CaKind) -> Result<u64> {
    let n: Option<i64> =
        conn.query_row("SELECT max(number) FROM crls WHERE ca = ?1", [ca], |r| {
            r.get(0)
        })?;
    Ok(n.unwrap_or(0) as u64 + 1)
}

pub fn insert_crl(
    conn: &Connection,
    ca: CaKind,
    number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    der: &[u8],
) -> Result<()> {
    conn.execute(
        "INSERT INTO crls(ca, number, this_update, next_update, der) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![ca, number as i64, ts(this_update), ts(next_update), der],
    )?;
    Ok(())
}

/// The newest CRL: (number, this_update, next_update, der).
pub type CrlRow = (u64, OffsetDateTime, OffsetDateTime, Vec<u8>);

/// The newest CRL of `ca`, if any.
pub fn latest_crl(conn: &Connection, ca: CaKind) -> Result<Option<CrlRow>> {
    let row = conn
        .query_row(
            "SELECT number, this_update, next_update, der FROM crls WHERE ca = ?1
             ORDER BY number DESC LIMIT 1",
            [ca],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.and_then(|(n, t, u, d)| Some((n as u64, parse_ts(&t)?, parse_ts(&u)?, d))))
}

/// How many certificates `ca` issued (valid or revoked): a CA that issued
/// none needs no CRL yet.
pub fn issued_by(conn: &Connection, ca: CaKind) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM certificates WHERE ca = ?1",
        [ca],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// Whether `ca` needs a new CRL: it has none, the newest is past its
/// nextUpdate, or one of its certificates was revoked after it was made.
pub fn crl_is_stale(conn: &Connection, ca: CaKind, now: OffsetDateTime) -> Result<bool> {
    let Some((_, this_update, next_update, _)) = latest_crl(conn, ca)? else {
        return Ok(true);
    };
    if next_update <= now {
        return Ok(true);
    }
    let newer: i64 = conn.query_row(
        "SELECT count(*) FROM revocations r JOIN certificates c ON c.serial = r.serial
         WHERE c.ca = ?1 AND r.revoked_at > ?2",
        params![ca, ts(this_update)],
        |r| r.get(0),
    )?;
    Ok(newer > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::certificate;
    use crate::store::testing::{cert, db};
    use time::macros::datetime;

    #[test]
    fn revocations_in_a_period_of_an_institution() {
        let (_dir, conn) = db();
        let t0 = datetime!(2025-04-01 00:00:00 UTC);
        let day = time::Duration::DAY;
        for (n, at) in [(1u8, t0), (2, t0 + day), (3, t0 + 2 * day)] {
            let s = cert(&conn, n, CaKind::Rsa, t0);
            let r = Revocation {
                serial: s,
                revoked_at: at,
                reason: RevocationReason::Unspecified,
                comment: String::new(),
            };
            revoke(&conn, &r, None).unwrap();
        }
        let p = |from: Option<OffsetDateTime>, until: Option<OffsetDateTime>| {
            super::super::Period { from, until }
        };
        for (period, inst, want) in [
            (p(None, None), None, vec![1, 2, 3]),
            (p(Some(t0 + day), None), None, vec![2, 3]),
            (p(Some(t0), Some(t0 + 2 * day)), Some(1), vec![1, 2]),
            (p(None, None), Some(2), vec![]),
        ] {
            let got: Vec<u8> = revocations_in(&conn, &period, inst)
                .unwrap()
                .iter()
                .map(|r| r.serial.as_bytes()[0])
                .collect();
            assert_eq!(got, want, "{period:?} {inst:?}");
        }
    }

    #[test]
    fn each_ca_has_its_own_revocation_list_and_staleness() {
        let (_dir, conn) = db();
        let t0 = datetime!(2025-04-01 00:00:00 UTC);
        let rsa = cert(&conn, 1, CaKind::Rsa, t0);
        let ec = cert(&conn, 2, CaKind::Ec, t0);
        assert_eq!(
            certificate(&conn, &ec).unwrap().unwrap().ca,
            Some(CaKind::Ec)
        );
        let week = time::Duration::days(7);
        for kind in CaKind::ALL {
            assert!(crl_is_stale(&conn, kind, t0).unwrap(), "{kind}: no CRL yet");
            insert_crl(&conn, kind, 1, t0, t0 + week, b"crl").unwrap();
            assert!(!crl_is_stale(&conn, kind, t0).unwrap(), "{kind}");
        }
        let t1 = t0 + time::Duration::hours(1);
        let revoke_at = |serial: &Serial| Revocation {
            serial: serial.clone(),
            revoked_at: t1,
            reason: RevocationReason::KeyCompromise,
            comment: String::new(),
        };
        revoke(&conn, &revoke_at(&ec), None).unwrap();
        // Only the ECDSA CA's CRL is out of date, and only it lists the serial.
        assert!(crl_is_stale(&conn, CaKind::Ec, t1).unwrap());
        assert!(!crl_is_stale(&conn, CaKind::Rsa, t1).unwrap());
        let serials = |kind| -> Vec<Serial> {
            revocations(&conn, kind)
                .unwrap()
                .into_iter()
                .map(|r| r.serial)
                .collect()
        };
        assert_eq!(serials(CaKind::Ec), vec![ec.clone()]);
        assert!(serials(CaKind::Rsa).is_empty());
        revoke(&conn, &revoke_at(&rsa), None).unwrap();
        assert_eq!(serials(CaKind::Rsa), vec![rsa.clone()]);
        assert_eq!(serials(CaKind::Ec), vec![ec]);
        // Past nextUpdate: stale whatever happened.
        assert!(crl_is_stale(&conn, CaKind::Rsa, t0 + week).unwrap());
    }
}
