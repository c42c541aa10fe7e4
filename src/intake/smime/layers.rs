//! MIME layering: where the signature sits in the mail. The signature must be
//! the whole message (multipart/signed with a detached p7s, or opaque
//! application/pkcs7-mime signed-data); a signature somewhere inside an
//! unsigned mail, a forwarded signed mail, an encrypted or doubly signed
//! content are each refused with a reason saying which. Separate from `cms`
//! because it works on MIME structure, never on the signature's bytes.

use mail_parser::{MessageParser, MimeHeaders};

use super::Shape;
use super::headers::{clip, split_headers};

fn mime_type(ct: Option<&mail_parser::ContentType<'_>>) -> String {
    match ct {
        Some(ct) => format!(
            "{}/{}",
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase()
        ),
        None => "text/plain".into(),
    }
}

fn is_signature_type(t: &str) -> bool {
    matches!(
        t,
        "multipart/signed"
            | "application/pkcs7-mime"
            | "application/x-pkcs7-mime"
            | "application/pkcs7-signature"
            | "application/x-pkcs7-signature"
    )
}

/// Why no usable signature layer was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LayerError {
    /// The mail carries no signature at all.
    Unsigned(String),
    /// A signature is there, but not as the whole message (or malformed).
    Misplaced(String),
}

impl From<&str> for LayerError {
    fn from(s: &str) -> Self {
        LayerError::Misplaced(s.to_string())
    }
}

impl From<String> for LayerError {
    fn from(s: String) -> Self {
        LayerError::Misplaced(s)
    }
}

impl LayerError {
    pub(super) fn into_parts(self) -> (bool, String) {
        match self {
            LayerError::Unsigned(r) => (true, r),
            LayerError::Misplaced(r) => (false, r),
        }
    }
}

/// Finds the signature layer, which must be the whole message.
/// Returns the shape, the signed bytes (detached only) and the CMS blob.
pub(super) fn signature_layer(
    raw: &[u8],
    msg: &mail_parser::Message<'_>,
) -> Result<(Shape, Vec<u8>, Vec<u8>), LayerError> {
    let root = msg.root_part();
    let ct = root.content_type();
    let t = mime_type(ct);
    match t.as_str() {
        "multipart/signed" => {
            let ct = ct.ok_or("no Content-Type")?;
            let protocol = ct
                .attribute("protocol")
                .map(|p| p.to_ascii_lowercase())
                .unwrap_or_default();
            if protocol != "application/pkcs7-signature"
                && protocol != "application/x-pkcs7-signature"
            {
                return Err(LayerError::Misplaced(format!(
                    "multipart/signed with unsupported protocol {}",
                    clip(&protocol, 60)
                )));
            }
            let boundary = ct
                .attribute("boundary")
                .ok_or("multipart/signed without boundary")?;
            let body = split_headers(raw).1;
            let parts = split_multipart(body, boundary.as_bytes())
                .ok_or("multipart/signed is not properly delimited")?;
            if parts.len() != 2 {
                return Err(LayerError::Misplaced(format!(
                    "multipart/signed has {} parts; exactly two are required",
                    parts.len()
                )));
            }
            let sig = MessageParser::default()
                .parse(parts[1])
                .ok_or("the signature part is unreadable")?;
            let sig_type = mime_type(sig.root_part().content_type());
            if sig_type != protocol {
                return Err(LayerError::Misplaced(format!(
                    "the second part is {} instead of the declared protocol {protocol}",
                    clip(&sig_type, 60)
                )));
            }
            let p7 = sig.root_part().contents().to_vec();
            let signed = crate::intake::mime::canonicalize_crlf(parts[0]);
            Ok((Shape::Detached, signed, p7))
        }
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => {
            let smime_type = ct
                .and_then(|c| c.attribute("smime-type"))
                .map(|s| s.to_ascii_lowercase());
            match smime_type.as_deref() {
                Some("signed-data") | None => {}
                Some(other) => {
                    return Err(LayerError::Misplaced(format!(
                        "{} mail is not accepted: send the mail signed and not encrypted",
                        clip(other, 40)
                    )));
                }
            }
            Ok((Shape::Opaque, Vec::new(), root.contents().to_vec()))
        }
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => {
            Err("a detached signature without the signed content".into())
        }
        "message/rfc822" => Err(wrapped_or_unsigned(msg)),
        t if t.starts_with("multipart/") => {
            let signed_inside =
                msg.parts.iter().skip(1).any(|p| {
                    is_signature_type(&mime_type(p.content_type())) || p.message().is_some()
                });
            if !signed_inside {
                return Err(LayerError::Unsigned("the mail is not signed".into()));
            }
            if msg.parts.iter().skip(1).any(|p| {
                p.message()
                    .is_some_and(|m| is_signature_type(&mime_type(m.root_part().content_type())))
            }) {
                return Err(wrapped_or_unsigned(msg));
            }
            if !msg
                .parts
                .iter()
                .skip(1)
                .any(|p| is_signature_type(&mime_type(p.content_type())))
            {
                return Err(LayerError::Unsigned("the mail is not signed".into()));
            }
            Err(format!(
                "the signature does not cover the whole mail: parts outside the signature \
                 are ignored ({})",
                outside_parts(msg).join(", ")
            )
            .into())
        }
        _ => Err(LayerError::Unsigned(format!(
            "the mail is not signed (Content-Type {})",
            clip(&t, 60)
        ))),
    }
}

