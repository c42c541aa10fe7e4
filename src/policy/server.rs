//! Validation of the server-certificate forms 5-3-1 (issue), 5-3-2 (renew) and
//! 5-3-3 (revoke): every rule of SPEC §4, turned into typed [`ServerRequest`]s.
//!
//! Decisions only: the registry and the certificate store come in through [`Context`];
//! a check whose data is absent is skipped, which is how `mailra check FILE.tsv` works
//! offline for officers. A file with any invalid row is not executed at all, so every
//! error of every row is collected instead of stopping at the first.

use std::collections::HashMap;

use der::Decode;
use openssl::asn1::Asn1Object;
use openssl::bn::BigNum;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use openssl::x509::X509Name;
use thiserror::Error;

use crate::intake::tsv::{self, Record};
use crate::model::{
    CertLookup, CertStatus, Dn, FormKind, Institution, IssueRow, Profile, RenewRow,
    RevocationReason, RevokeRow, RowError, Serial, ServerRequest,
};
use crate::policy::dn;
use crate::policy::goodkey::{self, KeyRule, WeakKey};
use crate::policy::keyreuse::{self, KeyReuse, ReservedKey};

/// Fields per record of every server form.
pub const FIELDS: usize = 13;
/// Records per server-form file.
pub const MAX_RECORDS: usize = 99;
pub const MAX_CSR_LEN: usize = 2048;
pub const MAX_MAIL_LEN: usize = 78;
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_SOFTWARE_LEN: usize = 128;
pub const MAX_COMMENT_LEN: usize = 128;
pub const MAX_SERIAL_LEN: usize = 50;
pub const MAX_DNS_NAMES: usize = 8;
pub const MAX_DNS_FIELD_LEN: usize = 250;

/// What the checks may consult. `None` parts skip the checks that need them.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    pub institution: Option<&'a Institution>,
    pub certs: Option<&'a dyn CertLookup>,
    /// Whether the instance has an ECDSA P-384 issuing CA (`ca.ec_cert`);
    /// without one, profile 11 is not offered. `None` (offline) skips the check.
    pub ecdsa_ca: Option<bool>,
    /// Keys never certified: the robot's, the CAs', the officers' (see `policy::keyreuse`).
    pub reserved_keys: &'a [ReservedKey],
}

/// The outcome of checking one file. `rows` only matters when `errors` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checked {
    pub kind: Option<FormKind>,
    pub rows: Vec<ServerRequest>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
}

/// What is wrong with a CSR (field 7); its Display is the rule in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CsrError {
    #[error("is required")]
    Missing,
    #[error(
        "contains the -----BEGIN/END CERTIFICATE REQUEST----- lines; write only the base64 body between them, on one line"
    )]
    PemArmor,
    #[error("is {0} characters, at most {MAX_CSR_LEN} allowed")]
    TooLong(usize),
    #[error("may contain only base64 characters (A-Z a-z 0-9 + / =) on one line, not {0}")]
    BadChars(String),
    #[error("is not valid base64")]
    Base64,
    #[error("is not a PKCS#10 certificate request")]
    NotCsr,
    #[error("profile {profile} needs {needed} key, the CSR has {found}")]
    Key {
        profile: u8,
        needed: &'static str,
        found: String,
    },
    #[error(
        "profile {profile} CSRs must be signed with {allowed}, this one is signed with {found}"
    )]
    SigAlg {
        profile: u8,
        allowed: &'static str,
        found: String,
    },
    #[error("the CSR's signature does not verify (the CSR is damaged or was edited)")]
    BadSignature,
    #[error(
        "the CSR's rsaEncryption key must carry NULL algorithm parameters (RFC 3279); regenerate the CSR with a standard tool"
    )]
    RsaParams,
    #[error(transparent)]
    Weak(#[from] WeakKey),
    #[error(transparent)]
    Reused(#[from] KeyReuse),
}

const RSA_SIGS: [(&str, &str); 5] = [
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
];
const EC_SIGS: [(&str, &str); 2] = [
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
];
const OTHER_SIGS: [(&str, &str); 3] = [
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
];

/// English field names of the server forms (seed names translated).
fn field_name(kind: Option<FormKind>, n: usize) -> &'static str {
    match (kind, n) {
        (_, 1) => "subject DN",
        (Some(FormKind::ServerRevoke), 4) => "serial",
        (Some(FormKind::ServerRevoke), 5) => "reason",
        (Some(FormKind::ServerRevoke), 6) => "reason comment",
        (Some(FormKind::ServerRevoke), 10) => "admin mail",
        (Some(FormKind::ServerRevoke), _) => "unused",
        (_, 2) => "profile ID",
        (Some(FormKind::ServerRenew) | None, 4) => "serial",
        (None, 5) => "reason",
        (None, 6) => "reason comment",
        (_, 7) => "CSR",
        (_, 8) => "admin name",
        (_, 9) => "admin dept",
        (_, 10) => "admin mail",
        (_, 11) => "admin FQDN",
        (_, 12) => "software",
        (_, 13) => "dNSName",
        _ => "unused",
    }
}

fn err(line: usize, kind: Option<FormKind>, n: usize, rule: impl Into<String>) -> RowError {
    RowError {
        line,
        field: Some(n),
        field_name: field_name(kind, n),
        rule: rule.into(),
    }
}

/// Decodes, detects and validates a whole file.
pub fn check_file(bytes: &[u8], ctx: &Context) -> Checked {
    let file = match tsv::parse(bytes, FIELDS, MAX_RECORDS) {
        Ok(f) => f,
        Err(errors) => {
            return Checked {
                errors: errors
                    .into_iter()
                    .map(|mut e| {
                        if let Some(n) = e.field {
                            e.field_name = field_name(None, n);
                        }
                        e
                    })
                    .collect(),
                ..Checked::default()
            };
        }
    };
    let (kind, mut errors, fits) = detect(&file.records);
    let mut rows = Vec::new();
    if let Some(kind) = kind {
        for (rec, _) in file.records.iter().zip(&fits).filter(|(_, f)| **f) {
            let mut row = RowCheck {
                rec,
                kind,
                errors: Vec::new(),
            };
            let req = match kind {
                FormKind::ServerIssue => row.issue(ctx).map(ServerRequest::Issue),
                FormKind::ServerRenew => row.renew(ctx).map(ServerRequest::Renew),
                FormKind::ServerRevoke => row.revoke(ctx).map(ServerRequest::Revoke),
            };
            errors.append(&mut row.errors);
            rows.extend(req);
        }
        errors.extend(duplicate_serials(&file.records, &fits, kind));
        errors.extend(
            keyreuse::repeated_in_file(&rows, Dn::same_as)
                .into_iter()
                .map(|(line, e)| err(line, Some(kind), 7, CsrError::Reused(e).to_string())),
        );
    }
    errors.sort_by_key(|e| (e.line, e.field.unwrap_or(0)));
    Checked {
        kind,
        rows,
        errors,
        warnings: file.warnings,
    }
}

fn classify(rec: &Record) -> Option<FormKind> {
    let csr = !rec.fields[6].is_empty();
    let serial = !rec.fields[3].is_empty();
    match (csr, serial) {
        (true, false) => Some(FormKind::ServerIssue),
        (true, true) => Some(FormKind::ServerRenew),
        (false, true) => Some(FormKind::ServerRevoke),
        (false, false) => None,
    }
}

fn describe(kind: FormKind) -> &'static str {
    match kind {
        FormKind::ServerIssue => "a CSR and no serial",
        FormKind::ServerRenew => "a CSR and a serial",
        FormKind::ServerRevoke => "a serial and no CSR",
    }
}

