//! What the rows of one executed mail share and produce: the context every
//! row's step gets ([`RowCtx`]) and what each carried-out row yields
//! ([`Done`]) for the replies — a leaf that `execute`, `client` and `notify`
//! all use, so none of them imports another's internals.

use rusqlite::Connection;
use time::OffsetDateTime;

use super::{Env, RaError};
use crate::ca;
use crate::model::{
    ClientIssueRow, ClientRevokeRow, CodeSignRevokeRow, Institution, IssueRow, P12Encryption,
    RevokeRow, Serial,
};
use crate::render::views::RowOutcome;
use crate::store;

/// What every row of a mail's transaction shares.
pub(super) struct RowCtx<'a> {
    pub env: &'a Env,
    pub tx: &'a Connection,
    pub inst: &'a Institution,
    pub mail_id: i64,
    pub actor: &'a str,
    pub now: OffsetDateTime,
}

/// A certificate issued with a generated key, and its PKCS#12 and PIN (in
/// memory until the mails carrying them are queued).
pub(super) struct Generated {
    pub row: ClientIssueRow,
    pub cert: store::CertRecord,
    pub p12: Vec<u8>,
    pub pin: String,
    pub renewed_from: Option<Serial>,
    pub encryption: P12Encryption,
}

/// What one executed row produced, for the replies.
pub(super) enum Done {
    Issued {
        row: IssueRow,
        cert: store::CertRecord,
        renewed_from: Option<Serial>,
    },
    Revoked {
        row: RevokeRow,
        cert: store::CertRecord,
    },
    /// A client or S/MIME certificate with its generated key's PKCS#12.
    Generated(Box<Generated>),
    ClientRevoked {
        row: ClientRevokeRow,
        cert: store::CertRecord,
    },
    /// A code-signing certificate revoked by the code-signing form.
    CodeSignRevoked {
        row: CodeSignRevokeRow,
        cert: store::CertRecord,
    },
}

impl Done {
    pub(super) fn cert(&self) -> &store::CertRecord {
        match self {
            Done::Issued { cert, .. }
            | Done::Revoked { cert, .. }
            | Done::ClientRevoked { cert, .. }
            | Done::CodeSignRevoked { cert, .. } => cert,
            Done::Generated(g) => &g.cert,
        }
    }

    pub(super) fn revoked(&self) -> bool {
        matches!(
            self,
            Done::Revoked { .. } | Done::ClientRevoked { .. } | Done::CodeSignRevoked { .. }
        )
    }

    /// The row's outcome and the name it is shown with.
    pub(super) fn outcome(&self) -> (RowOutcome, String) {
        match self {
            Done::Issued {
                renewed_from, row, ..
            } => (
                if renewed_from.is_some() {
                    RowOutcome::Renewed
                } else {
                    RowOutcome::Issued
                },
                row.fqdn.clone(),
            ),
            Done::Generated(g) => (
                if g.renewed_from.is_some() {
                    RowOutcome::Renewed
                } else {
                    RowOutcome::Issued
                },
                g.row.dn.cn().unwrap_or_default().to_string(),
            ),
            Done::Revoked { cert, .. }
            | Done::ClientRevoked { cert, .. }
            | Done::CodeSignRevoked { cert, .. } => (RowOutcome::Revoked, cert.subject_dn.clone()),
        }
    }
}

/// A serial no certificate has yet.
pub(super) fn fresh_serial(
    tx: &Connection,
    serials: &mut dyn ca::SerialSource,
) -> Result<Serial, RaError> {
    loop {
        let s = serials.next_serial();
        if store::certificate(tx, &s)?.is_none() {
            return Ok(s);
        }
    }
}

use crate::ca::asn1_to_time;

/// A certificate the CA just signed, with what the store keeps of it taken
/// from the certificate itself (its key's hash and its PEM).
pub(super) struct SignedCert {
    pub x509: openssl::x509::X509,
    pub spki_sha256: String,
    pub pem: String,
}

impl SignedCert {
    pub(super) fn new(x509: openssl::x509::X509) -> Result<SignedCert, RaError> {
        let pem = x509.to_pem().map_err(ca::CaError::from)?;
        Ok(SignedCert {
            spki_sha256: ca::cert_spki_sha256(&x509),
            pem: String::from_utf8_lossy(&pem).into_owned(),
            x509,
        })
    }
}

/// A certificate the CA just signed for a row.
pub(super) struct Signed<'a> {
    pub serial: &'a Serial,
    pub ca: crate::model::CaKind,
    pub cert: &'a SignedCert,
    pub profile: crate::model::Profile,
    /// The subject as stored (the row's DN for server certificates).
    pub subject_dn: String,
    pub admin_mail: &'a str,
    pub renews: Option<&'a Serial>,
}

/// The store's record of a certificate just signed in this mail's
/// transaction (no applied DN or user mail: the client family adds those).
pub(super) fn record(rc: &RowCtx<'_>, s: Signed<'_>) -> Result<store::CertRecord, RaError> {
    let now = rc.now;
    Ok(store::CertRecord {
        serial: s.serial.clone(),
        institution_id: rc.inst.id,
        profile: Some(s.profile),
        kind: crate::model::CertKind::of_profile(s.profile),
        subject_dn: s.subject_dn,
        spki_sha256: s.cert.spki_sha256.clone(),
        not_before: asn1_to_time(s.cert.x509.not_before()).unwrap_or(now),
        not_after: asn1_to_time(s.cert.x509.not_after()).unwrap_or(now),
        status: crate::model::CertStatus::Valid,
        pem: s.cert.pem.clone(),
        admin_mail: s.admin_mail.to_string(),
        renewed_from: s.renews.cloned(),
        issued_at: now,
        mail_id: Some(rc.mail_id),
        ca: Some(s.ca),
        import_ca: None,
        imported_at: None,
        applied_dn: None,
        user_mail: None,
    })
}
