//! S/MIME verification of incoming mail.
//!
//! The robot acts on officers' signed mails, so "a signature somewhere in the mail is
//! valid" (what `openssl smime -verify` answers) is not enough: the signature must cover
//! the whole message, use current algorithms, come from an end-entity certificate of the
//! officer CA whose address is the From address, and have been made recently and around
//! the Date of the mail. `verify` applies every rule itself and reports each check, so the
//! rejection mail and `mailra verify` can say exactly which rule failed. It is pure (bytes
//! in, report out) and never quotes the received content back in its texts.

use std::fmt;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedAttributes, SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, UtcTime};
use der::oid::AssociatedOid;
use der::{Decode, Encode};
use mail_parser::{MessageParser, MimeHeaders};
use openssl::hash::{MessageDigest, hash};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{CrlStatus, X509, X509Crl, X509NameRef, X509StoreContext};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

/// What the robot trusts when verifying officers' mails.
pub struct Trust {
    /// The officer CA(s); chains are built only to these, never to a system store.
    pub officer_cas: Vec<X509>,
    /// CRLs of the officer CA(s); checked when non-empty.
    pub officer_crls: Vec<X509Crl>,
    /// The robot's own certificate: a mail signed with it is a loop or a forgery.
    pub robot_cert: Option<X509>,
    /// Accept SHA-1 and MD5 digests (off by default).
    pub allow_legacy_digests: bool,
    /// Oldest acceptable signing time relative to `now`.
    pub max_age: Duration,
}

impl Trust {
    /// Trust in the given officer CAs with the defaults: no CRLs, no robot certificate,
    /// no legacy digests, 14 days maximum age.
    pub fn new(officer_cas: Vec<X509>) -> Self {
        Trust {
            officer_cas,
            officer_crls: Vec::new(),
            robot_cert: None,
            allow_legacy_digests: false,
            max_age: Duration::days(14),
        }
    }
}

/// The checks, in the order they are evaluated and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Envelope,
    Structure,
    Algorithms,
    SignedAttributes,
    Digest,
    Signature,
    Chain,
    SignerCertificate,
    Revocation,
    Address,
    SigningTime,
}

impl Check {
    /// Every check, in the order they are evaluated.
    pub const ALL: [Check; 11] = [
        Check::Envelope,
        Check::Structure,
        Check::Algorithms,
        Check::SignedAttributes,
        Check::Digest,
        Check::Signature,
        Check::Chain,
        Check::SignerCertificate,
        Check::Revocation,
        Check::Address,
        Check::SigningTime,
    ];

    /// Short stable name for replies and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Check::Envelope => "envelope",
            Check::Structure => "structure",
            Check::Algorithms => "algorithms",
            Check::SignedAttributes => "signed-attributes",
            Check::Digest => "digest",
            Check::Signature => "signature",
            Check::Chain => "chain",
            Check::SignerCertificate => "signer-certificate",
            Check::Revocation => "revocation",
            Check::Address => "address",
            Check::SigningTime => "signing-time",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub check: Check,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// multipart/signed with a detached signature.
    Detached,
    /// application/pkcs7-mime; smime-type=signed-data.
    Opaque,
}

#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer's address (equal to From), lower-case.
    pub signer_email: String,
    pub signer_subject: String,
    pub signer_issuer: String,
    pub signer_serial_hex: String,
    pub signer_cert_der: Vec<u8>,
    pub signing_time: OffsetDateTime,
    pub shape: Shape,
    pub digest_name: &'static str,
    /// The signed MIME entity (canonical CRLF).
    pub content: Vec<u8>,
    /// Hex SHA-256 of `content`: the robot's exactly-once key.
    pub content_sha256: String,
}

/// The first check that failed; this module's error type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check}: {reason}")]
pub struct Failure {
    pub check: Check,
    pub reason: String,
}

#[derive(Debug)]
pub struct Report {
    /// The single From addr-spec, lower-case.
    pub from: Option<String>,
    /// The Subject that counts: the signed (protected) one when the signed
    /// content carries protected headers, else the outer one.
    pub subject: Option<String>,
    /// The outer, unsigned Subject as it arrived. It may only make a mail do
    /// less (a `[check]` here still makes a dry run), never more.
    pub outer_subject: Option<String>,
    /// The signed content carried protected headers (RFC 9788 `hp=`, or the
    /// older `protected-headers="v1"`): Subject, From and Date came from it.
    pub protected_headers: bool,
    pub message_id: Option<String>,
    pub date: Option<OffsetDateTime>,
    /// Every check evaluated, in order.
    pub checks: Vec<CheckResult>,
    pub outcome: Result<Verified, Failure>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(
                f,
                "{:<4} {:<18} {}",
                if c.ok { "ok" } else { "FAIL" },
                c.check.name(),
                c.detail
            )?;
        }
        match &self.outcome {
            Ok(v) => write!(
                f,
                "verified: signed by {} ({}), content sha256 {}",
                v.signer_email, v.signer_subject, v.content_sha256
            ),
            Err(e) => write!(f, "rejected: {e}"),
        }
    }
}

