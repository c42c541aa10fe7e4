//! Application mails as officers' mail clients send them: a text part and
//! the form files, S/MIME-signed (detached or opaque) with outer headers;
//! the unsigned mail a careless client sends; a mail altered after signing;
//! a secretariat member's signed command mail.

use anyhow::Result;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use time::OffsetDateTime;

use crate::mail::sign::{self, Signer};

/// A file attached to an application mail.
pub struct FileSpec {
    pub name: String,
    pub data: Vec<u8>,
}

/// The form files and a text part, as a `multipart/mixed` entity.
fn files_part(text: SinglePart, files: &[FileSpec]) -> MultiPart {
    let mut mp = MultiPart::mixed().singlepart(text);
    for f in files {
        mp = mp.singlepart(Attachment::new(f.name.clone()).body(
            f.data.clone(),
            ContentType::parse("text/tab-separated-values").unwrap(),
        ));
    }
    mp
}

/// Builds an officer's application mail: a text part and the files, signed
/// (detached, or opaque when `opaque`) by `signer`, with outer headers.
pub fn application_mail(
    signer: &Signer,
    from: &str,
    to: &str,
    subject: &str,
    files: &[FileSpec],
    opaque: bool,
    date: OffsetDateTime,
) -> Result<Vec<u8>> {
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body("事務局御中\r\n申請ファイルを送付します。よろしくお願いいたします。\r\n".to_string());
    let entity = files_part(text, files).formatted();
    let signed = if opaque {
        sign::sign_opaque(&entity, signer)?
    } else {
        sign::sign_detached(&entity, signer)?
    };
    let headers = [
        ("From", from.to_string()),
        ("To", to.to_string()),
        ("Subject", subject.to_string()),
        ("Date", rfc2822(date)),
        ("Message-ID", crate::mail::compose::new_message_id(from)),
    ];
    Ok(sign::assemble(&headers, &signed))
}

/// A secretariat member's command mail: `body` (the command lines) as the
/// signed text, with `files` attached inside the signed content, signed
/// (detached) by `signer`, with outer headers.
pub fn command_mail(
    signer: &Signer,
    from: &str,
    to: &str,
    body: &str,
    files: &[FileSpec],
    date: OffsetDateTime,
) -> Result<Vec<u8>> {
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body.replace('\n', "\r\n"));
    let entity = if files.is_empty() {
        text.formatted()
    } else {
        files_part(text, files).formatted()
    };
    let signed = sign::sign_detached(&entity, signer)?;
    let headers = [
        ("From", from.to_string()),
        ("To", to.to_string()),
        ("Subject", "commands".to_string()),
        ("Date", rfc2822(date)),
        ("Message-ID", crate::mail::compose::new_message_id(from)),
    ];
    Ok(sign::assemble(&headers, &signed))
}

/// An unsigned mail with the same files (what a careless client sends).
pub fn unsigned_mail(from: &str, to: &str, subject: &str, files: &[FileSpec]) -> Result<Vec<u8>> {
    let text = SinglePart::plain("申請ファイルを送付します。".to_string());
    let msg = lettre::Message::builder()
        .from(from.parse()?)
        .to(to.parse()?)
        .subject(subject)
        .multipart(files_part(text, files))?;
    Ok(msg.formatted())
}

/// `raw` with the first occurrence of `from` replaced by `to` (a mail altered
/// in transit); None when `from` does not occur.
pub fn altered(raw: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    let pos = raw.windows(from.len()).position(|w| w == from)?;
    Some([&raw[..pos], to, &raw[pos + from.len()..]].concat())
}

/// RFC 5322 date for a Date header.
pub fn rfc2822(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc2822)
        .expect("a date of the years 0..9999 formats")
}
