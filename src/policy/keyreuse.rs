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

use crate::model::{CertLookup, Dn, LookupError, RevocationReason, Serial, ServerRequest};

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
    #[error(
        "the CSR's key is also the key of line {0}, for another subject; each subject needs its own key pair"
    )]
    EarlierLine(usize),
    /// The key of a row of an earlier file of the same mail: `place` is
    /// "line 3" or "Sheet1!G3".
    #[error(
        "the CSR's key is also the key of {place} of {file}, for another subject; each subject needs its own key pair"
    )]
    OtherFile { file: String, place: String },
}

/// Checks the key with SPKI hash `spki_sha256`, requested for a subject for
/// which `same_subject` holds (`None`: the subject is not known, e.g. field 1
/// is invalid; the other-subject rule is then skipped). Returns the first
/// rule broken: reserved keys, then compromise, then other subjects; or,
/// outside, the look-up error that kept the key's holders from being known.
pub fn check(
    spki_sha256: &str,
    same_subject: Option<&dyn Fn(&Dn) -> bool>,
    certs: Option<&dyn CertLookup>,
    reserved: &[ReservedKey],
) -> Result<Result<(), KeyReuse>, LookupError> {
    if let Some(r) = reserved.iter().find(|r| r.spki_sha256 == spki_sha256) {
        return Ok(Err(KeyReuse::Reserved(r.holder.clone())));
    }
    let Some(certs) = certs else {
        return Ok(Ok(()));
    };
    let holders = certs.key_holders(spki_sha256)?;
    if let Some(h) = holders
        .iter()
        .find(|h| h.revoked_for == Some(RevocationReason::KeyCompromise))
    {
        return Ok(Err(KeyReuse::Compromised(h.serial.clone())));
    }
    if let Some(same) = same_subject
        && let Some(h) = holders.iter().find(|h| !same(&h.dn))
    {
        return Ok(Err(KeyReuse::OtherSubject {
            serial: h.serial.clone(),
            dn: h.dn.clone(),
        }));
    }
    Ok(Ok(()))
}

/// The rows of one file whose CSR carries the key of an earlier row for
/// another subject (the store cannot see them: none is issued yet), as
/// (line, rule). `same_subject` is the forms' DN equality.
pub fn repeated_in_file(
    rows: &[ServerRequest],
    same_subject: impl Fn(&Dn, &Dn) -> bool,
) -> Vec<(usize, KeyReuse)> {
    repeated(&[rows.iter().collect()], same_subject, true)
        .into_iter()
        .map(|r| (r.line, KeyReuse::EarlierLine(r.first_line)))
        .collect()
}

/// A row whose CSR carries the key of an earlier row for another subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated {
    /// The file (its index in the mail) and line of the later row.
    pub file: usize,
    pub line: usize,
    /// Where the key was first asked for.
    pub first_file: usize,
    pub first_line: usize,
}

/// The rows of a mail's files whose CSR carries the key of a row of an
/// earlier file for another subject (a key repeated within one file is
/// [`repeated_in_file`]'s). The store cannot see them either: the files are
/// checked before any is carried out.
pub fn repeated_across_files(
    files: &[Vec<&ServerRequest>],
    same_subject: impl Fn(&Dn, &Dn) -> bool,
) -> Vec<Repeated> {
    repeated(files, same_subject, false)
}