/// Verifies a raw incoming mail. Never panics; a report is produced for any input.
pub fn verify(raw: &[u8], trust: &Trust, now: OffsetDateTime) -> Report {
    let mut report = Report {
        from: None,
        subject: None,
        outer_subject: None,
        protected_headers: false,
        message_id: None,
        date: None,
        checks: Vec::new(),
        outcome: Err(Failure {
            check: Check::Envelope,
            reason: "not evaluated".into(),
        }),
    };
    let result = run(raw, trust, now, &mut report);
    // The verdict is the first failing check in order, whichever stage found it.
    report.outcome = match report.checks.iter().find(|c| !c.ok) {
        Some(c) => Err(Failure {
            check: c.check,
            reason: c.detail.clone(),
        }),
        None => result,
    };
    report
}

// ---------------------------------------------------------------------------------------
// The pipeline
// ---------------------------------------------------------------------------------------

fn record(report: &mut Report, check: Check, res: Result<String, String>) -> bool {
    let (ok, detail) = match res {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    report.checks.push(CheckResult { check, ok, detail });
    ok
}

fn fail(report: &mut Report, check: Check, reason: impl Into<String>) -> Failure {
    let reason = reason.into();
    record(report, check, Err(reason.clone()));
    Failure { check, reason }
}

/// Runs all checks; returns Err only when a failure makes the later checks impossible.
fn run(
    raw: &[u8],
    trust: &Trust,
    now: OffsetDateTime,
    report: &mut Report,
) -> Result<Verified, Failure> {
    // --- Envelope ------------------------------------------------------------------------
    let header_block = split_headers(raw).0;
    let fields = header_fields(header_block);
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Err(fail(report, Check::Envelope, "not a parsable mail"));
    };
    report.subject = msg.subject().map(|s| clip(s, 200));
    report.outer_subject = report.subject.clone();
    report.message_id = msg.message_id().map(|s| clip(s, 200));
    report.date = msg
        .date()
        .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok());
    let from_list: Vec<String> = msg
        .from()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let envelope = (|| {
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
    })();
    if from_list.len() == 1 && is_addr_spec(&from_list[0]) {
        report.from = Some(from_list[0].clone());
    }
    record(report, Check::Envelope, envelope);

    // --- Structure -----------------------------------------------------------------------
    let (shape, signed_content, p7) = match signature_layer(raw, &msg) {
        Ok(x) => x,
        Err(reason) => return Err(fail(report, Check::Structure, reason)),
    };
    let sd = match parse_signed_data(&p7) {
        Ok(sd) => sd,
        Err(reason) => return Err(fail(report, Check::Structure, reason)),
    };
    let signer_infos: Vec<&SignerInfo> = sd.signer_infos.0.iter().collect();
    if signer_infos.len() != 1 {
        return Err(fail(
            report,
            Check::Structure,
            format!(
                "{} SignerInfos; exactly one is required",
                signer_infos.len()
            ),
        ));
    }
    let si = signer_infos[0];
    let content: Vec<u8> = match (shape, &sd.encap_content_info.econtent) {
        (Shape::Detached, Some(_)) => {
            return Err(fail(
                report,
                Check::Structure,
                "the detached signature (p7s) carries its own content beside the signed part",
            ));
        }
        (Shape::Detached, None) => signed_content,
        (Shape::Opaque, None) => {
            return Err(fail(
                report,
                Check::Structure,
                "opaque signed-data without content",
            ));
        }
        (Shape::Opaque, Some(any)) => match any.decode_as::<OctetString>() {
            Ok(o) => o.into_bytes(),
            Err(_) => {
                return Err(fail(
                    report,
                    Check::Structure,
                    "signed content is not an OCTET STRING",
                ));
            }
        },
    };
    if let Err(reason) = check_inner_content(&content) {
        return Err(fail(report, Check::Structure, reason));
    }
    let protected = protected_headers(&content);
    if let Some(p) = &protected {
        report.protected_headers = true;
        report.subject = p.subject.clone();
        if p.date.is_some() {
            report.date = p.date;
        }
    }
    let certs = embedded_certs(&sd);
    let Some(signer) = find_signer(&si.sid, &certs) else {
        return Err(fail(
            report,
            Check::Structure,
            "the signer's certificate is not included in the signature",
        ));
    };
    let signer_x509 = signer.1.clone();
    let signer_subject = name_to_string(signer_x509.subject_name());
    record(
        report,
        Check::Structure,
        Ok(format!(
            "{}, one signer ({signer_subject})",
            match shape {
                Shape::Detached => "multipart/signed (detached)",
                Shape::Opaque => "application/pkcs7-mime signed-data (opaque)",
            }
        )),
    );

    // --- Algorithms ----------------------------------------------------------------------
    let pubkey = signer_x509.public_key().ok();
    let algs = check_algorithms(si, pubkey.as_ref(), trust.allow_legacy_digests);
    let digest = match algs {
        Ok((md, name, detail)) => {
            record(report, Check::Algorithms, Ok(detail));
            Some((md, name))
        }
        Err((usable, reason)) => {
            record(report, Check::Algorithms, Err(reason));
            usable
        }
    };

    // --- Signed attributes ---------------------------------------------------------------
    let attrs = match &si.signed_attrs {
        None => {
            record(
                report,
                Check::SignedAttributes,
                Err("no signed attributes".into()),
            );
            None
        }
        Some(sa) => match signed_attr_values(sa, &sd.encap_content_info.econtent_type) {
            Ok(v) => {
                record(
                    report,
                    Check::SignedAttributes,
                    Ok(format!(
                        "content-type, message-digest, signing-time {}",
                        fmt_time(v.signing_time)
                    )),
                );
                Some(v)
            }
            Err(reason) => {
                record(report, Check::SignedAttributes, Err(reason));
                None
            }
        },
    };

    // --- Digest --------------------------------------------------------------------------
    if let (Some((md, name)), Some(a)) = (digest, &attrs) {
        let res = match hash(md, &content) {
            Ok(d) if d.as_ref() == a.message_digest.as_slice() => {
                Ok(format!("{name} of the signed content matches"))
            }
            Ok(_) => Err(format!(
                "{name} of the signed content does not match the signed message-digest \
                 (content changed after signing)"
            )),
            Err(_) => Err(format!("{name} digest unavailable")),
        };
        record(report, Check::Digest, res);
    }

    // --- Signature -----------------------------------------------------------------------
    if let (Some((md, _)), Some(sa), Some(pk)) = (digest, &si.signed_attrs, &pubkey) {
        let res = verify_signature(md, sa, si.signature.as_bytes(), pk);
        record(report, Check::Signature, res);
    }

    // --- Chain ---------------------------------------------------------------------------
    let chain = verify_chain(
        &signer_x509,
        &certs,
        trust,
        now,
        attrs.as_ref().map(|a| a.signing_time),
    );
    record(report, Check::Chain, chain);

    // --- Signer certificate --------------------------------------------------------------
    let cert_check = check_signer_cert(&signer.0, &signer_x509, trust);
    record(report, Check::SignerCertificate, cert_check);

    // --- Revocation ----------------------------------------------------------------------
    let rev = check_revocation(&signer_x509, trust);
    record(report, Check::Revocation, rev);

    // --- Address -------------------------------------------------------------------------
    let cert_emails = cert_addresses(&signer_x509);
    let addr = match (
        &report.from,
        protected.as_ref().and_then(|p| p.from.as_ref()),
    ) {
        (_, Some(Err(reason))) => Err(reason.clone()),
        (Some(outer), Some(Ok(signed))) if outer != signed => Err(format!(
            "the outer From {outer} differs from the signed (protected) From {signed}"
        )),
        (None, _) => Err("no usable From address to compare".to_string()),
        (Some(from), _) => {
            if cert_emails.is_empty() {
                Err("the signer certificate carries no e-mail address".into())
            } else if cert_emails.iter().any(|e| e == from) {
                Ok(format!("certificate address {from} equals From"))
            } else {
                Err(format!(
                    "From {from} is not the certificate's address ({})",
                    cert_emails.join(", ")
                ))
            }
        }
    };
    let addr_ok = record(report, Check::Address, addr);

    // --- Signing time --------------------------------------------------------------------
    if let Some(a) = &attrs {
        let res = check_signing_time(a.signing_time, report.date, now, trust.max_age);
        record(report, Check::SigningTime, res);
    }

    let (Some((_, digest_name)), Some(a), true) = (digest, attrs, addr_ok) else {
        return Err(Failure {
            check: Check::Structure,
            reason: "verification incomplete".into(),
        });
    };
    let content_sha256 = hash(MessageDigest::sha256(), &content)
        .map(hex::encode)
        .unwrap_or_default();
    Ok(Verified {
        signer_email: report.from.clone().unwrap_or_default(),
        signer_subject,
        signer_issuer: name_to_string(signer_x509.issuer_name()),
        signer_serial_hex: signer_x509
            .serial_number()
            .to_bn()
            .and_then(|b| b.to_hex_str().map(|s| s.to_ascii_lowercase()))
            .unwrap_or_default(),
        signer_cert_der: signer_x509.to_der().unwrap_or_default(),
        signing_time: a.signing_time,
        shape,
        digest_name,
        content,
        content_sha256,
    })
}

