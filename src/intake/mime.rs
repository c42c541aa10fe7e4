//! What a verified signed entity carries: the text body and the attached files.
//!
//! Only the content under the signature is ever passed here, so everything returned is
//! covered by the officer's signature. Attachments keep their exact bytes (the transfer
//! encoding is undone but no charset conversion happens): the TSV parser needs the
//! original Shift_JIS bytes.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{MessageParser, MimeHeaders};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBody {
    /// The first text/plain part without a filename, decoded to UTF-8 ("" if none).
    pub text: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Decoded file name (RFC 2231 / RFC 2047 handled by mail-parser).
    pub filename: String,
    /// `type/subtype`, lower-case.
    pub content_type: String,
    /// The file's bytes with the transfer encoding undone.
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MimeError {
    #[error("the signed content is not a MIME entity")]
    Unparsable,
    #[error("attachment {index}: its {encoding} transfer encoding is broken")]
    BadEncoding { index: usize, encoding: String },
}

/// Extracts the text body and the files from a signed MIME entity (which may itself be a
/// single part: the file).
pub fn extract(entity: &[u8]) -> Result<SignedBody, MimeError> {
    let msg = MessageParser::default()
        .parse(entity)
        .ok_or(MimeError::Unparsable)?;
    let mut text = None;
    let mut attachments = Vec::new();
    for (index, part) in msg.parts.iter().enumerate() {
        if part.is_multipart() {
            continue;
        }
        let content_type = part
            .content_type()
            .map(|ct| {
                format!(
                    "{}/{}",
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or("plain").to_ascii_lowercase()
                )
            })
            .unwrap_or_else(|| "text/plain".to_string());
        match part.attachment_name() {
            Some(name) => {
                let start = part.raw_body_offset() as usize;
                let end = (part.raw_end_offset() as usize).min(entity.len());
                let raw = entity.get(start..end).unwrap_or_default();
                let encoding = part
                    .content_transfer_encoding()
                    .unwrap_or("7bit")
                    .to_ascii_lowercase();
                let data = match encoding.as_str() {
                    "base64" => base64_decode(raw),
                    "quoted-printable" => quoted_printable_decode(raw),
                    _ => Some(raw.to_vec()),
                }
                .ok_or(MimeError::BadEncoding { index, encoding })?;
                attachments.push(Attachment {
                    filename: name.to_string(),
                    content_type,
                    data,
                });
            }
            None if text.is_none() && content_type == "text/plain" => {
                text = Some(part.text_contents().unwrap_or_default().to_string());
            }
            None => {}
        }
    }
    Ok(SignedBody {
        text: text.unwrap_or_default(),
        attachments,
    })
}

/// Whether a mail was sent by a program rather than a person (RFC 3834):
/// `Auto-Submitted` other than `no`, a delivery or read report
/// (`multipart/report`: bounces), the null sender (`Return-Path: <>`),
/// `Precedence: bulk/junk/list`, a `MAILER-DAEMON` sender, or a reply of
/// mailra itself. Such mail is never answered, so two robots, or the robot
/// and a bounce, cannot keep mailing each other.
pub fn is_automatic(raw: &[u8]) -> bool {
    let Some(m) = MessageParser::default().parse_headers(raw) else {
        return false;
    };
    let header = |name: &str| m.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    header("Auto-Submitted").is_some_and(|v| v != "no")
        || m.header_raw("X-Mailra-Verdict").is_some()
        || header("Return-Path").is_some_and(|v| v.trim_matches(['<', '>', ' ']).is_empty())
        || header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list"))
        || m.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        || m.from()
            .and_then(|f| f.first())
            .and_then(|a| a.address())
            .is_some_and(|a| {
                a.split('@')
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case("mailer-daemon"))
            })
}

/// Converts bare LF (and lone CR) line ends to CRLF, leaving existing CRLF alone.
pub fn canonicalize_crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_mail_is_recognised() {
        let person = "From: officer@example.ac.jp\r\nTo: ra@example.ac.jp\r\nSubject: x\r\n";
        for (extra, automatic) in [
            ("", false),
            ("Auto-Submitted: no\r\n", false),
            ("Return-Path: <officer@example.ac.jp>\r\n", false),
            ("Precedence: first-class\r\n", false),
            ("Auto-Submitted: auto-replied\r\n", true),
            ("Auto-Submitted: Auto-Generated\r\n", true),
            ("X-Mailra-Verdict: accepted\r\n", true),
            ("Return-Path: <>\r\n", true),
            ("Precedence: bulk\r\n", true),
            ("Precedence: list\r\n", true),
            (
                "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
                true,
            ),
        ] {
            let raw = format!("{extra}{person}\r\nbody\r\n");
            assert_eq!(is_automatic(raw.as_bytes()), automatic, "{extra:?}");
        }
        let bounce = "From: MAILER-DAEMON@mx.example.ac.jp (Mail Delivery System)\r\nSubject: Undelivered Mail\r\n\r\nbody\r\n";
        assert!(is_automatic(bounce.as_bytes()));
        assert!(!is_automatic(b""));
    }

    fn att(filename: &str, content_type: &str, data: &[u8]) -> Attachment {
        Attachment {
            filename: filename.into(),
            content_type: content_type.into(),
            data: data.to_vec(),
        }
    }

    #[test]
    fn extract_table() {
        let cases: Vec<(&[u8], SignedBody)> = vec![
            // plain text only
            (
                b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n",
                SignedBody { text: "hello\r\n".into(), attachments: vec![] },
            ),
            // text + Shift_JIS TSV (8bit), RFC 2231 Japanese name: bytes kept as they are
            (
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Disposition: attachment; filename*=UTF-8''%E7%94%B3%E8%AB%8B.tsv\r\n\r\n\x83e\x83X\x83g\r\n\r\n--b--\r\n",
                SignedBody {
                    text: "body".into(),
                    attachments: vec![att("申請.tsv", "text/plain", b"\x83e\x83X\x83g\r\n")],
                },
            ),
            // base64 attachment with RFC 2047 name in Content-Type
            (
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?55Sz6KuL?=.xlsx\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n/w==\r\n--b--\r\n",
                SignedBody {
                    text: "".into(),
                    attachments: vec![att("申請.xlsx", "application/octet-stream", &[0, 1, 2, 255])],
                },
            ),
            // quoted-printable attachment
            (
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/tab-separated-values\r\nContent-Disposition: attachment; filename=a.tsv\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=09b=83=65\r\n--b--\r\n",
                SignedBody {
                    text: "".into(),
                    attachments: vec![att("a.tsv", "text/tab-separated-values", b"a\tb\x83e")],
                },
            ),
            // the signed entity is the file itself
            (
                b"Content-Type: text/plain; name=\"x.tsv\"\r\nContent-Transfer-Encoding: base64\r\n\r\nYQli\r\n",
                SignedBody { text: "".into(), attachments: vec![att("x.tsv", "text/plain", b"a\tb")] },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                extract(input).unwrap(),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
