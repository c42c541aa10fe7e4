//! Keys and key pairs: the key algorithms the service uses, a certificate
//! with its private key as `mailra init` writes and reads it, and the server
//! CSRs the demo and tests make in place of real servers.

use std::path::Path;

use openssl::ec::{EcGroup, EcKey, EcKeyRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509Req};

use super::CaError;
use crate::model::Dn;

/// A certificate with its private key.
#[derive(Clone)]
pub struct KeyPair {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl KeyPair {
    /// Reads a PEM certificate (the first of the file) and its PEM private key.
    pub fn load(cert: &Path, key: &Path) -> Result<KeyPair, CaError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| CaError::Io {
                path: p.display().to_string(),
                source,
            })
        };
        Ok(KeyPair {
            cert: X509::from_pem(&read(cert)?)?,
            key: PKey::private_key_from_pem(&read(key)?)?,
        })
    }
    pub fn cert_pem(&self) -> Result<Vec<u8>, CaError> {
        Ok(self.cert.to_pem()?)
    }
    /// The private key as unencrypted PKCS#8 PEM (`mailra init` writes it 0600).
    pub fn key_pem(&self) -> Result<Vec<u8>, CaError> {
        Ok(self.key.private_key_to_pem_pkcs8()?)
    }
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("subject", &Dn::display_x509_name(self.cert.subject_name()))
            .finish_non_exhaustive()
    }
}

/// Key algorithms the service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa2048,
    P384,
}

pub fn new_key(kind: KeyKind) -> Result<PKey<Private>, CaError> {
    Ok(match kind {
        KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?)?,
        KeyKind::P384 => {
            let group = EcGroup::from_curve_name(Nid::SECP384R1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)?
        }
    })
}

/// `n` fresh RSA-2048 keys, generated on every core
/// ([`std::thread::available_parallelism`]): key generation (~150–250 ms a
/// key) dominates a bulk issuance, and keys are independent.
///
/// The threads draw keys from one shared count rather than fixed shares:
/// the time a key takes varies widely (it is a search for primes), so with
/// fixed shares one core would sit idle while the other finished a slow
/// share — measurably so for the batches of 100 a bulk issuance asks for.
pub fn generate_rsa2048(n: usize) -> Result<Vec<PKey<Private>>, CaError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(n);
    if threads <= 1 {
        return (0..n).map(|_| new_key(KeyKind::Rsa2048)).collect();
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let next = &next;
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        match new_key(KeyKind::Rsa2048) {
                            Ok(k) => mine.push(k),
                            Err(e) => {
                                // Stop the others too: the call fails.
                                next.store(n, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(mine)
                })
            })
            .collect();
        let mut keys = Vec::with_capacity(n);
        for w in workers {
            // A worker only panics if OpenSSL does; pass the panic on.
            keys.extend(w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
        }
        Ok(keys)
    })
}

/// The digest a key signs with: SHA-384 for EC keys on P-384, SHA-256
/// otherwise (root programs pair the ECDSA digest with the curve).
pub(crate) fn digest_for<T: HasPublic>(key: &PKeyRef<T>) -> MessageDigest {
    if key.id() == Id::EC && key.ec_key().ok().as_deref().and_then(ec_curve) == Some(Nid::SECP384R1)
    {
        MessageDigest::sha384()
    } else {
        MessageDigest::sha256()
    }
}

pub(crate) fn ec_curve<T: HasPublic>(k: &EcKeyRef<T>) -> Option<Nid> {
    k.group().curve_name()
}

/// A key in words (`RSA 2048`, `EC secp384r1`), for messages.
pub(crate) fn describe_key<T: HasPublic>(key: &PKeyRef<T>) -> String {
    match key.id() {
        Id::RSA => format!("RSA {}", key.bits()),
        Id::EC => match key.ec_key().ok().as_deref().and_then(ec_curve) {
            Some(nid) => format!("EC {}", nid.short_name().unwrap_or("?")),
            None => "EC (unnamed curve)".into(),
        },
        _ => format!("key type {:?}", key.id()),
    }
}

/// A server CSR for a form-order DN, subject in X.509 order (C … CN);
/// SHA-256 for RSA keys, SHA-384 for P-384 keys.
pub fn new_server_csr(dn: &Dn, key: &PKey<Private>) -> Result<X509Req, CaError> {
    let mut b = X509Req::builder()?;
    let subject = dn.to_x509_name()?;
    b.set_subject_name(&subject)?;
    b.set_pubkey(key)?;
    b.sign(key, digest_for(key))?;
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_rsa2048_gives_n_distinct_sound_keys() {
        for n in [0, 1, 3] {
            let keys = generate_rsa2048(n).unwrap();
            assert_eq!(keys.len(), n);
            let mut moduli: Vec<Vec<u8>> = keys
                .iter()
                .map(|k| {
                    let rsa = k.rsa().unwrap();
                    assert_eq!(rsa.n().num_bits(), 2048);
                    assert!(rsa.check_key().unwrap());
                    rsa.n().to_vec()
                })
                .collect();
            moduli.sort();
            moduli.dedup();
            assert_eq!(moduli.len(), n);
        }
    }

    #[test]
    fn csr_subject_round_trips() {
        let dn = Dn(vec![
            ("CN".into(), "www.example.ac.jp".into()),
            ("O".into(), "Example University".into()),
            ("L".into(), "Chiyoda-ku".into()),
            ("ST".into(), "Tokyo".into()),
            ("C".into(), "JP".into()),
        ]);
        for kind in [KeyKind::Rsa2048, KeyKind::P384] {
            let key = new_key(kind).unwrap();
            let csr = new_server_csr(&dn, &key).unwrap();
            assert!(csr.verify(&key).unwrap());
            assert_eq!(Dn::from_x509_name_cn_first(csr.subject_name()).unwrap(), dn);
            let first = csr.subject_name().entries().next().unwrap();
            assert_eq!(first.object().nid(), Nid::COUNTRYNAME);
        }
    }
}