// ---------------------------------------------------------------------------------------
// Headers and MIME layering
// ---------------------------------------------------------------------------------------

/// Splits at the first empty line (CRLF or bare LF); returns (headers, body).
fn split_headers(raw: &[u8]) -> (&[u8], &[u8]) {
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

fn is_addr_spec(s: &str) -> bool {
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
fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

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

/// Finds the signature layer, which must be the whole message.
/// Returns the shape, the signed bytes (detached only) and the CMS blob.
fn signature_layer(
    raw: &[u8],
    msg: &mail_parser::Message<'_>,
) -> Result<(Shape, Vec<u8>, Vec<u8>), String> {
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
                return Err(format!(
                    "multipart/signed with unsupported protocol {}",
                    clip(&protocol, 60)
                ));
            }
            let boundary = ct
                .attribute("boundary")
                .ok_or("multipart/signed without boundary")?;
            let body = split_headers(raw).1;
            let parts = split_multipart(body, boundary.as_bytes())
                .ok_or("multipart/signed is not properly delimited")?;
            if parts.len() != 2 {
                return Err(format!(
                    "multipart/signed has {} parts; exactly two are required",
                    parts.len()
                ));
            }
            let sig = MessageParser::default()
                .parse(parts[1])
                .ok_or("the signature part is unreadable")?;
            let sig_type = mime_type(sig.root_part().content_type());
            if sig_type != protocol {
                return Err(format!(
                    "the second part is {} instead of the declared protocol {protocol}",
                    clip(&sig_type, 60)
                ));
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
                    return Err(format!(
                        "{} mail is not accepted: send the mail signed and not encrypted",
                        clip(other, 40)
                    ));
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
                return Err("the mail is not signed".into());
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
                return Err("the mail is not signed".into());
            }
            Err(format!(
                "the signature does not cover the whole mail: parts outside the signature \
                 are ignored ({})",
                outside_parts(msg).join(", ")
            ))
        }
        _ => Err(format!(
            "the mail is not signed (Content-Type {})",
            clip(&t, 60)
        )),
    }
}