fn wrapped_or_unsigned(msg: &mail_parser::Message<'_>) -> LayerError {
    let wrapped = msg.parts.iter().any(|p| {
        p.message().is_some_and(|m| {
            m.parts
                .iter()
                .any(|q| is_signature_type(&mime_type(q.content_type())))
        })
    });
    if wrapped {
        "a signed mail attached to an unsigned mail (message/rfc822): send the signed mail itself"
            .into()
    } else {
        LayerError::Unsigned("the mail is not signed".into())
    }
}

/// Names of the leaf parts of a multipart mail that lie outside every signed part.
fn outside_parts(msg: &mail_parser::Message<'_>) -> Vec<String> {
    let mut inside = vec![false; msg.parts.len()];
    fn mark(msg: &mail_parser::Message<'_>, id: usize, inside: &mut [bool]) {
        if let Some(flag) = inside.get_mut(id) {
            *flag = true;
        }
        if let Some(subs) = msg.parts.get(id).and_then(|p| p.sub_parts()) {
            for &s in subs {
                mark(msg, s as usize, inside);
            }
        }
    }
    for (i, p) in msg.parts.iter().enumerate() {
        if is_signature_type(&mime_type(p.content_type())) {
            mark(msg, i, &mut inside);
        }
    }
    msg.parts
        .iter()
        .enumerate()
        .filter(|(i, p)| !inside[*i] && !p.is_multipart())
        .map(|(i, p)| {
            let t = clip(&mime_type(p.content_type()), 60);
            match p.attachment_name() {
                Some(n) => format!("part {i} {t} \"{}\"", clip(n, 60)),
                None => format!("part {i} {t}"),
            }
        })
        .collect()
}

/// Splits a multipart body at `--boundary` delimiter lines. Each part is returned exactly
/// as it stands: the line break before a delimiter belongs to the delimiter.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Option<Vec<&'a [u8]>> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    // Positions of delimiter lines: (start of the line break before, start of next part).
    let mut marks: Vec<(usize, usize, bool)> = Vec::new();
    let mut line_start = 0;
    while line_start < body.len() {
        let nl = body[line_start..].iter().position(|&b| b == b'\n');
        let line_end = nl.map_or(body.len(), |p| line_start + p);
        let next = nl.map_or(body.len(), |p| line_start + p + 1);
        let line = &body[line_start..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(delim.as_slice()) {
            let (closing, rest) = match rest.strip_prefix(b"--") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            if rest.iter().all(|b| *b == b' ' || *b == b'\t') {
                let before = if line_start >= 2 && &body[line_start - 2..line_start] == b"\r\n" {
                    line_start - 2
                } else if line_start >= 1 && body[line_start - 1] == b'\n' {
                    line_start - 1
                } else {
                    line_start
                };
                marks.push((before, next, closing));
                if closing {
                    break;
                }
            }
        }
        line_start = next;
    }
    if !marks.last().is_some_and(|m| m.2) {
        return None;
    }
    // Two adjacent delimiter lines: the part between them is empty.
    Some(
        marks
            .windows(2)
            .map(|w| &body[w[0].1..w[1].0.max(w[0].1)])
            .collect(),
    )
}

/// The signed content itself must not carry another signature layer.
pub(super) fn check_inner_content(content: &[u8]) -> Result<(), String> {
    let Some(inner) = MessageParser::default().parse(content) else {
        return Ok(());
    };
    for p in &inner.parts {
        let t = mime_type(p.content_type());
        if !is_signature_type(&t) {
            continue;
        }
        let smime_type = p
            .content_type()
            .and_then(|c| c.attribute("smime-type"))
            .map(|s| s.to_ascii_lowercase());
        return Err(match smime_type.as_deref() {
            Some(st) if st.contains("enveloped") => {
                "encrypted content inside the signature (encrypt-then-sign) is not accepted".into()
            }
            _ => "a signature inside the signed content (nested signature)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Trust, verify};
    use super::*;
    use time::macros::datetime;

    #[test]
    fn split_multipart_table() {
        type Case<'a> = (&'a [u8], Option<Vec<&'a [u8]>>);
        let cases: &[Case] = &[
            (
                b"pre\r\n--b\r\nA\r\n\r\n--b\r\nB\r\n--b--\r\n",
                Some(vec![b"A\r\n", b"B"]),
            ),
            (b"--b\nA\n--b\nB\n--b--\n", Some(vec![b"A", b"B"])),
            (b"--b\r\nA\r\n--bx\r\n--b--", Some(vec![b"A\r\n--bx"])),
            (b"--b\r\nA\r\n--b\r\nB\r\n", None),
            (b"--b\r\n--b\r\nB\r\n--b--", Some(vec![b"", b"B"])),
            (b"--b--", Some(vec![])),
        ];
        for (input, expected) in cases {
            assert_eq!(split_multipart(input, b"b"), *expected, "{input:?}");
        }
    }

    #[test]
    fn failure_texts_do_not_quote_the_body() {
        let trust = Trust::new(Vec::new());
        let now = datetime!(2024-01-15 12:00 UTC);
        let raw = b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSECRET-BODY\r\n--b--\r\n";
        let r = verify(raw, &trust, now);
        assert!(r.outcome.is_err());
        assert!(!r.to_string().contains("SECRET-BODY"));
    }
}
