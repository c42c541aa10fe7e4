//! S/MIME verification of incoming mail.
//!
//! The robot acts on officers' signed mails, so "a signature somewhere in the mail is
//! valid" (what `openssl smime -verify` answers) is not enough: the signature must cover
//! the whole message, use current algorithms, come from an end-entity certificate of the
//! officer CA whose address is the From address, and have been made recently and around
//! the Date of the mail. `verify` applies every rule itself and reports each check, so the
//! rejection mail and `mailra verify` can say exactly which rule failed. It is pure (bytes
//! in, report out) and never quotes the received content back in its texts.
//!
//! The stages live in files by concern: `headers` (the envelope and protected
//! headers), `layers` (where the signature sits in the MIME structure), `cms`
//! (decoding the signature), `algorithms` (accepted algorithms, digest and
//! signature), `chain` (the signer certificate, its chain, revocation and
//! address) and `signing_time`. This file holds the public types and `run`,
//! which calls the stages in the order of [`Check::ALL`].

mod algorithms;
mod chain;
mod cms;
mod headers;
mod layers;
mod signing_time;

use std::fmt;

use ::cms::signed_data::SignerInfo;
use mail_parser::MessageParser;
use openssl::hash::{MessageDigest, hash};
use openssl::x509::{X509, X509Crl};
use time::{Duration, OffsetDateTime};

use self::cms::{
    embedded_certs, find_signer, parse_signed_data, signed_attr_values, signed_content,
};
use algorithms::{check_algorithms, check_digest, verify_signature};
use chain::{check_address, check_revocation, check_signer_cert, name_to_string, verify_chain};
use headers::{check_envelope, clip, from_addresses, is_addr_spec, protected_headers};
use layers::{check_inner_content, signature_layer};
use signing_time::{check_signing_time, fmt_time};

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
    /// The mail carries no signature at all (as opposed to a bad one).
    pub unsigned: bool,
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
        unsigned: false,
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
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Err(fail(report, Check::Envelope, "not a parsable mail"));
    };
    report.subject = msg.subject().map(|s| clip(s, 200));
    report.outer_subject = report.subject.clone();
    report.message_id = msg.message_id().map(|s| clip(s, 200));
    report.date = msg
        .date()
        .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok());
    let from_list = from_addresses(&msg);
    let envelope = check_envelope(raw, &msg, &from_list);
    if from_list.len() == 1 && is_addr_spec(&from_list[0]) {
        report.from = Some(from_list[0].clone());
    }
    record(report, Check::Envelope, envelope);

    // --- Structure -----------------------------------------------------------------------
    let (shape, detached, p7) = match signature_layer(raw, &msg) {
        Ok(x) => x,
        Err(e) => {
            let (unsigned, reason) = e.into_parts();
            report.unsigned = unsigned;
            return Err(fail(report, Check::Structure, reason));
        }
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
    let content = match signed_content(shape, &sd, detached) {
        Ok(c) => c,
        Err(reason) => return Err(fail(report, Check::Structure, reason)),
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
        let res = check_digest(md, name, &content, &a.message_digest);
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
    let addr = check_address(
        &signer_x509,
        report.from.as_ref(),
        protected.as_ref().and_then(|p| p.from.as_ref()),
    );
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
