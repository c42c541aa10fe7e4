//! The secretariat's existing stock: certificates seeded as if issued last
//! year, so that the demo can renew and revoke them.

use anyhow::{Context, Result};
use openssl::pkey::{PKey, Private};
use time::OffsetDateTime;

use crate::ca;
use crate::kit;
use crate::model::{Dn, Profile};
use crate::ra::Env;
use crate::store;

/// Seeds a certificate as if issued earlier (the secretariat's existing stock).
pub(super) fn seed_cert(
    env: &mut Env,
    inst_name: &str,
    dn: &Dn,
    key: &PKey<Private>,
    admin: &str,
    now: OffsetDateTime,
) -> Result<String> {
    let inst = store::institution_by_name(&env.conn, inst_name)?.context("institution")?;
    let cn = dn.cn().unwrap_or_default();
    let row = kit::forms::issue_row(dn, Profile::ServerRsa2048, key, admin, &[cn])?;
    let serial = env.serials.next_serial();
    let issued_at = now - time::Duration::days(300);
    let (ca_kind, issuing) = env.ca_for_profile(row.profile)?;
    let x509 = ca::issue_checked(issuing, &inst, &row, serial.clone(), issued_at, 396)?;
    let (not_before, not_after) =
        ca::profile::validity(issued_at, 396.min(ca::max_server_days(issued_at)))?;
    store::insert_certificate(
        &env.conn,
        &store::CertRecord {
            serial: serial.clone(),
            institution_id: inst.id,
            profile: Some(Profile::ServerRsa2048),
            kind: crate::model::CertKind::Server,
            subject_dn: dn.to_string(),
            spki_sha256: ca::cert_spki_sha256(&x509),
            not_before,
            not_after,
            status: crate::model::CertStatus::Valid,
            pem: String::from_utf8(x509.to_pem()?)?,
            admin_mail: admin.into(),
            renewed_from: None,
            issued_at,
            mail_id: None,
            ca: Some(ca_kind),
            import_ca: None,
            imported_at: None,
            applied_dn: None,
            user_mail: None,
        },
    )?;
    store::audit(
        &env.conn,
        now,
        "demo",
        "import",
        None,
        Some(&serial),
        &format!("seeded {dn}"),
    )?;
    Ok(serial.to_string())
}