/// Detects the form of a file by content (TSV files carry no header):
/// a CSR (field 7) without a serial (field 4) is 5-3-1, a CSR with a serial 5-3-2,
/// a serial without a CSR 5-3-3 (its reason, field 5, is then required).
///
/// One form per file, and the **first** row decides: that is the row an officer looks
/// at first, and the rule is easy to state in an error. Every other row that looks like
/// another form, or like none, is an error naming its line.
pub fn detect_kind(records: &[Record]) -> Result<FormKind, Vec<RowError>> {
    match detect(records) {
        (Some(kind), errors, _) if errors.is_empty() => Ok(kind),
        (_, errors, _) => Err(errors),
    }
}

fn detect(records: &[Record]) -> (Option<FormKind>, Vec<RowError>, Vec<bool>) {
    let mut errors = Vec::new();
    let mut fits = Vec::with_capacity(records.len());
    let mut file: Option<(FormKind, usize)> = None;
    for rec in records {
        if rec.fields.len() < FIELDS {
            errors.push(RowError {
                line: rec.line,
                field: None,
                field_name: "",
                rule: format!("the row has {} fields, {FIELDS} expected", rec.fields.len()),
            });
            fits.push(false);
            continue;
        }
        match (classify(rec), file) {
            (None, _) => {
                errors.push(RowError {
                    line: rec.line,
                    field: None,
                    field_name: "",
                    rule: "cannot tell which form this row is: it has neither a CSR (field 7) nor a serial (field 4)".into(),
                });
                fits.push(false);
            }
            (Some(k), None) => {
                file = Some((k, rec.line));
                fits.push(true);
            }
            (Some(k), Some((fk, first))) if k != fk => {
                errors.push(RowError {
                    line: rec.line,
                    field: None,
                    field_name: "",
                    rule: format!(
                        "has {} so it looks like a {} row ({}), but the file is {} ({}) as decided by its first row, line {first}; put each form in its own file",
                        describe(k),
                        k.code(),
                        k.label(),
                        fk.code(),
                        fk.label()
                    ),
                });
                fits.push(false);
            }
            (Some(_), Some(_)) => fits.push(true),
        }
    }
    (file.map(|(k, _)| k), errors, fits)
}

fn duplicate_serials(records: &[Record], fits: &[bool], kind: FormKind) -> Vec<RowError> {
    let mut seen: HashMap<Serial, usize> = HashMap::new();
    let mut errors = Vec::new();
    if kind == FormKind::ServerIssue {
        return errors;
    }
    for (rec, _) in records.iter().zip(fits).filter(|(_, f)| **f) {
        if let Ok(s) = parse_serial(&rec.fields[3]) {
            if let Some(first) = seen.get(&s) {
                errors.push(err(
                    rec.line,
                    Some(kind),
                    4,
                    format!("serial {s} already appears on line {first}; name each certificate once per file"),
                ));
            } else {
                seen.insert(s, rec.line);
            }
        }
    }
    errors
}

/// Parses a serial as the forms write it: decimal, or hexadecimal with a `0x` prefix.
pub fn parse_serial(s: &str) -> Result<Serial, String> {
    if s.is_empty() {
        return Err("is required".into());
    }
    let len = s.chars().count();
    if len > MAX_SERIAL_LEN {
        return Err(format!(
            "is {len} characters, at most {MAX_SERIAL_LEN} allowed"
        ));
    }
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    if let Some(h) = hex {
        if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()) {
            let h = if h.len() % 2 == 1 {
                format!("0{h}")
            } else {
                h.to_string()
            };
            if let Ok(b) = hex::decode(h) {
                return Ok(Serial::from_bytes(&b));
            }
        }
    } else if s.chars().all(|c| c.is_ascii_digit())
        && let Ok(bn) = BigNum::from_dec_str(s)
    {
        return Ok(Serial::from_bytes(&bn.to_vec()));
    }
    let hint = if hex.is_none() && s.chars().all(|c| c.is_ascii_hexdigit()) {
        " (hexadecimal needs the 0x prefix)"
    } else {
        ""
    };
    Err(format!(
        "must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `{s}`{hint}"
    ))
}

/// Half-width mail address syntax, at most 78 characters.
pub fn check_mail(s: &str) -> Result<(), String> {
    let len = s.chars().count();
    if len > MAX_MAIL_LEN {
        return Err(format!(
            "is {len} characters, at most {MAX_MAIL_LEN} allowed"
        ));
    }
    if !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be half-width, without spaces".into());
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(format!("`{s}` is not a mail address (no @)"));
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok || dn::check_fqdn(domain, 255).is_err() {
        return Err(format!("`{s}` is not a valid mail address"));
    }
    Ok(())
}

/// A CSR that passed every check of field 7.
pub struct CheckedCsr {
    pub subject: X509Name,
    pub key: PKey<Public>,
    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
    pub spki_sha256: String,
}

