//! The CRLs: made and stored inside the transaction that revokes, published
//! to `crl_dir` once it is committed.

use rusqlite::Connection;
use time::OffsetDateTime;

use super::{Env, RaError};
use crate::ca::{self, RevokedEntry};
use crate::model::CaKind;
use crate::store;

/// Makes and stores a new CRL of `kind`'s CA, listing every revocation of a
/// certificate that CA issued.
pub(crate) fn make_crl(
    env: &Env,
    tx: &Connection,
    kind: CaKind,
    now: OffsetDateTime,
) -> Result<(), RaError> {
    let ca = env
        .issuing_ca(kind)
        .ok_or(ca::CaError::NotConfigured(kind))?;
    let entries: Vec<RevokedEntry> = store::revocations(tx, kind)?
        .into_iter()
        .map(|r| RevokedEntry {
            serial: r.serial,
            revoked_at: r.revoked_at,
            reason: r.reason,
        })
        .collect();
    let number = store::next_crl_number(tx, kind)?;
    let next = now + time::Duration::days(env.cfg.crl_days as i64);
    let crl = ca.crl(&entries, now, next, number)?;
    store::insert_crl(tx, kind, number, now, next, &crl.der)?;
    Ok(())
}

/// Writes the newest CRL of `kind`'s CA to `crl_dir` atomically, DER and PEM:
/// `ca.crl` / `ca.crl.pem` for the RSA CA, `ca-ec.crl` / `ca-ec.crl.pem` for
/// the ECDSA CA. Returns the PEM file's path.
pub(crate) fn publish_crl(env: &Env, kind: CaKind) -> Result<std::path::PathBuf, RaError> {
    let Some((_, _, _, der)) = store::latest_crl(&env.conn, kind)? else {
        return Err(RaError::Io(std::io::Error::other(format!(
            "no CRL of the {kind} issuing CA has been made yet"
        ))));
    };
    let pem = openssl::x509::X509Crl::from_der(&der)
        .and_then(|c| c.to_pem())
        .map_err(ca::CaError::from)?;
    std::fs::create_dir_all(&env.cfg.crl_dir)?;
    let stem = kind.crl_stem();
    let der_path = env.cfg.crl_dir.join(format!("{stem}.crl"));
    let pem_path = env.cfg.crl_dir.join(format!("{stem}.crl.pem"));
    for (path, data) in [(&der_path, &der), (&pem_path, &pem)] {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, data)?;
        std::fs::rename(&tmp, path)?;
    }
    Ok(pem_path)
}