/// Every later row with the key of an earlier row for another subject:
/// pairs within one file when `within`, else pairs across files only.
fn repeated(
    files: &[Vec<&ServerRequest>],
    same_subject: impl Fn(&Dn, &Dn) -> bool,
    within: bool,
) -> Vec<Repeated> {
    // Each key with the first subjects asked for it: (key, dn, file, line).
    let mut seen: Vec<(String, &Dn, usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for (file, rows) in files.iter().enumerate() {
        for row in rows {
            let req = match row {
                ServerRequest::Issue(r) => r,
                ServerRequest::Renew(r) => &r.request,
                ServerRequest::Revoke(_) => continue,
            };
            let Some(spki) = spki_sha256(&req.csr_der) else {
                continue;
            };
            let clash = seen.iter().find(|(k, dn, f, _)| {
                *k == spki && (*f == file) == within && !same_subject(dn, &req.dn)
            });
            match clash {
                Some(&(_, _, first_file, first_line)) => out.push(Repeated {
                    file,
                    line: req.line,
                    first_file,
                    first_line,
                }),
                None => seen.push((spki, &req.dn, file, req.line)),
            }
        }
    }
    out
}

/// SHA-256 of a CSR's SubjectPublicKeyInfo as the CSR encodes it (the hash
/// `server::check_csr` gives), lower-case hex.
fn spki_sha256(csr_der: &[u8]) -> Option<String> {
    use der::{Decode, Encode};
    let req = x509_cert::request::CertReq::from_der(csr_der).ok()?;
    let spki = req.info.public_key.to_der().ok()?;
    Some(hex::encode(openssl::sha::sha256(&spki)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CertSummary, KeyHolder};

    const WWW: &str = "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";
    const MAIL: &str = "CN=mail.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

    /// Certificates by key hash: "k1" was issued for www, "k2" for www and
    /// revoked for keyCompromise, "k3" for mail and revoked as superseded.
    struct Holders;
    impl CertLookup for Holders {
        fn by_serial(&self, _: &Serial) -> Result<Option<CertSummary>, LookupError> {
            Ok(None)
        }
        fn key_holders(&self, spki: &str) -> Result<Vec<KeyHolder>, LookupError> {
            let h = |s: u8, dn: &str, r| KeyHolder {
                serial: Serial::from_bytes(&[s]),
                dn: crate::policy::dn::parse(dn).unwrap(),
                revoked_for: r,
            };
            Ok(match spki {
                "k1" => vec![h(1, WWW, None)],
                "k2" => vec![h(2, WWW, Some(RevocationReason::KeyCompromise))],
                "k3" => vec![h(3, MAIL, Some(RevocationReason::Superseded))],
                _ => vec![],
            })
        }
    }

    #[test]
    fn reuse_rules() {
        let reserved = [ReservedKey {
            spki_sha256: "robot".into(),
            holder: "the robot's signing certificate".into(),
        }];
        let www = crate::policy::dn::parse(WWW).unwrap();
        let for_www = |d: &Dn| *d == www;
        let same: Option<&dyn Fn(&Dn) -> bool> = Some(&for_www);
        type Case<'a> = (&'a str, Option<&'a dyn Fn(&Dn) -> bool>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            ("new", same, None),
            ("k1", same, None),
            (
                "k1",
                Some(&|_: &Dn| false),
                Some(
                    "the CSR's key is already certified for another subject (certificate 0x01, CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP); each subject needs its own key pair",
                ),
            ),
            // Field 1 invalid: the subject rule is skipped, the others are not.
            ("k3", None, None),
            (
                "k2",
                same,
                Some(
                    "the CSR's key is the key of certificate 0x02, revoked for keyCompromise; a compromised key is never certified again, generate a new key pair",
                ),
            ),
            (
                "k2",
                None,
                Some(
                    "the CSR's key is the key of certificate 0x02, revoked for keyCompromise; a compromised key is never certified again, generate a new key pair",
                ),
            ),
            (
                "k3",
                same,
                Some(
                    "the CSR's key is already certified for another subject (certificate 0x03, CN=mail.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP); each subject needs its own key pair",
                ),
            ),
            (
                "robot",
                same,
                Some(
                    "the CSR's key is the key of the robot's signing certificate; that key must never be certified, generate a new key pair",
                ),
            ),
        ];
        for (n, (spki, same, expected)) in cases.into_iter().enumerate() {
            let got = check(spki, same, Some(&Holders), &reserved)
                .unwrap()
                .err()
                .map(|e| e.to_string());
            assert_eq!(got.as_deref(), expected, "case {n}: {spki}");
        }
        // Offline (`mailra check`): no store, only the reserved keys count.
        assert_eq!(check("k2", same, None, &[]).unwrap(), Ok(()));
    }

    #[test]
    fn a_failed_look_up_is_not_a_free_key() {
        use crate::policy::check::fake::{CAUSE, Failing, Method};
        let failing = Failing {
            method: Method::KeyHolders,
            certs: &Holders,
        };
        let reserved = [ReservedKey {
            spki_sha256: "robot".into(),
            holder: "the robot's signing certificate".into(),
        }];
        for spki in ["new", "k1", "k2"] {
            let got = check(spki, None, Some(&failing), &reserved).map_err(|e| e.to_string());
            assert_eq!(
                got,
                Err(format!("certificate look-up failed: {CAUSE}")),
                "{spki}"
            );
        }
        // The instance's own keys need no look-up: refused all the same.
        assert_eq!(
            check("robot", None, Some(&failing), &reserved).unwrap(),
            Err(KeyReuse::Reserved("the robot's signing certificate".into()))
        );
    }
}