impl std::fmt::Debug for CheckedCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedCsr")
            .field("spki_sha256", &self.spki_sha256)
            .finish_non_exhaustive()
    }
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Decodes field 7 (base64 body on one line) into DER.
pub fn decode_csr_field(s: &str) -> Result<Vec<u8>, CsrError> {
    use base64::Engine;
    if s.is_empty() {
        return Err(CsrError::Missing);
    }
    if s.contains("-----BEGIN") || s.contains("-----END") || s.contains("CERTIFICATE REQUEST") {
        return Err(CsrError::PemArmor);
    }
    let len = s.chars().count();
    if len > MAX_CSR_LEN {
        return Err(CsrError::TooLong(len));
    }
    let bad: Vec<String> = s
        .chars()
        .filter(|&c| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
        .map(|c| {
            if c == ' ' {
                "space".to_string()
            } else {
                format!("'{c}'")
            }
        })
        .fold(Vec::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
    if !bad.is_empty() {
        return Err(CsrError::BadChars(bad.join(" ")));
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| CsrError::Base64)
}

/// A CSR taken apart with the pure-Rust `x509-cert` parser. The key is
/// rebuilt as a legacy OpenSSL RSA/EC key from the SPKI bits: OpenSSL 3.0's
/// provider decoders (behind `X509Req::from_der`, `PKey::public_key_from_der`)
/// and encoders (behind `X509Builder::set_pubkey` for a provider key) cost
/// several times a certificate signature, and a 99-row file pays them per row.
pub struct DecodedCsr {
    pub subject: X509Name,
    /// RSA and EC keys; `None` for any other key type.
    pub key: Option<PKey<Public>>,
    /// "RSA 2048", "ECDSA P-384", "Ed25519", … for error messages.
    pub key_desc: String,
    pub key_oid: String,
    /// Whether the key's rsaEncryption parameters are the NULL RFC 3279 requires.
    pub rsa_params_null: bool,
    pub sig_oid: String,
    /// `Some(ok)` when the signature algorithm is one mailra knows (the
    /// `*_SIGS` tables) and the key could be rebuilt; `None` otherwise.
    pub signature_ok: Option<bool>,
    /// DER SubjectPublicKeyInfo exactly as the CSR encodes it.
    pub spki_der: Vec<u8>,
}

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

fn sig_digest(oid: &str) -> Option<(Id, MessageDigest)> {
    Some(match oid {
        "1.2.840.113549.1.1.4" => (Id::RSA, MessageDigest::md5()),
        "1.2.840.113549.1.1.5" => (Id::RSA, MessageDigest::sha1()),
        "1.2.840.113549.1.1.11" => (Id::RSA, MessageDigest::sha256()),
        "1.2.840.113549.1.1.12" => (Id::RSA, MessageDigest::sha384()),
        "1.2.840.113549.1.1.13" => (Id::RSA, MessageDigest::sha512()),
        "1.2.840.10045.4.1" => (Id::EC, MessageDigest::sha1()),
        "1.2.840.10045.4.3.2" => (Id::EC, MessageDigest::sha256()),
        "1.2.840.10045.4.3.3" => (Id::EC, MessageDigest::sha384()),
        "1.2.840.10045.4.3.4" => (Id::EC, MessageDigest::sha512()),
        _ => return None,
    })
}

/// Decodes a DER PKCS#10 request (see [`DecodedCsr`]); `NotCsr` if it is not
/// one, or if its RSA/EC key does not decode.
pub fn decode_csr(der: &[u8]) -> Result<DecodedCsr, CsrError> {
    use der::{Encode, Reader};
    let req = x509_cert::request::CertReq::from_der(der).map_err(|_| CsrError::NotCsr)?;
    // The exact signed bytes: the first element of the outer SEQUENCE.
    let info = der::SliceReader::new(der)
        .and_then(|mut r| {
            der::Header::decode(&mut r)?;
            r.tlv_bytes()
        })
        .map_err(|_| CsrError::NotCsr)?;
    let subject = req
        .info
        .subject
        .to_der()
        .ok()
        .and_then(|d| X509Name::from_der(&d).ok())
        .ok_or(CsrError::NotCsr)?;
    let spki = &req.info.public_key;
    let key_oid = spki.algorithm.oid.to_string();
    let bits = spki.subject_public_key.as_bytes().ok_or(CsrError::NotCsr)?;
    let (key, key_desc) = match key_oid.as_str() {
        RSA_ENCRYPTION => {
            let rsa = Rsa::public_key_from_der_pkcs1(bits).map_err(|_| CsrError::NotCsr)?;
            let desc = format!("RSA {}", rsa.n().num_bits());
            (
                Some(PKey::from_rsa(rsa).map_err(|_| CsrError::NotCsr)?),
                desc,
            )
        }
        EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                .and_then(|oid| Asn1Object::from_str(&oid.to_string()).ok())
                .map(|o| o.nid());
            match curve {
                Some(nid) => {
                    let group = EcGroup::from_curve_name(nid).map_err(|_| CsrError::NotCsr)?;
                    let mut ctx = BigNumContext::new().map_err(|_| CsrError::NotCsr)?;
                    let point = EcPoint::from_bytes(&group, bits, &mut ctx).map_err(|_| {
                        goodkey::undecodable_point(&group, bits)
                            .map_or(CsrError::NotCsr, CsrError::Weak)
                    })?;
                    let ec =
                        EcKey::from_public_key(&group, &point).map_err(|_| CsrError::NotCsr)?;
                    let desc = match nid {
                        Nid::X9_62_PRIME256V1 => "ECDSA P-256".into(),
                        Nid::SECP384R1 => "ECDSA P-384".into(),
                        Nid::SECP521R1 => "ECDSA P-521".into(),
                        n => format!("ECDSA {}", n.short_name().unwrap_or("(unnamed curve)")),
                    };
                    (
                        Some(PKey::from_ec_key(ec).map_err(|_| CsrError::NotCsr)?),
                        desc,
                    )
                }
                None => (None, "ECDSA (explicit curve)".into()),
            }
        }
        "1.3.101.112" => (None, "Ed25519".into()),
        "1.3.101.113" => (None, "Ed448".into()),
        "1.2.840.10040.4.1" => (None, "DSA".into()),
        _ => (None, "an unsupported key type".into()),
    };
    let rsa_params_null = spki
        .algorithm
        .parameters
        .as_ref()
        .is_some_and(|p| der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty());
    let sig_oid = req.algorithm.oid.to_string();
    let signature_ok = match (&key, sig_digest(&sig_oid), req.signature.as_bytes()) {
        (Some(k), Some((family, md)), Some(sig)) => Some(
            k.id() == family
                && Verifier::new(md, k)
                    .and_then(|mut v| {
                        v.update(info)?;
                        v.verify(sig)
                    })
                    .unwrap_or(false),
        ),
        (Some(_), Some(_), None) => Some(false),
        _ => None,
    };
    let spki_der = spki.to_der().map_err(|_| CsrError::NotCsr)?;
    Ok(DecodedCsr {
        subject,
        key,
        key_desc,
        key_oid,
        rsa_params_null,
        sig_oid,
        signature_ok,
        spki_der,
    })
}

/// Checks a CSR's key and signature algorithm against the profile and its signature.
pub fn check_csr(der: &[u8], profile: Profile) -> Result<CheckedCsr, Vec<CsrError>> {
    let csr = decode_csr(der).map_err(|e| vec![e])?;
    let mut errs = Vec::new();
    let rule = KeyRule::for_profile(profile);
    let (sigs, allowed) = match profile {
        Profile::ServerRsa2048 => (
            &RSA_SIGS[..],
            "sha1/sha256/sha384/sha512/md5WithRSAEncryption",
        ),
        Profile::ServerP384 => (&EC_SIGS[..], "ecdsa-with-SHA256 or ecdsa-with-SHA384"),
    };
    // The profile's key kind and size, then the known weaknesses (goodkey).
    match csr.key.as_deref().map(|k| goodkey::check(k, &rule)) {
        None | Some(Err(WeakKey::Kind(_))) => errs.push(CsrError::Key {
            profile: profile.id(),
            needed: rule.needed,
            found: csr.key_desc.clone(),
        }),
        Some(Err(weak)) => errs.push(CsrError::Weak(weak)),
        Some(Ok(())) => {}
    }
    let oid = &csr.sig_oid;
    if !sigs.iter().any(|(o, _)| o == oid) {
        let found = RSA_SIGS
            .iter()
            .chain(&EC_SIGS)
            .chain(&OTHER_SIGS)
            .find(|(o, _)| o == oid)
            .map_or(oid.clone(), |(_, n)| n.to_string());
        errs.push(CsrError::SigAlg {
            profile: profile.id(),
            allowed,
            found,
        });
    }
    // The SPKI is hashed as the CSR encodes it, and OpenSSL re-encodes
    // rsaEncryption with NULL parameters in the certificate; a CSR without
    // them would hash differently from its own certificate, and the renewal
    // "different key" check would not see the same key.
    if csr.key_oid == RSA_ENCRYPTION && !csr.rsa_params_null {
        errs.push(CsrError::RsaParams);
    }
    if csr.signature_ok == Some(false) {
        errs.push(CsrError::BadSignature);
    }
    match csr.key {
        Some(key) if errs.is_empty() => Ok(CheckedCsr {
            subject: csr.subject,
            key,
            spki_sha256: hex::encode(openssl::sha::sha256(&csr.spki_der)),
        }),
        _ => Err(errs),
    }
}

/// Re-checks a validated issue row against the institution before signing: the DN rules,
/// the dNSNames, and the CSR (key, signature, subject). The CA calls this so that a row
/// validated earlier (or built elsewhere) is never signed unchecked. Returns the
/// checked CSR so the CA signs the very key it checked, without decoding it again.
pub fn precheck_issue(row: &IssueRow, inst: &Institution) -> Result<CheckedCsr, Vec<RowError>> {
    let k = Some(FormKind::ServerIssue);
    let line = row.line;
    let mut errors: Vec<RowError> = dn::check_server(&row.dn)
        .into_iter()
        .chain(dn::check_institution(
            &row.dn,
            &inst.name,
            &inst.st,
            &inst.l,
            &inst.domains,
        ))
        .map(|e| err(line, k, 1, e.to_string()))
        .collect();
    if !row
        .dn
        .cn()
        .is_some_and(|cn| cn.eq_ignore_ascii_case(&row.fqdn))
    {
        errors.push(err(line, k, 11, "must equal the CN of field 1"));
    }
    if row.dns_names.first().map(String::as_str) != row.dn.cn() {
        errors.push(err(line, k, 13, "must start with the CN of field 1"));
    }
    for name in &row.dns_names {
        if let Err(e) = dn::check_fqdn(name, MAX_DNS_FIELD_LEN) {
            errors.push(err(line, k, 13, format!("dNSName {name} {e}")));
        } else if !dn::in_domains(name, &inst.domains) {
            errors.push(err(
                line,
                k,
                13,
                format!(
                    "dNSName {name} is not inside the institution's domains ({})",
                    inst.domains.join(", ")
                ),
            ));
        }
    }
    let csr = match check_csr(&row.csr_der, row.profile) {
        Ok(csr) => {
            if let Err(e) = dn::check_csr_subject(&row.dn, &csr.subject) {
                errors.push(err(line, k, 1, e.to_string()));
            }
            Some(csr)
        }
        Err(es) => {
            errors.extend(es.into_iter().map(|e| err(line, k, 7, e.to_string())));
            None
        }
    };
    match csr {
        Some(csr) if errors.is_empty() => Ok(csr),
        _ => Err(errors),
    }
}

/// Collects the errors of one row.
struct RowCheck<'a> {
    rec: &'a Record,
    kind: FormKind,
    errors: Vec<RowError>,
}

