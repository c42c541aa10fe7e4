//! Builds the robot's replies: a text body (and attachments) as a MIME entity
//! made by lettre, S/MIME-signed as a whole, under the outer headers; and,
//! for a reply carrying keys or PINs, the signed entity encrypted to the
//! recipients' certificates ([`compose_encrypted`], see [`super::encrypt`]).

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};

use openssl::x509::X509;

use super::encrypt::{self, EncryptError};
use super::sign::{self, Hp, Signer};

/// One outgoing reply before signing.
#[derive(Debug, Clone)]
pub struct Reply {
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    /// (file name, content type, data)
    pub attachments: Vec<(String, String, Vec<u8>)>,
    pub in_reply_to: Option<String>,
    /// Machine-readable `X-Mailra-*` headers (name without the prefix, value).
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("signing the reply: {0}")]
    Sign(#[from] sign::SignError),
    #[error("bad content type {0}")]
    ContentType(String),
    #[error("encrypting the reply: {0}")]
    Encrypt(#[from] EncryptError),
}

/// A signed, complete message and its Message-ID.
pub struct Composed {
    pub message_id: String,
    pub raw: Vec<u8>,
}

pub fn new_message_id(from: &str) -> String {
    let mut b = [0u8; 16];
    openssl::rand::rand_bytes(&mut b).expect("CSPRNG");
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("mailra.invalid");
    format!("<{}@{}>", hex::encode(b), domain)
}

/// Signs `reply` (not encrypted).
pub fn compose(
    reply: &Reply,
    signer: &Signer,
    date: time::OffsetDateTime,
) -> Result<Composed, ComposeError> {
    compose_encrypted(reply, signer, date, &[])
}

/// Signs `reply`, then, unless `encrypt_to` is empty, encrypts the signed
/// entity to every certificate of `encrypt_to` (AES-256-CBC, RSA key
/// transport). The outer header fields stay readable either way. Only the
/// holders of those certificates' keys can read an encrypted reply: pass
/// the certificate of *every* recipient, or send the others their own mail.
pub fn compose_encrypted(
    reply: &Reply,
    signer: &Signer,
    date: time::OffsetDateTime,
    encrypt_to: &[X509],
) -> Result<Composed, ComposeError> {
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(reply.body.replace('\n', "\r\n"));
    let entity = if reply.attachments.is_empty() {
        text.formatted()
    } else {
        let mut mp = MultiPart::mixed().singlepart(text);
        for (name, ct, data) in &reply.attachments {
            let ct = ContentType::parse(ct).map_err(|_| ComposeError::ContentType(ct.clone()))?;
            mp = mp.singlepart(Attachment::new(name.clone()).body(data.clone(), ct));
        }
        mp.formatted()
    };
    let message_id = new_message_id(&reply.from);
    let date = date
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut headers: Vec<(&str, String)> =
        vec![("From", reply.from.clone()), ("To", reply.to.join(", "))];
    if !reply.cc.is_empty() {
        headers.push(("Cc", reply.cc.join(", ")));
    }
    headers.push(("Subject", reply.subject.clone()));
    headers.push(("Date", date));
    headers.push(("Message-ID", message_id.clone()));
    if let Some(irt) = &reply.in_reply_to {
        headers.push(("In-Reply-To", irt.clone()));
        headers.push(("References", irt.clone()));
    }
    // RFC 9788: the header fields above travel inside the signature too.
    let hp = if encrypt_to.is_empty() {
        Hp::Clear
    } else {
        Hp::Cipher
    };
    let entity = sign::protect_headers_as(&headers, &entity, hp);
    let mut signed = sign::sign_detached(&entity, signer)?;
    if !encrypt_to.is_empty() {
        signed = encrypt::encrypt(&signed, encrypt_to)?;
    }
    headers.push(("Auto-Submitted", "auto-replied".into()));
    let tags: Vec<(String, String)> = reply
        .tags
        .iter()
        .map(|(k, v)| (format!("X-Mailra-{k}"), v.clone()))
        .collect();
    for (k, v) in &tags {
        headers.push((k.as_str(), v.clone()));
    }
    let raw = sign::assemble(&headers, &signed);
    Ok(Composed { message_id, raw })
}
