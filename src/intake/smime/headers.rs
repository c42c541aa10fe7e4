//! The mail's own header: splitting it off, the envelope check (one From, no
//! conflicting duplicates, a Sender equal to From) and the protected headers a
//! sender may carry inside the signature. Kept apart from the MIME layering
//! (`layers`) because these rules are about who the mail claims to be from,
//! not about where the signature sits.

use mail_parser::{MessageParser, MimeHeaders};
use time::OffsetDateTime;

/// Splits at the first empty line (CRLF or bare LF); returns (headers, body).
pub(super) fn split_headers(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < raw.len() {
        let line_end = raw[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| i + p + 1);
        let line = &raw[i..line_end];
        if line == b"\r\n" || line == b"\n" {
            return (&raw[..i], &raw[line_end..]);
        }
        i = line_end;
    }
    (raw, &[])
}

/// Unfolded header fields as (lower-case name, value).
fn header_fields(block: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(block);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

pub(super) fn is_addr_spec(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
        }
        None => false,
    }
}

/// Keeps printable characters only and caps the length (for names echoed in reasons).
pub(super) fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// Header fields the sender put inside the signature (RFC 9788 header
/// protection, or Thunderbird's older `protected-headers="v1"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Protected {
    pub(super) subject: Option<String>,
    /// The signed From: one valid address, or why it is unusable.
    pub(super) from: Option<Result<String, String>>,
    pub(super) date: Option<OffsetDateTime>,
}

/// The protected headers of the signed content, when its root Content-Type
/// says it carries them (`hp="clear"`/`hp="cipher"` or `protected-headers="v1"`).
pub(super) fn protected_headers(content: &[u8]) -> Option<Protected> {
    let inner = MessageParser::default().parse(content)?;
    let ct = inner.content_type()?;
    let hp = ct
        .attribute("hp")
        .is_some_and(|v| v.eq_ignore_ascii_case("clear") || v.eq_ignore_ascii_case("cipher"));
    let v1 = ct
        .attribute("protected-headers")
        .is_some_and(|v| v.eq_ignore_ascii_case("v1"));
    if !hp && !v1 {
        return None;
    }
    let from = inner.from().map(|a| {
        let list: Vec<String> = a
            .iter()
            .filter_map(|x| x.address())
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        match list.as_slice() {
            [one] if is_addr_spec(one) => Ok(one.clone()),
            _ => Err(format!(
                "the signed (protected) From must be exactly one valid address, not {}",
                clip(&list.join(", "), 200)
            )),
        }
    });
    Some(Protected {
        subject: inner.subject().map(|s| clip(s, 200)),
        from,
        date: inner
            .date()
            .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok()),
    })
}

/// The From addr-specs of the mail, trimmed and lower-case (empty ones left out).
pub(super) fn from_addresses(msg: &mail_parser::Message<'_>) -> Vec<String> {
    msg.from()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The envelope check: From, Sender, Content-Type and Date at most once, exactly
/// one valid From address, and a Sender (if any) equal to it.
pub(super) fn check_envelope(
    raw: &[u8],
    msg: &mail_parser::Message<'_>,
    from_list: &[String],
) -> Result<String, String> {
    let fields = header_fields(split_headers(raw).0);
    for name in ["from", "sender", "content-type", "date"] {
        let n = fields.iter().filter(|(k, _)| k == name).count();
        if n > 1 {
            return Err(format!("duplicate {name} header ({n} times)"));
        }
    }
    if !fields.iter().any(|(k, _)| k == "from") {
        return Err("no From header".into());
    }
    if from_list.is_empty() {
        return Err("empty From header".into());
    }
    if from_list.len() > 1 {
        return Err(format!(
            "From has {} addresses; exactly one is required",
            from_list.len()
        ));
    }
    let from = &from_list[0];
    if !is_addr_spec(from) {
        return Err("From is not a valid address".into());
    }
    if fields.iter().any(|(k, _)| k == "sender") {
        let senders: Vec<String> = msg
            .sender()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.address())
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        if senders.len() != 1 || &senders[0] != from {
            return Err(format!(
                "Sender differs from From {from}: {}",
                senders
                    .iter()
                    .map(|s| clip(s, 100))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(format!("From {from}"))
}

#[cfg(test)]
mod tests {
    use super::super::{Check, Trust, verify};
    use time::macros::datetime;

    #[test]
    fn envelope_and_structure_failures_table() {
        let trust = Trust::new(Vec::new());
        let now = datetime!(2024-01-15 12:00 UTC);
        let cases: &[(&[u8], Check)] = &[
            (b"", Check::Envelope),
            (b"\x00\x01garbage", Check::Envelope),
            (b"From: a@example.org\r\n\r\nhello\r\n", Check::Structure),
            (b"From: a@example.org\r\nFrom: b@example.org\r\n\r\nx\r\n", Check::Envelope),
            (b"From: \r\n\r\nx\r\n", Check::Envelope),
            (b"From: a@example.org, b@example.org\r\n\r\nx\r\n", Check::Envelope),
            (
                b"From: a@example.org\r\nSender: b@example.org\r\n\r\nx\r\n",
                Check::Envelope,
            ),
            (
                b"From: a@example.org\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\nx\r\n--b--\r\n",
                Check::Structure,
            ),
            (
                b"From: a@example.org\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nAAAA\r\n",
                Check::Structure,
            ),
            (
                b"From: a@example.org\r\nContent-Type: text/plain\r\nContent-Type: text/plain\r\n\r\nx\r\n",
                Check::Envelope,
            ),
            (
                b"From: a@example.org\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\nx\r\n--b\r\nContent-Type: text/plain\r\n\r\nMIAGCSqG\r\n--b--\r\n",
                Check::Structure,
            ),
            (
                b"From: a@example.org\r\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n--b\r\nx\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\nxx\r\n--b--\r\n",
                Check::Structure,
            ),
            (
                b"From: a@example.org\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n",
                Check::Structure,
            ),
            (
                b"From: a@example.org\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqG\r\n",
                Check::Structure,
            ),
        ];
        for (input, check) in cases {
            let r = verify(input, &trust, now);
            let f = r.outcome.as_ref().expect_err("must fail");
            assert_eq!(
                f.check,
                *check,
                "{:?}: {}",
                String::from_utf8_lossy(input),
                f
            );
            assert!(!r.to_string().is_empty());
        }
    }
}