impl RowCheck<'_> {
    fn f(&self, n: usize) -> &str {
        &self.rec.fields[n - 1]
    }

    fn err(&mut self, n: usize, rule: impl Into<String>) {
        self.errors
            .push(err(self.rec.line, Some(self.kind), n, rule));
    }

    fn must_be_empty(&mut self, fields: &[usize]) {
        let form = self.kind.code();
        for &n in fields {
            if !self.f(n).is_empty() {
                self.err(n, format!("must be empty in a {form} row"));
            }
        }
    }

    fn length(&mut self, n: usize, max: usize, required: bool) {
        let len = self.f(n).chars().count();
        if required && len == 0 {
            self.err(n, "is required");
        } else if len > max {
            self.err(n, format!("is {len} characters, at most {max} allowed"));
        }
    }

    fn mail(&mut self, n: usize, required: bool) {
        let v = self.f(n).to_string();
        if v.is_empty() {
            if required {
                self.err(n, "is required");
            }
        } else if let Err(e) = check_mail(&v) {
            self.err(n, e);
        }
    }

    fn serial(&mut self) -> Option<Serial> {
        match parse_serial(self.f(4)) {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(4, e);
                None
            }
        }
    }

    /// Field 1 parsed; with `server_rules` the 2-1-1 and institution rules too.
    fn dn(&mut self, ctx: &Context, server_rules: bool) -> Option<Dn> {
        let dn = match dn::parse(self.f(1)) {
            Ok(d) => d,
            Err(e) => {
                self.err(1, e.to_string());
                return None;
            }
        };
        if !server_rules {
            return Some(dn);
        }
        let mut errs = dn::check_server(&dn);
        if let Some(i) = ctx.institution {
            errs.extend(dn::check_institution(&dn, &i.name, &i.st, &i.l, &i.domains));
        }
        let ok = errs.is_empty();
        for e in errs {
            self.err(1, e.to_string());
        }
        ok.then_some(dn)
    }

    /// Fields shared by 5-3-1 and 5-3-2; returns the row and the CSR's key hash.
    fn request(&mut self, ctx: &Context) -> Option<(IssueRow, String)> {
        let dn = self.dn(ctx, true);
        let profile = match self.f(2) {
            "" => {
                self.err(2, "is required");
                None
            }
            v => match v.parse::<u8>().ok().and_then(Profile::from_id) {
                Some(p @ Profile::ServerP384) if ctx.ecdsa_ca == Some(false) => {
                    self.err(
                        2,
                        "profile 11 (ECDSA P-384) is not offered: no ECDSA issuing CA is configured; use profile 3 (RSA 2048) or ask the secretariat",
                    );
                    // Still checked against profile 11, so every other error is reported too.
                    Some(p)
                }
                Some(p) => Some(p),
                None => {
                    self.err(
                        2,
                        format!("must be 3 (RSA 2048) or 11 (ECDSA P-384), not `{v}`"),
                    );
                    None
                }
            },
        };
        let csr_der = match decode_csr_field(self.f(7)) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(7, e.to_string());
                None
            }
        };
        let mut spki = None;
        if let (Some(der), Some(p)) = (&csr_der, profile) {
            match check_csr(der, p) {
                Ok(csr) => {
                    if let Some(dn) = &dn
                        && let Err(e) = dn::check_csr_subject(dn, &csr.subject)
                    {
                        self.err(1, e.to_string());
                    }
                    let same = |other: &Dn| dn.as_ref().is_some_and(|d| d.same_as(other));
                    let same: Option<&dyn Fn(&Dn) -> bool> = dn.is_some().then_some(&same);
                    if let Err(e) =
                        keyreuse::check(&csr.spki_sha256, same, ctx.certs, ctx.reserved_keys)
                    {
                        self.err(7, CsrError::Reused(e).to_string());
                    }
                    spki = Some(csr.spki_sha256);
                }
                Err(es) => {
                    for e in es {
                        self.err(7, e.to_string());
                    }
                }
            }
        }
        self.length(8, MAX_NAME_LEN, false);
        self.length(9, MAX_NAME_LEN, false);
        self.mail(10, true);
        let fqdn = self.f(11).to_string();
        if fqdn.is_empty() {
            self.err(11, "is required");
        } else if let Err(e) = dn::check_fqdn(&fqdn, dn::MAX_CN_LEN) {
            self.err(11, e.to_string());
        } else if let Some(cn) = dn.as_ref().and_then(Dn::cn)
            && !cn.eq_ignore_ascii_case(&fqdn)
        {
            self.err(11, format!("must equal the CN of field 1 ({cn})"));
        }
        self.length(12, MAX_SOFTWARE_LEN, true);
        let dns_names = dn
            .as_ref()
            .and_then(Dn::cn)
            .and_then(|cn| self.dns_names(cn, ctx));

        let (dn, profile, csr_der, spki, dns_names) = (dn?, profile?, csr_der?, spki?, dns_names?);
        if !self.errors.is_empty() {
            return None;
        }
        Some((
            IssueRow {
                line: self.rec.line,
                dn,
                profile,
                csr_der,
                admin_name: self.f(8).to_string(),
                admin_dept: self.f(9).to_string(),
                admin_mail: self.f(10).to_string(),
                fqdn,
                software: self.f(12).to_string(),
                dns_names,
            },
            spki,
        ))
    }

    /// Field 13: `dNSName=a,dNSName=b`; returns the SAN list with the CN first.
    fn dns_names(&mut self, cn: &str, ctx: &Context) -> Option<Vec<String>> {
        let v = self.f(13).to_string();
        let mut names = vec![cn.to_string()];
        if v.is_empty() {
            return Some(names);
        }
        if v.ends_with(',') {
            self.err(13, "must not end with ','");
            return None;
        }
        let mut ok = true;
        let mut given = 0;
        for part in v.split(',') {
            given += 1;
            let Some(name) = part
                .get(..8)
                .filter(|p| p.eq_ignore_ascii_case("dNSName="))
                .map(|_| &part[8..])
            else {
                self.err(
                    13,
                    format!("each entry must be written dNSName=host, not `{part}`"),
                );
                ok = false;
                continue;
            };
            if let Err(e) = dn::check_fqdn(name, MAX_DNS_FIELD_LEN) {
                self.err(13, format!("dNSName `{name}` {e}"));
                ok = false;
                continue;
            }
            if let Some(i) = ctx.institution
                && !dn::in_domains(name, &i.domains)
            {
                self.err(
                    13,
                    format!(
                        "dNSName {name} is not inside the institution's domains ({})",
                        i.domains.join(", ")
                    ),
                );
                ok = false;
            }
            if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                names.push(name.to_string());
            }
        }
        if given > MAX_DNS_NAMES {
            self.err(
                13,
                format!("has {given} dNSNames, at most {MAX_DNS_NAMES} allowed"),
            );
            ok = false;
        }
        let total = names.iter().map(|n| n.len() + 8).sum::<usize>() + names.len() - 1;
        if total > MAX_DNS_FIELD_LEN {
            self.err(
                13,
                format!(
                    "is {total} characters with the CN added, at most {MAX_DNS_FIELD_LEN} allowed"
                ),
            );
            ok = false;
        }
        ok.then_some(names)
    }

    fn issue(&mut self, ctx: &Context) -> Option<IssueRow> {
        self.must_be_empty(&[3, 4, 5, 6]);
        self.request(ctx).map(|(r, _)| r)
    }

    fn renew(&mut self, ctx: &Context) -> Option<RenewRow> {
        self.must_be_empty(&[3, 5, 6]);
        let serial = self.serial();
        let req = self.request(ctx);
        let serial = serial?;
        if let Some(certs) = ctx.certs {
            let old = self.existing(certs, &serial, ctx)?;
            if let Some((row, spki)) = &req {
                if !row.dn.same_as(&old.dn) {
                    self.err(
                        1,
                        format!(
                            "must equal the DN of the certificate being renewed ({})",
                            old.dn
                        ),
                    );
                }
                if *spki == old.spki_sha256 {
                    self.err(
                        7,
                        "reuses the key of the certificate being renewed; generate a new key pair",
                    );
                }
            }
        }
        let (request, _) = req?;
        self.errors.is_empty().then_some(RenewRow {
            request,
            old_serial: serial,
        })
    }

    /// Looks up a certificate named by field 4 and applies the rules shared by renewal
    /// and revocation: it exists, belongs to the institution, and is not revoked.
    fn existing(
        &mut self,
        certs: &dyn CertLookup,
        serial: &Serial,
        ctx: &Context,
    ) -> Option<crate::model::CertSummary> {
        let Some(cert) = certs.by_serial(serial) else {
            self.err(
                4,
                format!("no certificate with serial {serial} was issued by this CA"),
            );
            return None;
        };
        if let Some(i) = ctx.institution
            && cert.institution_id != i.id
        {
            self.err(
                4,
                format!("certificate {serial} belongs to another institution"),
            );
            return None;
        }
        if cert.status == CertStatus::Revoked {
            self.err(4, format!("certificate {serial} is already revoked"));
            return None;
        }
        Some(cert)
    }

    fn revoke(&mut self, ctx: &Context) -> Option<RevokeRow> {
        self.must_be_empty(&[2, 3, 7, 8, 9, 11, 12, 13]);
        let dn = self.dn(ctx, false);
        let serial = self.serial();
        let reason = match self.f(5) {
            "" => {
                self.err(5, "is required (0, 1, 3, 4 or 5)");
                None
            }
            v => {
                let r = v.parse::<u8>().ok().and_then(RevocationReason::from_code);
                if r.is_none() {
                    self.err(
                        5,
                        format!("must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `{v}`"),
                    );
                }
                r
            }
        };
        self.length(6, MAX_COMMENT_LEN, false);
        self.mail(10, false);
        if let (Some(certs), Some(s)) = (ctx.certs, &serial)
            && let Some(cert) = self.existing(certs, s, ctx)
            && let Some(dn) = &dn
            && !dn.same_as(&cert.dn)
        {
            self.err(
                1,
                format!(
                    "must equal the DN of the certificate being revoked ({})",
                    cert.dn
                ),
            );
        }
        let (dn, serial, reason) = (dn?, serial?, reason?);
        let mail = self.f(10).to_string();
        self.errors.is_empty().then(|| RevokeRow {
            line: self.rec.line,
            dn,
            serial,
            reason,
            comment: self.f(6).to_string(),
            admin_mail: (!mail.is_empty()).then_some(mail),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::pkey::Private;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509Name, X509ReqBuilder};
    use std::sync::OnceLock;

    const DN: &str = "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

    fn rsa(bits: u32) -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
    }
    fn ec(nid: Nid) -> PKey<Private> {
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap())
            .unwrap()
    }
    fn rsa2048() -> &'static PKey<Private> {
        static K: OnceLock<PKey<Private>> = OnceLock::new();
        K.get_or_init(|| rsa(2048))
    }
    fn rsa2048_b() -> &'static PKey<Private> {
        static K: OnceLock<PKey<Private>> = OnceLock::new();
        K.get_or_init(|| rsa(2048))
    }
    fn p384() -> &'static PKey<Private> {
        static K: OnceLock<PKey<Private>> = OnceLock::new();
        K.get_or_init(|| ec(Nid::SECP384R1))
    }

    fn csr_with(name: &X509Name, key: &PKey<Private>, md: MessageDigest) -> Vec<u8> {
        let mut b = X509ReqBuilder::new().unwrap();
        b.set_subject_name(name).unwrap();
        b.set_pubkey(key).unwrap();
        b.sign(key, md).unwrap();
        b.build().to_der().unwrap()
    }
    /// A correctly signed CSR whose rsaEncryption SPKI omits the NULL
    /// parameters (the encoding OpenSSL would not write itself).
    fn csr_without_rsa_null(name: &X509Name, key: &PKey<Private>) -> Vec<u8> {
        use der::Encode;
        use openssl::sign::Signer;
        let good = csr_with(name, key, MessageDigest::sha256());
        let mut req = x509_cert::request::CertReq::from_der(&good).unwrap();
        req.info.public_key.algorithm.parameters = None;
        let tbs = req.info.to_der().unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
        signer.update(&tbs).unwrap();
        req.signature = der::asn1::BitString::from_bytes(&signer.sign_to_vec().unwrap()).unwrap();
        req.to_der().unwrap()
    }

    fn csr(dn_text: &str, key: &PKey<Private>) -> String {
        let name = dn::parse(dn_text).unwrap().to_x509_name().unwrap();
        b64(&csr_with(&name, key, MessageDigest::sha256()))
    }
    fn b64(der: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    fn inst() -> Institution {
        Institution {
            id: 7,
            name: "Example University".into(),
            st: "Tokyo".into(),
            l: "Chiyoda-ku".into(),
            domains: vec!["example.ac.jp".into()],
        }
    }

    fn issue_fields(csr: &str) -> Vec<String> {
        let mut f = vec![String::new(); 13];
        f[0] = DN.into();
        f[1] = "3".into();
        f[6] = csr.into();
        f[7] = "国立　太郎".into();
        f[8] = "学術基盤推進部".into();
        f[9] = "taro@example.ac.jp".into();
        f[10] = "www.example.ac.jp".into();
        f[11] = "apache2.4".into();
        f
    }

    fn file(rows: &[Vec<String>]) -> Vec<u8> {
        let text: String = rows.iter().map(|r| r.join("\t") + "\r\n").collect();
        let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(!bad);
        b.into_owned()
    }

    fn lines(c: &Checked) -> Vec<String> {
        c.errors.iter().map(ToString::to_string).collect()
    }

    struct Certs(Vec<crate::model::CertSummary>);
    impl CertLookup for Certs {
        fn by_serial(&self, s: &Serial) -> Option<crate::model::CertSummary> {
            self.0.iter().find(|c| &c.serial == s).cloned()
        }
        // These tables are about renewal and revocation; key reuse has its
        // own table (policy::keyreuse) and a pipeline test.
        fn key_holders(&self, _: &str) -> Vec<crate::model::KeyHolder> {
            Vec::new()
        }
    }
    fn spki_hash(k: &PKey<Private>) -> String {
        hex::encode(openssl::sha::sha256(&k.public_key_to_der().unwrap()))
    }
    fn summary(
        serial: u8,
        status: CertStatus,
        inst_id: i64,
        key: &PKey<Private>,
    ) -> crate::model::CertSummary {
        crate::model::CertSummary {
            serial: Serial::from_bytes(&[serial]),
            dn: dn::parse(DN).unwrap(),
            institution_id: inst_id,
            status,
            spki_sha256: spki_hash(key),
            profile: Profile::ServerRsa2048,
        }
    }

    #[test]
    fn issue_field_rules() {
        let good = csr(DN, rsa2048());
        let i = inst();
        let ctx = Context {
            institution: Some(&i),
            certs: None,
            ecdsa_ca: None,
            reserved_keys: &[],
        };
        type Edit = Box<dyn Fn(&mut Vec<String>)>;
        let cases: Vec<(Edit, Vec<&str>)> = vec![
            (Box::new(|_| {}), vec![]),
            (
                Box::new(|f| f[1] = "5".into()),
                vec![
                    "line 1: field 2 (profile ID): must be 3 (RSA 2048) or 11 (ECDSA P-384), not `5`",
                ],
            ),
            (
                Box::new(|f| f[1] = "".into()),
                vec!["line 1: field 2 (profile ID): is required"],
            ),
            (
                Box::new(|f| f[1] = "11".into()),
                vec![
                    "line 1: field 7 (CSR): profile 11 needs a P-384 (secp384r1) key, the CSR has RSA 2048",
                    "line 1: field 7 (CSR): profile 11 CSRs must be signed with ecdsa-with-SHA256 or ecdsa-with-SHA384, this one is signed with sha256WithRSAEncryption",
                ],
            ),
            (
                Box::new(|f| f[2] = "x".into()),
                vec!["line 1: field 3 (unused): must be empty in a 5-3-1 row"],
            ),
            (
                Box::new(|f| f[5] = "x".into()),
                vec!["line 1: field 6 (unused): must be empty in a 5-3-1 row"],
            ),
            (
                Box::new(|f| f[7] = "あ".repeat(65)),
                vec!["line 1: field 8 (admin name): is 65 characters, at most 64 allowed"],
            ),
            (Box::new(|f| f[7] = "あ".repeat(64)), vec![]),
            (
                Box::new(|f| f[8] = "a".repeat(65)),
                vec!["line 1: field 9 (admin dept): is 65 characters, at most 64 allowed"],
            ),
            (
                Box::new(|f| f[9] = "".into()),
                vec!["line 1: field 10 (admin mail): is required"],
            ),
            (
                Box::new(|f| f[9] = "taro@example".into()),
                vec!["line 1: field 10 (admin mail): `taro@example` is not a valid mail address"],
            ),
            (
                Box::new(|f| f[9] = "taro.example.ac.jp".into()),
                vec![
                    "line 1: field 10 (admin mail): `taro.example.ac.jp` is not a mail address (no @)",
                ],
            ),
            (
                Box::new(|f| f[9] = "ｔａｒｏ@example.ac.jp".into()),
                vec!["line 1: field 10 (admin mail): must be half-width, without spaces"],
            ),
            (
                Box::new(|f| f[9] = format!("{}@example.ac.jp", "a".repeat(65))),
                vec!["line 1: field 10 (admin mail): is 79 characters, at most 78 allowed"],
            ),
            (
                Box::new(|f| f[10] = "web.example.ac.jp".into()),
                vec![
                    "line 1: field 11 (admin FQDN): must equal the CN of field 1 (www.example.ac.jp)",
                ],
            ),
            (
                Box::new(|f| f[10] = "".into()),
                vec!["line 1: field 11 (admin FQDN): is required"],
            ),
            (Box::new(|f| f[10] = "WWW.example.ac.jp".into()), vec![]),
            (
                Box::new(|f| f[11] = "".into()),
                vec!["line 1: field 12 (software): is required"],
            ),
            (
                Box::new(|f| f[11] = "a".repeat(129)),
                vec!["line 1: field 12 (software): is 129 characters, at most 128 allowed"],
            ),
            (
                Box::new(|f| f[12] = "dNSName=a.example.ac.jp,dNSName=b.example.ac.jp".into()),
                vec![],
            ),
            (
                Box::new(|f| f[12] = "dNSName=a.example.ac.jp,".into()),
                vec!["line 1: field 13 (dNSName): must not end with ','"],
            ),
            (
                Box::new(|f| f[12] = "a.example.ac.jp".into()),
                vec![
                    "line 1: field 13 (dNSName): each entry must be written dNSName=host, not `a.example.ac.jp`",
                ],
            ),
            (
                Box::new(|f| f[12] = "dNSName=*.example.ac.jp".into()),
                vec![
                    "line 1: field 13 (dNSName): dNSName `*.example.ac.jp` may contain only half-width letters, digits, '.' and '-', not '*'",
                ],
            ),
            (
                Box::new(|f| f[12] = "dNSName=www.example.com".into()),
                vec![
                    "line 1: field 13 (dNSName): dNSName www.example.com is not inside the institution's domains (example.ac.jp)",
                ],
            ),
            (
                Box::new(|f| {
                    f[12] = (1..=9)
                        .map(|n| format!("dNSName=h{n}.example.ac.jp"))
                        .collect::<Vec<_>>()
                        .join(",")
                }),
                vec!["line 1: field 13 (dNSName): has 9 dNSNames, at most 8 allowed"],
            ),
            (
                Box::new(|f| {
                    f[12] = (1..=7)
                        .map(|n| format!("dNSName={}{n}.example.ac.jp", "h".repeat(20)))
                        .collect::<Vec<_>>()
                        .join(",")
                }),
                vec![
                    "line 1: field 13 (dNSName): is 333 characters with the CN added, at most 250 allowed",
                ],
            ),
            (
                Box::new(|f| f[6] = format!("-----BEGIN CERTIFICATE REQUEST-----{}", f[6])),
                vec![
                    "line 1: field 7 (CSR): contains the -----BEGIN/END CERTIFICATE REQUEST----- lines; write only the base64 body between them, on one line",
                ],
            ),
            (
                Box::new(|f| f[6] = format!("{} {}", &f[6][..10], &f[6][10..])),
                vec![
                    "line 1: field 7 (CSR): may contain only base64 characters (A-Z a-z 0-9 + / =) on one line, not space",
                ],
            ),
            (
                Box::new(|f| f[6] = "A".repeat(2049)),
                vec!["line 1: field 7 (CSR): is 2049 characters, at most 2048 allowed"],
            ),
            (
                Box::new(|f| f[6] = "QUJD".into()),
                vec!["line 1: field 7 (CSR): is not a PKCS#10 certificate request"],
            ),
            (
                Box::new(|f| f[6] = "QUJ".into()),
                vec!["line 1: field 7 (CSR): is not valid base64"],
            ),
            (
                Box::new(|f| f[6] = "".into()),
                vec![
                    "line 1: cannot tell which form this row is: it has neither a CSR (field 7) nor a serial (field 4)",
                ],
            ),
            (
                Box::new(|f| {
                    f[0] = "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Osaka,C=JP"
                        .into()
                }),
                vec![
                    "line 1: field 1 (subject DN): ST= must be the registered prefecture `Tokyo`, not `Osaka`",
                ],
            ),
            (
                Box::new(|f| {
                    f[0] =
                        "CN=www.example.ac.jp,OU=IT,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP"
                            .into()
                }),
                vec![
                    "line 1: field 1 (subject DN): must equal the CSR's subject CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
                ],
            ),
            (
                Box::new(|f| {
                    f[0] =
                        "CN=www.example.com,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP".into();
                    f[10] = "www.example.com".into();
                }),
                vec![
                    "line 1: field 1 (subject DN): CN= www.example.com is not inside the institution's domains (example.ac.jp)",
                ],
            ),
        ];
        for (n, (edit, expected)) in cases.into_iter().enumerate() {
            let mut f = issue_fields(&good);
            edit(&mut f);
            let c = check_file(&file(&[f]), &ctx);
            assert_eq!(lines(&c), expected, "case {n}");
            assert_eq!(c.rows.len(), usize::from(expected.is_empty()), "case {n}");
        }
    }

    #[test]
    fn profile_11_is_refused_without_an_ecdsa_issuing_ca() {
        let name = dn::parse(DN).unwrap().to_x509_name().unwrap();
        let ec_csr = b64(&csr_with(&name, p384(), MessageDigest::sha384()));
        let p11 = {
            let mut f = issue_fields(&ec_csr);
            f[1] = "11".into();
            f
        };
        let p11_renewal = {
            let mut f = p11.clone();
            f[3] = "0x1234".into();
            f
        };
        let p3 = issue_fields(&csr(DN, rsa2048()));
        let refused = "line 1: field 2 (profile ID): profile 11 (ECDSA P-384) is not offered: no ECDSA issuing CA is configured; use profile 3 (RSA 2048) or ask the secretariat";
        let i = inst();
        // (ECDSA CA configured?, row, expected errors)
        let cases: Vec<(Option<bool>, &Vec<String>, Vec<&str>)> = vec![
            // Offline (`mailra check`): nothing known about the instance, no error.
            (None, &p11, vec![]),
            (Some(true), &p11, vec![]),
            (Some(false), &p11, vec![refused]),
            (Some(false), &p11_renewal, vec![refused]),
            (Some(false), &p3, vec![]),
        ];
        for (n, (ecdsa_ca, row, expected)) in cases.into_iter().enumerate() {
            let ctx = Context {
                institution: Some(&i),
                certs: None,
                ecdsa_ca,
                reserved_keys: &[],
            };
            let c = check_file(&file(std::slice::from_ref(row)), &ctx);
            assert_eq!(lines(&c), expected, "case {n}");
            assert_eq!(c.rows.len(), usize::from(expected.is_empty()), "case {n}");
        }
        // The refusal comes with every other error of the row, not instead of them.
        let mut also_bad = p11.clone();
        also_bad[9] = "not-a-mail".into();
        let c = check_file(
            &file(&[also_bad]),
            &Context {
                ecdsa_ca: Some(false),
                ..Context::default()
            },
        );
        assert_eq!(lines(&c)[0], refused);
        assert!(
            lines(&c).iter().any(|l| l.contains("field 10")),
            "{:?}",
            lines(&c)
        );
    }

    #[test]
    fn csr_key_and_signature_rules() {
        let p384_dn = |profile: &str, der: Vec<u8>| {
            let mut f = issue_fields(&b64(&der));
            f[1] = profile.into();
            f
        };
        let name = dn::parse(DN).unwrap().to_x509_name().unwrap();
        let mut flipped = csr_with(&name, rsa2048(), MessageDigest::sha256());
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        let mut wrong_order = X509Name::builder().unwrap();
        for (a, v) in [
            ("C", "JP"),
            ("ST", "Tokyo"),
            ("O", "Example University"),
            ("L", "Chiyoda-ku"),
            ("CN", "www.example.ac.jp"),
        ] {
            wrong_order.append_entry_by_text(a, v).unwrap();
        }
        let wrong_order = wrong_order.build();
        let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
            (
                p384_dn("3", csr_without_rsa_null(&name, rsa2048())),
                vec![
                    "line 1: field 7 (CSR): the CSR's rsaEncryption key must carry NULL algorithm parameters (RFC 3279); regenerate the CSR with a standard tool",
                ],
            ),
            (
                p384_dn("11", csr_with(&name, p384(), MessageDigest::sha384())),
                vec![],
            ),
            (
                p384_dn("11", csr_with(&name, p384(), MessageDigest::sha256())),
                vec![],
            ),
            (
                p384_dn("3", csr_with(&name, rsa2048(), MessageDigest::sha1())),
                vec![],
            ),
            (
                p384_dn("3", csr_with(&name, rsa2048(), MessageDigest::sha512())),
                vec![],
            ),
            (
                p384_dn("3", csr_with(&name, &rsa(1024), MessageDigest::sha256())),
                vec![
                    "line 1: field 7 (CSR): profile 3 needs an RSA 2048 key, the CSR has RSA 1024",
                ],
            ),
            (
                p384_dn(
                    "11",
                    csr_with(&name, &ec(Nid::X9_62_PRIME256V1), MessageDigest::sha256()),
                ),
                vec![
                    "line 1: field 7 (CSR): profile 11 needs a P-384 (secp384r1) key, the CSR has ECDSA P-256",
                ],
            ),
            (
                p384_dn("11", csr_with(&name, p384(), MessageDigest::sha512())),
                vec![
                    "line 1: field 7 (CSR): profile 11 CSRs must be signed with ecdsa-with-SHA256 or ecdsa-with-SHA384, this one is signed with ecdsa-with-SHA512",
                ],
            ),
            (
                p384_dn("3", csr_with(&name, p384(), MessageDigest::sha384())),
                vec![
                    "line 1: field 7 (CSR): profile 3 needs an RSA 2048 key, the CSR has ECDSA P-384",
                    "line 1: field 7 (CSR): profile 3 CSRs must be signed with sha1/sha256/sha384/sha512/md5WithRSAEncryption, this one is signed with ecdsa-with-SHA384",
                ],
            ),
            (
                p384_dn("3", flipped),
                vec![
                    "line 1: field 7 (CSR): the CSR's signature does not verify (the CSR is damaged or was edited)",
                ],
            ),
            (
                p384_dn(
                    "3",
                    csr_with(&wrong_order, rsa2048(), MessageDigest::sha256()),
                ),
                vec![
                    "line 1: field 1 (subject DN): the CSR's subject is in the order C,ST,O,L,CN; it must be C,ST,L,O,(OU),CN or exactly the reverse",
                ],
            ),
        ];
        for (n, (f, expected)) in cases.into_iter().enumerate() {
            let c = check_file(&file(&[f]), &Context::default());
            assert_eq!(lines(&c), expected, "case {n}");
        }
    }

    #[test]
    fn detection() {
        let good = csr(DN, rsa2048());
        let issue = issue_fields(&good);
        let mut renew = issue_fields(&good);
        renew[3] = "0x01".into();
        let mut revoke = vec![String::new(); 13];
        revoke[0] = DN.into();
        revoke[3] = "1".into();
        revoke[4] = "5".into();
        let rec = |line: usize, f: &Vec<String>| Record {
            line,
            fields: f.clone(),
        };
        assert_eq!(
            detect_kind(&[rec(1, &issue), rec(2, &issue)]),
            Ok(FormKind::ServerIssue)
        );
        assert_eq!(detect_kind(&[rec(1, &renew)]), Ok(FormKind::ServerRenew));
        assert_eq!(detect_kind(&[rec(1, &revoke)]), Ok(FormKind::ServerRevoke));
        let e = detect_kind(&[rec(1, &revoke), rec(2, &issue), rec(3, &revoke)]).unwrap_err();
        assert_eq!(
            e.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "line 2: has a CSR and no serial so it looks like a 5-3-1 row (server certificate issuance), but the file is 5-3-3 (server certificate revocation) as decided by its first row, line 1; put each form in its own file"
            ]
        );
    }

    #[test]
    fn serials() {
        let long = "9".repeat(51);
        let cases: Vec<(&str, Result<Vec<u8>, &str>)> = vec![
            ("1", Ok(vec![1])),
            (
                "0x112210E261FEC92B",
                Ok(vec![0x11, 0x22, 0x10, 0xE2, 0x61, 0xFE, 0xC9, 0x2B]),
            ),
            ("0X0abc", Ok(vec![0x0a, 0xbc])),
            (
                "1234567812345678123",
                Ok(BigNum::from_dec_str("1234567812345678123")
                    .unwrap()
                    .to_vec()),
            ),
            ("", Err("is required")),
            (
                "0x",
                Err("must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `0x`"),
            ),
            (
                "12AB",
                Err(
                    "must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `12AB` (hexadecimal needs the 0x prefix)",
                ),
            ),
            (
                "-5",
                Err("must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `-5`"),
            ),
            (&long, Err("is 51 characters, at most 50 allowed")),
        ];
        for (input, expected) in cases {
            let got = parse_serial(input);
            match expected {
                Ok(b) => assert_eq!(got, Ok(Serial::from_bytes(&b)), "{input}"),
                Err(e) => assert_eq!(got, Err(e.to_string()), "{input}"),
            }
        }
    }

    #[test]
    fn renewal_rules() {
        let i = inst();
        let certs = Certs(vec![
            summary(1, CertStatus::Valid, 7, rsa2048()),
            summary(2, CertStatus::Revoked, 7, rsa2048()),
            summary(3, CertStatus::Valid, 8, rsa2048()),
            crate::model::CertSummary {
                dn: dn::parse(
                    "CN=old.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
                )
                .unwrap(),
                ..summary(4, CertStatus::Valid, 7, rsa2048())
            },
        ]);
        let ctx = Context {
            institution: Some(&i),
            certs: Some(&certs),
            ecdsa_ca: None,
            reserved_keys: &[],
        };
        let new_key = csr(DN, rsa2048_b());
        let row = |serial: &str, csr: &str| {
            let mut f = issue_fields(csr);
            f[3] = serial.into();
            f
        };
        let cases: Vec<(Vec<Vec<String>>, Vec<&str>)> = vec![
            (vec![row("1", &new_key)], vec![]),
            (
                vec![row("0x01", &csr(DN, rsa2048()))],
                vec![
                    "line 1: field 7 (CSR): reuses the key of the certificate being renewed; generate a new key pair",
                ],
            ),
            (
                vec![row("2", &new_key)],
                vec!["line 1: field 4 (serial): certificate 0x02 is already revoked"],
            ),
            (
                vec![row("3", &new_key)],
                vec!["line 1: field 4 (serial): certificate 0x03 belongs to another institution"],
            ),
            (
                vec![row("9", &new_key)],
                vec![
                    "line 1: field 4 (serial): no certificate with serial 0x09 was issued by this CA",
                ],
            ),
            (
                vec![row("4", &new_key)],
                vec![
                    "line 1: field 1 (subject DN): must equal the DN of the certificate being renewed (CN=old.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP)",
                ],
            ),
            (
                vec![row("1", &new_key), row("0x1", &new_key)],
                vec![
                    "line 2: field 4 (serial): serial 0x01 already appears on line 1; name each certificate once per file",
                ],
            ),
            (
                vec![{
                    let mut f = row("1", &new_key);
                    f[4] = "1".into();
                    f
                }],
                vec!["line 1: field 5 (unused): must be empty in a 5-3-2 row"],
            ),
        ];
        for (n, (rows, expected)) in cases.into_iter().enumerate() {
            let c = check_file(&file(&rows), &ctx);
            assert_eq!(lines(&c), expected, "case {n}");
            assert_eq!(c.kind, Some(FormKind::ServerRenew));
        }
        let c = check_file(&file(&[row("1", &new_key)]), &ctx);
        match &c.rows[..] {
            [ServerRequest::Renew(r)] => assert_eq!(r.old_serial, Serial::from_bytes(&[1])),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn revocation_rules() {
        let i = inst();
        let certs = Certs(vec![
            summary(1, CertStatus::Valid, 7, rsa2048()),
            summary(2, CertStatus::Revoked, 7, rsa2048()),
            summary(3, CertStatus::Valid, 8, rsa2048()),
        ]);
        let ctx = Context {
            institution: Some(&i),
            certs: Some(&certs),
            ecdsa_ca: None,
            reserved_keys: &[],
        };
        let row = |dn: &str, serial: &str, reason: &str| {
            let mut f = vec![String::new(); 13];
            f[0] = dn.into();
            f[3] = serial.into();
            f[4] = reason.into();
            f[5] = "サーバ廃止のため".into();
            f
        };
        let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
            (row(DN, "1", "5"), vec![]),
            (
                row(DN, "1", "2"),
                vec![
                    "line 1: field 5 (reason): must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `2`",
                ],
            ),
            (
                row(DN, "1", ""),
                vec!["line 1: field 5 (reason): is required (0, 1, 3, 4 or 5)"],
            ),
            (
                row(DN, "2", "1"),
                vec!["line 1: field 4 (serial): certificate 0x02 is already revoked"],
            ),
            (
                row(DN, "3", "1"),
                vec!["line 1: field 4 (serial): certificate 0x03 belongs to another institution"],
            ),
            (
                row(
                    "CN=web.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
                    "1",
                    "0",
                ),
                vec![
                    "line 1: field 1 (subject DN): must equal the DN of the certificate being revoked (CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP)",
                ],
            ),
            (
                {
                    let mut f = row(DN, "1", "4");
                    f[9] = "new-admin@example.ac.jp".into();
                    f
                },
                vec![],
            ),
            (
                {
                    let mut f = row(DN, "1", "4");
                    f[9] = "new admin".into();
                    f
                },
                vec!["line 1: field 10 (admin mail): must be half-width, without spaces"],
            ),
            (
                {
                    let mut f = row(DN, "1", "4");
                    f[5] = "あ".repeat(129);
                    f
                },
                vec!["line 1: field 6 (reason comment): is 129 characters, at most 128 allowed"],
            ),
            (
                {
                    let mut f = row(DN, "1", "4");
                    f[1] = "3".into();
                    f[12] = "x".into();
                    f
                },
                vec![
                    "line 1: field 2 (unused): must be empty in a 5-3-3 row",
                    "line 1: field 13 (unused): must be empty in a 5-3-3 row",
                ],
            ),
        ];
        for (n, (f, expected)) in cases.into_iter().enumerate() {
            let c = check_file(&file(&[f]), &ctx);
            assert_eq!(lines(&c), expected, "case {n}");
        }
        // Offline, the store checks are skipped.
        let c = check_file(&file(&[row(DN, "2", "1")]), &Context::default());
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        match &c.rows[..] {
            [ServerRequest::Revoke(r)] => {
                assert_eq!(r.reason, RevocationReason::KeyCompromise);
                assert_eq!(r.admin_mail, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn issue_row_and_precheck() {
        let i = inst();
        let mut f = issue_fields(&csr(DN, rsa2048()));
        f[12] = "dNSName=a.example.ac.jp,dNSName=www.example.ac.jp,dNSName=A.example.ac.jp".into();
        let c = check_file(
            &file(&[f]),
            &Context {
                institution: Some(&i),
                certs: None,
                ecdsa_ca: None,
                reserved_keys: &[],
            },
        );
        let [ServerRequest::Issue(row)] = &c.rows[..] else {
            panic!("{:?}", c.errors)
        };
        assert_eq!(row.dns_names, ["www.example.ac.jp", "a.example.ac.jp"]);
        assert_eq!(row.admin_name, "国立　太郎");
        assert!(precheck_issue(row, &i).is_ok());
        let other = Institution {
            domains: vec!["other.ac.jp".into()],
            name: "Other".into(),
            ..inst()
        };
        let errs: Vec<String> = precheck_issue(row, &other)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "line 1: field 1 (subject DN): O= must be the registered institution name `Other`, not `Example University`",
                "line 1: field 1 (subject DN): CN= www.example.ac.jp is not inside the institution's domains (other.ac.jp)",
                "line 1: field 13 (dNSName): dNSName www.example.ac.jp is not inside the institution's domains (other.ac.jp)",
                "line 1: field 13 (dNSName): dNSName a.example.ac.jp is not inside the institution's domains (other.ac.jp)",
            ]
        );
    }
}
