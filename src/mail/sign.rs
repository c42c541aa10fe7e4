//! S/MIME signing of the robot's outgoing mail (and of test/demo mails).
//!
//! Every notice the robot sends is signed so that officers can tell a real notice from a
//! phishing copy. Signing is done by OpenSSL's CMS implementation; this module only
//! canonicalises the entity and wraps the result in the MIME structure that mail clients
//! (and `openssl smime -verify`) expect.

pub use crate::intake::mime::canonicalize_crlf;

use base64::Engine as _;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;

/// The robot's signing identity: certificate, private key, and the chain sent along.
pub struct Signer {
    pub cert: X509,
    pub key: PKey<Private>,
    pub chain: Vec<X509>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the entity to sign has no header/body separator (blank line)")]
    NotAnEntity,
    #[error("CMS signing failed: {0}")]
    Cms(#[from] openssl::error::ErrorStack),
}

fn check_entity(entity: &[u8]) -> Result<(), SignError> {
    // An entity may legitimately have no headers (starts with the blank line).
    if entity.starts_with(b"\r\n") || entity.windows(4).any(|w| w == b"\r\n\r\n") {
        Ok(())
    } else {
        Err(SignError::NotAnEntity)
    }
}

fn cms_sign(data: &[u8], signer: &Signer, detached: bool) -> Result<Vec<u8>, SignError> {
    let mut chain = Stack::new()?;
    for c in &signer.chain {
        chain.push(c.clone())?;
    }
    // BINARY: the data is already canonical; without it OpenSSL would re-translate line ends.
    let mut flags = CMSOptions::BINARY;
    if detached {
        flags |= CMSOptions::DETACHED;
    }
    let ci = CmsContentInfo::sign(
        Some(&signer.cert),
        Some(&signer.key),
        Some(&chain),
        Some(data),
        flags,
    )?;
    Ok(ci.to_der()?)
}

fn base64_lines(der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = Vec::with_capacity(b64.len() + b64.len() / 38 + 2);
    for chunk in b64.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn new_boundary(content: &[u8]) -> String {
    loop {
        let b = format!("----mailra-{:032x}", rand::random::<u128>());
        if !content.windows(b.len()).any(|w| w == b.as_bytes()) {
            return b;
        }
    }
}

/// entity: a MIME entity (headers + blank line + body); canonicalised to CRLF first.
/// Returns the complete multipart/signed entity (its Content-Type header line(s), blank
/// line, body), protocol application/pkcs7-signature, micalg=sha-256, SHA-256, CRLF.
pub fn sign_detached(entity: &[u8], signer: &Signer) -> Result<Vec<u8>, SignError> {
    let entity = canonicalize_crlf(entity);
    check_entity(&entity)?;
    let der = cms_sign(&entity, signer, true)?;
    let boundary = new_boundary(&entity);
    let mut out = Vec::with_capacity(entity.len() + der.len() * 2 + 512);
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\
             \tmicalg=sha-256; boundary=\"{boundary}\"\r\n\r\n\
             This is an S/MIME signed message.\r\n\r\n--{boundary}\r\n"
        )
        .as_bytes(),
    );
    // The CRLF before the next delimiter belongs to the delimiter, not to the signed part.
    out.extend_from_slice(&entity);
    out.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\n\
             Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\
             Content-Description: S/MIME Cryptographic Signature\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&base64_lines(&der));
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// Returns an application/pkcs7-mime; smime-type=signed-data entity (base64 body).
pub fn sign_opaque(entity: &[u8], signer: &Signer) -> Result<Vec<u8>, SignError> {
    let entity = canonicalize_crlf(entity);
    check_entity(&entity)?;
    let der = cms_sign(&entity, signer, false)?;
    let mut out = Vec::with_capacity(der.len() * 2 + 256);
    out.extend_from_slice(
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n\
          Content-Transfer-Encoding: base64\r\n\
          Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n",
    );
    out.extend_from_slice(&base64_lines(&der));
    Ok(out)
}

