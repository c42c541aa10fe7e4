//! Keys already spoken for. A CSR's key is refused when it is the key of a
//! certificate issued to another subject, of any certificate revoked for
//! keyCompromise, or of the robot, its issuing CAs or the officers (whose
//! keys must never be certified for a server).
//!
//! Decisions only: the certificates come through [`CertLookup`] and the
//! instance's own keys through [`ReservedKey`]s, both from the caller. The
//! renewal rule "not the key of the certificate being renewed" stays with
//! the renewal checks in `server.rs`.

use thiserror::Error;

use crate::model::{CertLookup, Dn, RevocationReason, Serial};

/// A key that is never certified, and whose it is, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedKey {
    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
    pub spki_sha256: String,
    /// "the robot's signing certificate", "the issuing CA (RSA)", …
    pub holder: String,
}

/// Why a key is refused; the Display is the rule in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyReuse {
    #[error(
        "the CSR's key is the key of {0}; that key must never be certified, generate a new key pair"
    )]
    Reserved(String),
    #[error(
        "the CSR's key is the key of certificate {0}, revoked for keyCompromise; a compromised key is never certified again, generate a new key pair"
    )]
    Compromised(Serial),
    #[error(
        "the CSR's key is already certified for another subject (certificate {serial}, {dn}); each subject needs its own key pair"
    )]
    OtherSubject { serial: Serial, dn: Dn },
}

/// Checks the key with SPKI hash `spki_sha256`, requested for a subject for
/// which `same_subject` holds (`None`: the subject is not known, e.g. field 1
/// is invalid; the other-subject rule is then skipped). Returns the first
/// rule broken: reserved keys, then compromise, then other subjects.
pub fn check(
    spki_sha256: &str,
    same_subject: Option<&dyn Fn(&Dn) -> bool>,
    certs: Option<&dyn CertLookup>,
    reserved: &[ReservedKey],
) -> Result<(), KeyReuse> {
    if let Some(r) = reserved.iter().find(|r| r.spki_sha256 == spki_sha256) {
        return Err(KeyReuse::Reserved(r.holder.clone()));
    }
    let Some(certs) = certs else {
        return Ok(());
    };
    let holders = certs.key_holders(spki_sha256);
    if let Some(h) = holders
        .iter()
        .find(|h| h.revoked_for == Some(RevocationReason::KeyCompromise))
    {
        return Err(KeyReuse::Compromised(h.serial.clone()));
    }
    if let Some(same) = same_subject
        && let Some(h) = holders.iter().find(|h| !same(&h.dn))
    {
        return Err(KeyReuse::OtherSubject {
            serial: h.serial.clone(),
            dn: h.dn.clone(),
        });
    }
    Ok(())
}