fn wrapped_or_unsigned(msg: &mail_parser::Message<'_>) -> String {
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
        "the mail is not signed".into()
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
fn check_inner_content(content: &[u8]) -> Result<(), String> {
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

/// Header fields the sender put inside the signature (RFC 9788 header
/// protection, or Thunderbird's older `protected-headers="v1"`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Protected {
    subject: Option<String>,
    /// The signed From: one valid address, or why it is unusable.
    from: Option<Result<String, String>>,
    date: Option<OffsetDateTime>,
}

/// The protected headers of the signed content, when its root Content-Type
/// says it carries them (`hp="clear"`/`hp="cipher"` or `protected-headers="v1"`).
fn protected_headers(content: &[u8]) -> Option<Protected> {
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

// ---------------------------------------------------------------------------------------
// CMS
// ---------------------------------------------------------------------------------------

const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_ENVELOPED_DATA: &str = "1.2.840.113549.1.7.3";
const OID_AUTH_ENVELOPED_DATA: &str = "1.2.840.113549.1.9.16.1.23";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const OID_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";

fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

fn parse_signed_data(p7: &[u8]) -> Result<SignedData, String> {
    let der = ber_to_der(p7).map_err(|e| format!("the signature is not valid CMS ({e})"))?;
    let ci = ContentInfo::from_der(&der).map_err(|_| "the signature is not valid CMS")?;
    let ct = ci.content_type.to_string();
    if ct == OID_ENVELOPED_DATA || ct == OID_AUTH_ENVELOPED_DATA {
        return Err(
            "encrypted (enveloped-data) mail is not accepted: send the mail signed and not \
             encrypted"
                .into(),
        );
    }
    if ct != OID_SIGNED_DATA {
        return Err(format!("CMS content type {ct} is not signed-data"));
    }
    ci.content
        .decode_as::<SignedData>()
        .map_err(|_| "the CMS signed-data is malformed".into())
}

/// Converts BER (indefinite lengths, constructed OCTET STRINGs, as NSS and OpenSSL's
/// streaming mode write them) to DER so that the `cms` crate can parse it.
fn ber_to_der(input: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut pos = 0;
    let mut out = Vec::with_capacity(input.len());
    ber_element(input, &mut pos, &mut out, 0)?;
    // Some writers pad with zero bytes after the outer element.
    if input[pos..].iter().any(|&b| b != 0) {
        return Err("trailing data");
    }
    Ok(out)
}

fn ber_element(
    input: &[u8],
    pos: &mut usize,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), &'static str> {
    const TRUNC: &str = "truncated";
    if depth > 64 {
        return Err("nesting too deep");
    }
    let tag_start = *pos;
    let first = *input.get(*pos).ok_or(TRUNC)?;
    *pos += 1;
    if first & 0x1f == 0x1f {
        loop {
            let b = *input.get(*pos).ok_or(TRUNC)?;
            *pos += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let tag = &input[tag_start..*pos];
    let constructed = first & 0x20 != 0;
    let lb = *input.get(*pos).ok_or(TRUNC)?;
    *pos += 1;
    let len: Option<usize> = if lb == 0x80 {
        None
    } else if lb & 0x80 == 0 {
        Some(lb as usize)
    } else {
        let n = (lb & 0x7f) as usize;
        if n > 4 {
            return Err("length too large");
        }
        let mut l = 0usize;
        for _ in 0..n {
            l = (l << 8) | *input.get(*pos).ok_or(TRUNC)? as usize;
            *pos += 1;
        }
        Some(l)
    };
    if !constructed {
        let l = len.ok_or("indefinite length on a primitive")?;
        let end = pos.checked_add(l).ok_or(TRUNC)?;
        let content = input.get(*pos..end).ok_or(TRUNC)?;
        *pos = end;
        out.extend_from_slice(tag);
        push_len(out, l);
        out.extend_from_slice(content);
        return Ok(());
    }
    let mut inner = Vec::new();
    match len {
        None => loop {
            if input.get(*pos..*pos + 2).ok_or(TRUNC)? == [0, 0] {
                *pos += 2;
                break;
            }
            ber_element(input, pos, &mut inner, depth + 1)?;
        },
        Some(l) => {
            let end = pos.checked_add(l).ok_or(TRUNC)?;
            if end > input.len() {
                return Err(TRUNC);
            }
            while *pos < end {
                ber_element(input, pos, &mut inner, depth + 1)?;
            }
            if *pos != end {
                return Err("length mismatch");
            }
        }
    }
    if first == 0x24 {
        // Constructed OCTET STRING: DER wants the concatenated primitive form.
        let mut flat = Vec::new();
        let mut p = 0;
        while p < inner.len() {
            if inner[p] != 0x04 {
                return Err("bad constructed OCTET STRING");
            }
            let mut q = p + 1;
            let (l, hl) = der_len(&inner[q..]).ok_or(TRUNC)?;
            q += hl;
            flat.extend_from_slice(inner.get(q..q + l).ok_or(TRUNC)?);
            p = q + l;
        }
        out.push(0x04);
        push_len(out, flat.len());
        out.extend_from_slice(&flat);
    } else {
        out.extend_from_slice(tag);
        push_len(out, inner.len());
        out.extend_from_slice(&inner);
    }
    Ok(())
}

fn der_len(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first & 0x80 == 0 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7f) as usize;
    let mut l = 0usize;
    for i in 0..n {
        l = (l << 8) | *b.get(1 + i)? as usize;
    }
    Some((l, 1 + n))
}

fn push_len(out: &mut Vec<u8>, l: usize) {
    if l < 0x80 {
        out.push(l as u8);
    } else {
        let bytes = l.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// The SignedData certificates, as parsed (for extensions) and as OpenSSL objects.
fn embedded_certs(sd: &SignedData) -> Vec<(x509_cert::Certificate, X509)> {
    let mut out = Vec::new();
    if let Some(set) = &sd.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(c) = choice
                && let Ok(der) = c.to_der()
                && let Ok(x) = X509::from_der(&der)
            {
                out.push((c.clone(), x));
            }
        }
    }
    out
}

fn find_signer<'a>(
    sid: &SignerIdentifier,
    certs: &'a [(x509_cert::Certificate, X509)],
) -> Option<&'a (x509_cert::Certificate, X509)> {
    certs.iter().find(|(c, x)| match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => x
            .subject_key_id()
            .is_some_and(|k| k.as_slice() == ski.0.as_bytes()),
    })
}

