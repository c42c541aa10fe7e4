//! S/MIME encryption of outgoing mail: a reply that carries a PKCS#12 or
//! access PINs is encrypted to every recipient whose certificate the robot
//! holds (always the officer's: the one they signed with), so that a copy
//! left on a mail server or in a relay's queue is of no use to anyone else.
//!
//! What is encrypted is the *signed* entity (`multipart/signed`, as
//! [`super::sign::sign_detached`] makes it): sign, then encrypt, as
//! Thunderbird, Outlook and Apple Mail do; after decrypting they show the
//! signature as usual. The envelope is CMS EnvelopedData (RFC 5652/8551),
//! content encryption AES-256-CBC, the content key transported with each
//! recipient's RSA key (PKCS#1 v1.5 key transport, `KeyTransRecipientInfo`
//! by issuer and serial: what every S/MIME client reads). The outer header
//! fields (From, To, Cc, Subject, Date, Message-ID…) stay outside, readable,
//! so the mail is filed and threaded as any other; they are also inside the
//! signature (RFC 9788, `hp="cipher"`), which is what a client shows once it
//! has decrypted the mail.

use base64::Engine as _;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::Stack;
use openssl::symm::Cipher;
use openssl::x509::X509;

use super::sign::canonicalize_crlf;

#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    #[error("no recipient certificate to encrypt to")]
    NoRecipient,
    #[error("recipient certificate {subject}: {why}")]
    Recipient { subject: String, why: &'static str },
    #[error("CMS encryption failed: {0}")]
    Cms(#[from] openssl::error::ErrorStack),
}

fn subject(cert: &X509) -> String {
    crate::model::Dn::display_x509_name(cert.subject_name())
}

/// Only RSA recipients: OpenSSL would encrypt to an EC key too (ECDH key
/// agreement), but Outlook and older clients do not decrypt that.
fn check_recipient(cert: &X509) -> Result<(), EncryptError> {
    let key = cert.public_key()?;
    if key.rsa().is_err() {
        return Err(EncryptError::Recipient {
            subject: subject(cert),
            why: "not an RSA key (only RSA key transport is used)",
        });
    }
    Ok(())
}

/// Encrypts `signed_entity` (a complete MIME entity: its Content-Type header
/// field(s), a blank line, the body; canonicalised to CRLF here) to every
/// certificate of `recipients`. Returns the `application/pkcs7-mime;
/// smime-type=enveloped-data` entity (header fields, blank line, base64
/// body) that takes its place under the outer header fields.
pub fn encrypt(signed_entity: &[u8], recipients: &[X509]) -> Result<Vec<u8>, EncryptError> {
    if recipients.is_empty() {
        return Err(EncryptError::NoRecipient);
    }
    let mut certs = Stack::new()?;
    for c in recipients {
        check_recipient(c)?;
        certs.push(c.clone())?;
    }
    let entity = canonicalize_crlf(signed_entity);
    // BINARY: the entity is canonical already; OpenSSL must not touch its line ends.
    let ci = CmsContentInfo::encrypt(&certs, &entity, Cipher::aes_256_cbc(), CMSOptions::BINARY)?;
    let der = ci.to_der()?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let mut out = Vec::with_capacity(b64.len() + b64.len() / 38 + 300);
    out.extend_from_slice(
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n\
          \tname=\"smime.p7m\"\r\n\
          Content-Transfer-Encoding: base64\r\n\
          Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\
          Content-Description: S/MIME Encrypted Message\r\n\r\n",
    );
    for chunk in b64.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    Ok(out)
}

/// How much larger an entity grows when encrypted: the CMS envelope adds
/// up to one AES block and the recipient infos, then base64 with a CRLF per
/// 76 characters multiplies by 78/57. For sizing bundle parts.
pub fn encrypted_size(entity_len: usize, recipients: usize) -> usize {
    let der = entity_len + 16 + 64 + recipients * 600;
    der.div_ceil(57) * 78 + 300
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_encrypt_to_is_an_error() {
        assert!(matches!(
            encrypt(b"Content-Type: text/plain\r\n\r\nx\r\n", &[]),
            Err(EncryptError::NoRecipient)
        ));
    }

    #[test]
    fn the_size_estimate_covers_real_envelopes() {
        use openssl::asn1::Asn1Time;
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::rsa::Rsa;
        use openssl::x509::{X509Builder, X509NameBuilder};
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "recipient").unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        for len in [0usize, 1, 1000, 100_000] {
            let mut entity = b"Content-Type: application/octet-stream\r\n\r\n".to_vec();
            entity.extend(std::iter::repeat_n(b'x', len));
            let out = encrypt(&entity, &[cert.clone(), cert.clone()]).unwrap();
            assert!(
                out.len() <= encrypted_size(entity.len(), 2),
                "{len}: {} > {}",
                out.len(),
                encrypted_size(entity.len(), 2)
            );
        }
    }
}