/// RFC 2047 encoded-words (UTF-8, base64) for a non-ASCII unstructured header value,
/// split so that no encoded-word exceeds 75 characters.
fn encode_header_value(value: &str) -> String {
    let needs = value
        .chars()
        .any(|c| !c.is_ascii() || (c.is_ascii_control() && c != '\t'));
    if !needs {
        return value.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        if c.is_ascii_control() {
            continue;
        }
        // 45 input bytes -> 60 base64 chars, + 12 for "=?UTF-8?B?" and "?=" = 72.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// Prepends outer headers (From, To, Subject (RFC 2047 for non-ASCII), Date, Message-ID,
/// MIME-Version, extra headers...) to a signed entity, producing a complete RFC 5322 message.
/// Header values containing line breaks are flattened so that no header can be injected.
/// Header protection (RFC 9788, signed-only): copies `headers` into the
/// entity about to be signed and marks its Content-Type with `hp="clear"`, so
/// a receiver can tell the signed Subject, From, Date… from the outer ones
/// that anyone on the way could change. Clients that do not know RFC 9788 see
/// an ordinary MIME part (header fields other than Content-* are ignored).
pub fn protect_headers(headers: &[(&str, String)], entity: &[u8]) -> Vec<u8> {
    protect_headers_as(headers, entity, Hp::Clear)
}

/// Which RFC 9788 `hp` marking the protected header fields get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hp {
    /// A signed-only message.
    Clear,
    /// A message that is also encrypted: `hp="cipher"`, and an `HP-Outer`
    /// field per header field left outside (all of them: nothing is
    /// obscured), so a client can tell that the outer ones are unaltered.
    Cipher,
}

/// [`protect_headers`] with the marking of `hp`.
pub fn protect_headers_as(headers: &[(&str, String)], entity: &[u8], hp: Hp) -> Vec<u8> {
    let mark: &[u8] = match hp {
        Hp::Clear => b"; hp=\"clear\"\r\n",
        Hp::Cipher => b"; hp=\"cipher\"\r\n",
    };
    let entity = canonicalize_crlf(entity);
    let split = entity
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| p + 2);
    let (head, body) = entity.split_at(split);
    let mut out = header_lines(headers);
    if hp == Hp::Cipher {
        let outer: Vec<(&str, String)> = headers
            .iter()
            .map(|(n, v)| ("HP-Outer", format!("{n}: {v}")))
            .collect();
        out.extend_from_slice(&header_lines(&outer));
    }
    let mut lines = head.split_inclusive(|&b| b == b'\n').peekable();
    let mut marked = false;
    while let Some(line) = lines.next() {
        let is_ct = line.len() > 13 && line[..13].eq_ignore_ascii_case(b"content-type:");
        if !is_ct || marked {
            out.extend_from_slice(line);
            continue;
        }
        // The field may be folded over several lines: mark its last one.
        let mut field = line.to_vec();
        while let Some(next) =
            lines.next_if(|l| l.first().is_some_and(|b| *b == b' ' || *b == b'\t'))
        {
            field.extend_from_slice(next);
        }
        field.truncate(field.len() - 2);
        field.extend_from_slice(mark);
        out.extend_from_slice(&field);
        marked = true;
    }
    if !marked {
        out.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii");
        out.extend_from_slice(mark);
    }
    out.extend_from_slice(body);
    out
}

/// Header fields as lines: names cleaned, values on one line and RFC 2047
/// encoded when not ASCII (no header injection through a value).
fn header_lines(headers: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    for (name, value) in headers {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != ':')
            .collect();
        let flat: String = value
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(encode_header_value(&flat).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub fn assemble(headers: &[(&str, String)], signed_entity: &[u8]) -> Vec<u8> {
    let mut out = header_lines(headers);
    out.reserve(signed_entity.len() + 32);
    let has_mime_version = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("MIME-Version"));
    if !has_mime_version {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    out.extend_from_slice(&canonicalize_crlf(signed_entity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalize_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a\nb\n", b"a\r\nb\r\n"),
            (b"a\r\nb\r\n", b"a\r\nb\r\n"),
            (b"a\rb", b"a\r\nb"),
            (b"a\r\n\nb", b"a\r\n\r\nb"),
            (b"", b""),
        ];
        for (input, expected) in cases {
            assert_eq!(canonicalize_crlf(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn header_encoding_table() {
        let cases = [
            ("plain subject", "plain subject"),
            ("証明書", "=?UTF-8?B?6Ki85piO5pu4?="),
        ];
        for (input, expected) in cases {
            assert_eq!(encode_header_value(input), expected);
        }
        let long = "サーバ証明書発行受付通知サーバ証明書発行受付通知";
        let enc = encode_header_value(long);
        assert!(enc.split("\r\n ").all(|w| w.len() <= 75), "{enc}");
        assert!(enc.contains("\r\n "));
    }

    #[test]
    fn assemble_adds_mime_version_and_blocks_injection() {
        let msg = assemble(
            &[("Subject", "hi\r\nBcc: evil@example.org".to_string())],
            b"Content-Type: text/plain\r\n\r\nbody\r\n",
        );
        let text = String::from_utf8(msg).unwrap();
        assert!(text.starts_with("Subject: hi  Bcc: evil@example.org\r\nMIME-Version: 1.0\r\n"));
        assert!(!text.contains("\nBcc:"));
    }

    #[test]
    fn protected_headers_are_copied_and_marked() {
        let entity = b"Content-Type: multipart/mixed;\r\n boundary=\"b1\"\r\n\r\n--b1\r\n\r\nx\r\n--b1--\r\n";
        let out = protect_headers(
            &[
                ("Subject", "証明書".into()),
                ("From", "ra@example.ac.jp".into()),
            ],
            entity,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "Subject: =?UTF-8?B?6Ki85piO5pu4?=\r\nFrom: ra@example.ac.jp\r\nContent-Type: multipart/mixed;\r\n boundary=\"b1\"; hp=\"clear\"\r\n\r\n--b1\r\n"
            ),
            "{text}"
        );
        let single = protect_headers(&[], b"Content-Type: text/plain\nX: y\n\nbody\n");
        assert_eq!(
            String::from_utf8(single).unwrap(),
            "Content-Type: text/plain; hp=\"clear\"\r\nX: y\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn not_an_entity_rejected() {
        assert!(matches!(
            check_entity(b"no blank line here"),
            Err(SignError::NotAnEntity)
        ));
        assert!(check_entity(b"\r\nbody").is_ok());
    }
}