fn digest_by_oid(o: &str) -> Option<(MessageDigest, &'static str, bool)> {
    Some(match o {
        "2.16.840.1.101.3.4.2.1" => (MessageDigest::sha256(), "SHA-256", false),
        "2.16.840.1.101.3.4.2.2" => (MessageDigest::sha384(), "SHA-384", false),
        "2.16.840.1.101.3.4.2.3" => (MessageDigest::sha512(), "SHA-512", false),
        "1.3.14.3.2.26" => (MessageDigest::sha1(), "SHA-1", true),
        "1.2.840.113549.2.5" => (MessageDigest::md5(), "MD5", true),
        _ => return None,
    })
}

/// Signature algorithm: (key kind, hash it implies if any, name).
fn sig_alg_by_oid(o: &str) -> Option<(Id, Option<&'static str>, &'static str)> {
    Some(match o {
        "1.2.840.113549.1.1.1" => (Id::RSA, None, "RSA PKCS#1 v1.5"),
        "1.2.840.113549.1.1.11" => (Id::RSA, Some("SHA-256"), "sha256WithRSAEncryption"),
        "1.2.840.113549.1.1.12" => (Id::RSA, Some("SHA-384"), "sha384WithRSAEncryption"),
        "1.2.840.113549.1.1.13" => (Id::RSA, Some("SHA-512"), "sha512WithRSAEncryption"),
        "1.2.840.113549.1.1.5" => (Id::RSA, Some("SHA-1"), "sha1WithRSAEncryption"),
        "1.2.840.113549.1.1.4" => (Id::RSA, Some("MD5"), "md5WithRSAEncryption"),
        "1.2.840.10045.2.1" => (Id::EC, None, "ECDSA"),
        "1.2.840.10045.4.3.2" => (Id::EC, Some("SHA-256"), "ecdsa-with-SHA256"),
        "1.2.840.10045.4.3.3" => (Id::EC, Some("SHA-384"), "ecdsa-with-SHA384"),
        "1.2.840.10045.4.3.4" => (Id::EC, Some("SHA-512"), "ecdsa-with-SHA512"),
        "1.2.840.10045.4.1" => (Id::EC, Some("SHA-1"), "ecdsa-with-SHA1"),
        _ => return None,
    })
}

type DigestChoice = (MessageDigest, &'static str);

/// Ok((digest, name, detail)) or Err((digest usable for further checks, reason)).
#[allow(clippy::type_complexity)]
fn check_algorithms(
    si: &SignerInfo,
    key: Option<&PKey<Public>>,
    allow_legacy: bool,
) -> Result<(MessageDigest, &'static str, String), (Option<DigestChoice>, String)> {
    let d_oid = si.digest_alg.oid.to_string();
    let Some((md, dname, legacy)) = digest_by_oid(&d_oid) else {
        return Err((None, format!("digest algorithm {d_oid} is not supported")));
    };
    let usable = Some((md, dname));
    let s_oid = si.signature_algorithm.oid.to_string();
    let Some((kind, implied, sname)) = sig_alg_by_oid(&s_oid) else {
        return Err((
            None,
            format!("signature algorithm {s_oid} is not supported (RSA PKCS#1 v1.5 or ECDSA)"),
        ));
    };
    if legacy && !allow_legacy {
        return Err((usable, format!("{dname} is no longer accepted as digest")));
    }
    if let Some(h) = implied
        && h != dname
    {
        return Err((
            None,
            format!("signature algorithm {sname} does not match digest {dname}"),
        ));
    }
    let Some(key) = key else {
        return Err((None, "the signer's public key is unreadable".into()));
    };
    if key.id() != kind {
        return Err((
            None,
            format!("signature algorithm {sname} does not match the signer's key type"),
        ));
    }
    let key_desc = match kind {
        Id::RSA => {
            let bits = key.bits();
            if bits < 2048 {
                return Err((usable, format!("RSA key of {bits} bits (2048 required)")));
            }
            format!("RSA {bits}")
        }
        _ => {
            let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
            match curve {
                Some(Nid::X9_62_PRIME256V1) => "ECDSA P-256".to_string(),
                Some(Nid::SECP384R1) => "ECDSA P-384".to_string(),
                _ => return Err((usable, "EC key on a curve other than P-256/P-384".into())),
            }
        }
    };
    Ok((md, dname, format!("{dname}, {sname}, {key_desc}")))
}

struct AttrValues {
    message_digest: Vec<u8>,
    signing_time: OffsetDateTime,
}

fn signed_attr_values(
    sa: &SignedAttributes,
    econtent_type: &ObjectIdentifier,
) -> Result<AttrValues, String> {
    let single = |o: &str, name: &str| -> Result<der::Any, String> {
        let found: Vec<_> = sa.iter().filter(|a| a.oid == oid(o)).collect();
        match found.as_slice() {
            [] => Err(format!("{name} attribute missing")),
            [a] if a.values.len() == 1 => Ok(a.values.get(0).cloned().ok_or("")?),
            _ => Err(format!("{name} attribute must occur once with one value")),
        }
    };
    let ct = single(OID_CONTENT_TYPE, "content-type")?
        .decode_as::<ObjectIdentifier>()
        .map_err(|_| "content-type attribute malformed")?;
    if &ct != econtent_type {
        return Err(format!(
            "content-type attribute {ct} differs from the content type {econtent_type}"
        ));
    }
    let md = single(OID_MESSAGE_DIGEST, "message-digest")?
        .decode_as::<OctetString>()
        .map_err(|_| "message-digest attribute malformed")?
        .into_bytes();
    let st_any = single(OID_SIGNING_TIME, "signing-time")?;
    let secs = if let Ok(t) = st_any.decode_as::<UtcTime>() {
        t.to_unix_duration().as_secs()
    } else if let Ok(t) = st_any.decode_as::<GeneralizedTime>() {
        t.to_unix_duration().as_secs()
    } else {
        return Err("signing-time attribute malformed".into());
    };
    let signing_time = OffsetDateTime::from_unix_timestamp(secs as i64)
        .map_err(|_| "signing-time out of range")?;
    Ok(AttrValues {
        message_digest: md,
        signing_time,
    })
}

fn verify_signature(
    md: MessageDigest,
    sa: &SignedAttributes,
    sig: &[u8],
    key: &PKey<Public>,
) -> Result<String, String> {
    // The signature covers the DER of the attributes with the universal SET OF tag (the
    // encoding of the SetOfVec itself), not the [0] IMPLICIT form found in the SignerInfo.
    let der = sa
        .to_der()
        .map_err(|_| "signed attributes cannot be encoded")?;
    let ok = Verifier::new(md, key)
        .and_then(|mut v| {
            v.update(&der)?;
            v.verify(sig)
        })
        .unwrap_or(false);
    if ok {
        Ok("signature over the signed attributes is valid".into())
    } else {
        Err("the signature does not verify with the signer's public key".into())
    }
}

// ---------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------

/// A certificate name for verdict texts: encoded order, values clipped.
fn name_to_string(name: &X509NameRef) -> String {
    match crate::model::Dn::from_x509_name(name) {
        Ok(dn) => {
            dn.0.iter()
                .map(|(key, val)| format!("{key}={}", clip(val, 100)))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Err(e) => format!("<{e}>"),
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn verify_chain(
    cert: &X509,
    certs: &[(x509_cert::Certificate, X509)],
    trust: &Trust,
    now: OffsetDateTime,
    signing_time: Option<OffsetDateTime>,
) -> Result<String, String> {
    if trust.officer_cas.is_empty() {
        return Err("no officer CA configured".into());
    }
    let inner = || -> Result<Result<String, String>, openssl::error::ErrorStack> {
        let mut sb = X509StoreBuilder::new()?;
        for ca in &trust.officer_cas {
            sb.add_cert(ca.clone())?;
        }
        let mut param = X509VerifyParam::new()?;
        param.set_time(now.unix_timestamp() as _);
        sb.set_param(&param)?;
        let store = sb.build();
        let mut untrusted = Stack::new()?;
        for (_, x) in certs {
            untrusted.push(x.clone())?;
        }
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, cert, &untrusted, |c| {
            let ok = c.verify_cert()?;
            Ok(if ok {
                let top = c
                    .chain()
                    .and_then(|ch| ch.iter().last().map(|x| name_to_string(x.subject_name())))
                    .unwrap_or_default();
                Ok(format!("chains to {top} at {}", fmt_time(now)))
            } else {
                Err(format!(
                    "no valid chain to the officer CA at {}: {}",
                    fmt_time(now),
                    c.error().error_string()
                ))
            })
        })
    };
    let res = inner().map_err(|_| "chain verification failed".to_string())??;
    if let Some(st) = signing_time {
        let (_, x) = certs
            .iter()
            .find(|(_, x)| x.to_der().ok() == cert.to_der().ok())
            .ok_or("signer certificate missing")?;
        let not_before = asn1_to_unix(x.not_before());
        let not_after = asn1_to_unix(x.not_after());
        let t = st.unix_timestamp();
        if not_before.is_none_or(|nb| t < nb) || not_after.is_none_or(|na| t > na) {
            return Err(format!(
                "the signer certificate was not valid at the signing time {}",
                fmt_time(st)
            ));
        }
    }
    Ok(res)
}

fn asn1_to_unix(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(d.days as i64 * 86_400 + d.secs as i64)
}

fn check_signer_cert(
    c: &x509_cert::Certificate,
    x: &X509,
    trust: &Trust,
) -> Result<String, String> {
    if let Some(robot) = &trust.robot_cert
        && robot.to_der().ok() == x.to_der().ok()
    {
        return Err("the mail is signed with the robot's own certificate".into());
    }
    let mut seen_eku = false;
    let mut seen_ku = false;
    for ext in c.tbs_certificate.extensions.iter().flatten() {
        let v = ext.extn_value.as_bytes();
        if ext.extn_id == BasicConstraints::OID {
            let bc = BasicConstraints::from_der(v).map_err(|_| "basicConstraints malformed")?;
            if bc.ca {
                return Err("the signer certificate is a CA certificate".into());
            }
        } else if ext.extn_id == KeyUsage::OID {
            seen_ku = true;
            let ku = KeyUsage::from_der(v).map_err(|_| "keyUsage malformed")?;
            if !ku.digital_signature() && !ku.non_repudiation() {
                return Err("key usage allows neither digitalSignature nor nonRepudiation".into());
            }
        } else if ext.extn_id == ExtendedKeyUsage::OID {
            seen_eku = true;
            let eku = ExtendedKeyUsage::from_der(v).map_err(|_| "extKeyUsage malformed")?;
            if !eku.0.contains(&oid(OID_EMAIL_PROTECTION)) {
                return Err("extended key usage lacks emailProtection".into());
            }
        }
    }
    Ok(format!(
        "end-entity certificate{}{}",
        if seen_ku { ", key usage ok" } else { "" },
        if seen_eku { ", emailProtection" } else { "" }
    ))
}

fn check_revocation(x: &X509, trust: &Trust) -> Result<String, String> {
    if trust.officer_crls.is_empty() {
        return Ok("no CRL configured".into());
    }
    let issuer = x.issuer_name().to_der().ok();
    let mut checked = 0;
    for crl in &trust.officer_crls {
        if crl.issuer_name().to_der().ok() != issuer {
            continue;
        }
        let ca = trust
            .officer_cas
            .iter()
            .find(|ca| ca.subject_name().to_der().ok() == issuer);
        let Some(ca) = ca else { continue };
        let sig_ok = ca
            .public_key()
            .and_then(|k| crl.verify(&k))
            .unwrap_or(false);
        if !sig_ok {
            return Err("the officer CA's CRL has an invalid signature".into());
        }
        checked += 1;
        match crl.get_by_cert(x) {
            CrlStatus::NotRevoked => {}
            CrlStatus::Revoked(r) | CrlStatus::RemoveFromCrl(r) => {
                return Err(format!(
                    "the signer certificate is revoked (since {})",
                    r.revocation_date()
                ));
            }
        }
    }
    if checked == 0 {
        Ok("no CRL for the signer's issuer".into())
    } else {
        Ok(format!("not revoked ({checked} CRL checked)"))
    }
}

/// SAN rfc822Names, else the subject's emailAddress attributes; lower-case.
fn cert_addresses(x: &X509) -> Vec<String> {
    let san: Vec<String> = x
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|g| g.email().map(|e| e.trim().to_ascii_lowercase()))
                .collect()
        })
        .unwrap_or_default();
    if !san.is_empty() {
        return san;
    }
    x.subject_name()
        .entries_by_nid(Nid::PKCS9_EMAILADDRESS)
        .filter_map(|e| {
            e.data()
                .to_string()
                .ok()
                .map(|s| s.trim().to_ascii_lowercase())
        })
        .collect()
}

fn check_signing_time(
    st: OffsetDateTime,
    date: Option<OffsetDateTime>,
    now: OffsetDateTime,
    max_age: Duration,
) -> Result<String, String> {
    if st > now + Duration::minutes(5) {
        return Err(format!("signing time {} is in the future", fmt_time(st)));
    }
    if now - st > max_age {
        return Err(format!(
            "signing time {} is older than {} days",
            fmt_time(st),
            max_age.whole_days()
        ));
    }
    let Some(date) = date else {
        return Err("no readable Date header to compare with the signing time".into());
    };
    if (date - st).abs() > Duration::hours(1) {
        return Err(format!(
            "Date header {} is more than 1 hour from the signing time {}",
            fmt_time(date),
            fmt_time(st)
        ));
    }
    Ok(format!("signed at {}", fmt_time(st)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ber_to_der_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            // definite DER passes through
            (
                &[0x30, 0x03, 0x02, 0x01, 0x05],
                Some(&[0x30, 0x03, 0x02, 0x01, 0x05]),
            ),
            // indefinite SEQUENCE
            (
                &[0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00],
                Some(&[0x30, 0x03, 0x02, 0x01, 0x05]),
            ),
            // constructed OCTET STRING flattened
            (
                &[
                    0x24, 0x80, 0x04, 0x01, 0xaa, 0x04, 0x02, 0xbb, 0xcc, 0x00, 0x00,
                ],
                Some(&[0x04, 0x03, 0xaa, 0xbb, 0xcc]),
            ),
            // trailing zero padding tolerated
            (&[0x05, 0x00, 0x00, 0x00], Some(&[0x05, 0x00])),
            // truncated
            (&[0x30, 0x05, 0x02, 0x01], None),
            (&[0x30, 0x80, 0x02, 0x01, 0x05], None),
            // indefinite primitive is invalid
            (&[0x04, 0x80, 0x00, 0x00], None),
            (&[], None),
        ];
        for (input, expected) in cases {
            assert_eq!(ber_to_der(input).ok().as_deref(), *expected, "{input:02x?}");
        }
    }

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
    fn signing_time_table() {
        let now = datetime!(2024-01-15 12:00 UTC);
        let max = Duration::days(14);
        let cases = [
            (now - Duration::minutes(1), Some(now), true),
            (now + Duration::minutes(4), Some(now), true),
            (now + Duration::minutes(6), Some(now), false),
            (
                now - Duration::days(15),
                Some(now - Duration::days(15)),
                false,
            ),
            (
                now - Duration::minutes(10),
                Some(now + Duration::minutes(55)),
                false,
            ),
            (
                now - Duration::minutes(10),
                Some(now + Duration::minutes(45)),
                true,
            ),
            (now - Duration::minutes(10), None, false),
        ];
        for (st, date, ok) in cases {
            assert_eq!(
                check_signing_time(st, date, now, max).is_ok(),
                ok,
                "{st} {date:?}"
            );
        }
    }

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
