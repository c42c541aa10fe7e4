//! Domain types shared by every component: institutions, serials, reasons,
//! distinguished names, and (in `forms`) the form families and their typed rows.
//!
//! They live here, not in one component, so that `intake`, `policy`, `ca` and
//! `store` can exchange them without depending on each other.

use std::fmt;

mod dn;
mod forms;
mod kind;
mod location;
pub use dn::DnConvError;
pub use forms::{
    ClientIssueRow, ClientRenewRow, ClientRequest, ClientRevokeRow, CodeSignRevokeRow,
    DownloadMethod, FormFamily, FormKind, IssueRow, P12Encryption, Profile, RenewRow, Request,
    RevokeRow, ServerRequest, Validity,
};
pub use kind::CertKind;
pub use location::{cell_name, sheet_ref};

/// A member institution as registered by the secretariat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub id: i64,
    /// Registered English name, used verbatim as O=.
    pub name: String,
    /// Fixed ST= (romanised prefecture), e.g. `Tokyo`.
    pub st: String,
    /// Fixed L= (romanised locality), e.g. `Chiyoda-ku`.
    pub l: String,
    /// Registered domains, lower case, e.g. `example.ac.jp`.
    pub domains: Vec<String>,
    /// The organizationIdentifier its S/MIME certificates carry (S/MIME BR
    /// 7.1.4.2.2): `NTRJP-` and the 13-digit corporate number (法人番号).
    /// Without one, S/MIME profiles are refused for the institution.
    pub organization_identifier: Option<String>,
    /// Its PKCS#12 encryption when it differs from the instance's default.
    pub p12_encryption: Option<P12Encryption>,
}

/// The value to store for what the secretariat wrote: trimmed; full-width
/// digits made half-width; a bare 13-digit corporate number becomes
/// `NTRJP-` + the number. Anything else is returned as written (trimmed),
/// for the registry's check (`policy::orgid::check_registered`) to judge.
pub fn normalize_organization_identifier(s: &str) -> String {
    let s: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .collect();
    if s.len() == 13 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("NTRJP-{s}")
    } else {
        s
    }
}

/// A registered officer (登録担当者).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    pub id: i64,
    /// Lower-case mail address.
    pub email: String,
    pub institution_id: i64,
}

/// The issuing CA that signed a certificate (and the CRL listing it): the RSA
/// CA (`ca.cert`) signs profile 3, the ECDSA P-384 CA (`ca.ec_cert`) profile 11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaKind {
    Rsa,
    Ec,
}

impl CaKind {
    pub const ALL: [CaKind; 2] = [CaKind::Rsa, CaKind::Ec];

    /// The CA that signs a profile (SPEC §6: profile 11 is ecdsa-with-SHA384).
    pub fn for_profile(p: Profile) -> CaKind {
        match p {
            Profile::ServerP384 => CaKind::Ec,
            Profile::ServerRsa2048
            | Profile::Client48Months
            | Profile::Client13Months
            | Profile::Client25Months
            | Profile::Smime823Days
            | Profile::Smime13Months
            | Profile::Smime25Months => CaKind::Rsa,
        }
    }
    /// The store's value (`certificates.ca`, `crls.ca`).
    pub fn as_str(self) -> &'static str {
        match self {
            CaKind::Rsa => "rsa",
            CaKind::Ec => "ec",
        }
    }
    pub fn parse(s: &str) -> Option<CaKind> {
        match s {
            "rsa" => Some(CaKind::Rsa),
            "ec" => Some(CaKind::Ec),
            _ => None,
        }
    }
    /// The published CRL's file name without extension: `ca` (unchanged
    /// from the single-CA layout) and `ca-ec`.
    pub fn crl_stem(self) -> &'static str {
        match self {
            CaKind::Rsa => "ca",
            CaKind::Ec => "ca-ec",
        }
    }
}

impl fmt::Display for CaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CaKind::Rsa => "RSA",
            CaKind::Ec => "ECDSA P-384",
        })
    }
}

/// A certificate serial number: the big-endian magnitude, without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// From big-endian bytes; leading zero bytes are dropped.
    pub fn from_bytes(b: &[u8]) -> Serial {
        let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
        Serial(b[first..].to_vec())
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Upper-case hex without prefix (`0` for zero); the store's key.
    pub fn to_hex(&self) -> String {
        if self.0.is_empty() {
            return "0".into();
        }
        hex::encode_upper(&self.0)
    }
    /// Parses the store's hex form (no prefix).
    pub fn from_hex(s: &str) -> Option<Serial> {
        let s = if s.len() % 2 == 1 {
            format!("0{s}")
        } else {
            s.to_string()
        };
        hex::decode(s).ok().map(|b| Serial::from_bytes(&b))
    }
    /// Decimal representation (officers often quote serials in decimal).
    pub fn to_decimal(&self) -> String {
        openssl::bn::BigNum::from_slice(&self.0)
            .ok()
            .and_then(|b| b.to_dec_str().ok())
            .map(|s| s.to_string())
            .unwrap_or_else(|| "0".into())
    }
}

impl fmt::Display for Serial {
    /// `0x`-prefixed upper-case hex, the form the forms accept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", self.to_hex())
    }
}

/// CRL reason codes accepted on the revocation forms (RFC 5280 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 5] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
    ];

    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
        }
    }
    pub fn from_code(c: u8) -> Option<RevocationReason> {
        Some(match c {
            0 => RevocationReason::Unspecified,
            1 => RevocationReason::KeyCompromise,
            3 => RevocationReason::AffiliationChanged,
            4 => RevocationReason::Superseded,
            5 => RevocationReason::CessationOfOperation,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
        }
    }
}

/// A distinguished name as an ordered list of (attribute, value), in the
/// order the forms write it: most specific first (`CN=…,OU=…,O=…,L=…,ST=…,C=…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Dn(pub Vec<(String, String)>);

impl Dn {
    pub fn get(&self, attr: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(attr))
            .map(|(_, v)| v.as_str())
    }
    pub fn cn(&self) -> Option<&str> {
        self.get("CN")
    }
}

impl fmt::Display for Dn {
    /// The forms' notation: `CN=www.example.ac.jp,O=…,L=…,ST=…,C=JP`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (a, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}={v}")?;
        }
        Ok(())
    }
}

/// What happened to one mail as a whole (stored on the mail, shown to the
/// operator, and the first thing the filing rules look at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every application file was carried out.
    Accepted,
    /// Some files carried out, others refused for row errors.
    Partial,
    /// Signed by an officer, but no file could be carried out.
    Invalid,
    /// The mail failed a signature/signer/envelope check (or the secretariat
    /// refused it on review): nothing done.
    Rejected,
    /// Already processed: nothing done again.
    Duplicate,
    /// A `[check]` dry run: validated, nothing done.
    Checked,
    /// Not answered at all (our own mail, an auto-reply): kept and filed only.
    Ignored,
    /// Valid, but held for the secretariat's review by a filing rule: nothing
    /// done until `mailra review approve` (or `reject`).
    Held,
    /// A secretariat member's signed command mail (`ra::command`): obeyed
    /// and answered with a transcript, or refused as a whole.
    Command,
    /// Arrived during maintenance: kept (in the holding folder), processed
    /// as if it had just arrived once maintenance ends.
    Deferred,
}

impl Verdict {
    pub const ALL: [Verdict; 10] = [
        Verdict::Accepted,
        Verdict::Partial,
        Verdict::Invalid,
        Verdict::Rejected,
        Verdict::Duplicate,
        Verdict::Checked,
        Verdict::Ignored,
        Verdict::Held,
        Verdict::Command,
        Verdict::Deferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Partial => "partial",
            Verdict::Invalid => "invalid",
            Verdict::Rejected => "rejected",
            Verdict::Duplicate => "duplicate",
            Verdict::Checked => "checked",
            Verdict::Ignored => "ignored",
            Verdict::Held => "held",
            Verdict::Command => "command",
            Verdict::Deferred => "deferred",
        }
    }

    pub fn from_name(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether a mail with this verdict carries applications out (the only
    /// mails a rule can hold for review).
    pub fn executes(self) -> bool {
        matches!(self, Verdict::Accepted | Verdict::Partial)
    }
}

/// One rule broken by one field of one row. `line` is the 1-based line of the
/// file (of a sheet: its row); `field` the 1-based field number (of a sheet:
/// its column, A = 1; None for whole-row or whole-file rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowError {
    pub line: usize,
    pub field: Option<usize>,
    /// Field name in English, e.g. "subject DN" (empty for whole-row rules).
    pub field_name: &'static str,
    /// The rule broken, in plain words, e.g. "must equal the CN (field 11)".
    pub rule: String,
    /// The sheet the row was read from, when the file is a workbook: the
    /// error then reads `Sheet1!G7 (field name): rule` (`Sheet1 row 7: rule`
    /// for the whole row) instead of `line 7: field 7 (field name): rule`.
    pub sheet: Option<String>,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.field, &self.sheet) {
            (_, _) if self.line == 0 && self.field.is_none() => write!(f, "file: {}", self.rule),
            (Some(n), Some(sheet)) => write!(
                f,
                "{}!{} ({}): {}",
                sheet_ref(sheet),
                cell_name(
                    u32::try_from(self.line.saturating_sub(1)).unwrap_or(u32::MAX),
                    u32::try_from(n.saturating_sub(1)).unwrap_or(u32::MAX)
                ),
                self.field_name,
                self.rule
            ),
            (None, Some(sheet)) => {
                write!(f, "{} row {}: {}", sheet_ref(sheet), self.line, self.rule)
            }
            (Some(n), None) => write!(
                f,
                "line {}: field {} ({}): {}",
                self.line, n, self.field_name, self.rule
            ),
            (None, None) => write!(f, "line {}: {}", self.line, self.rule),
        }
    }
}

/// Status of a certificate in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    Valid,
    Revoked,
}

/// What the policy layer needs to know of an existing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub serial: Serial,
    pub dn: Dn,
    pub institution_id: i64,
    pub status: CertStatus,
    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
    pub spki_sha256: String,
    /// `None` for an imported certificate without a profile ID.
    pub profile: Option<Profile>,
    pub kind: CertKind,
}

/// A certificate already issued for a public key, found by the key's SPKI hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub serial: Serial,
    pub dn: Dn,
    /// The reason it was revoked for; `None` while it is valid.
    pub revoked_for: Option<RevocationReason>,
}

/// Read access to issued certificates, for renewal, revocation and key-reuse checks.
///
/// Each method answers what is stored, or a [`LookupError`] when it cannot
/// tell: "no certificate" (`Ok(None)`, an empty list) is an answer the
/// officer is given, a failed look-up never is.
pub trait CertLookup {
    fn by_serial(&self, serial: &Serial) -> Result<Option<CertSummary>, LookupError>;
    /// Every certificate issued for the key whose DER SubjectPublicKeyInfo
    /// hashes (SHA-256, lower-case hex) to `spki_sha256`.
    fn key_holders(&self, spki_sha256: &str) -> Result<Vec<KeyHolder>, LookupError>;
}

/// A certificate look-up that could not be completed (the store failed, or
/// holds a value it cannot read back). The check that met it stops: its
/// caller turns it into an internal error and the mail is processed again
/// later. It carries the cause as the [`CertLookup`] met it, so the layer
/// that implements the trait can take its own error back
/// ([`LookupError::into_cause`]) without this leaf knowing its type.
#[derive(Debug, thiserror::Error)]
#[error("certificate look-up failed: {cause}")]
pub struct LookupError {
    #[source]
    cause: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl LookupError {
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        LookupError {
            cause: cause.into(),
        }
    }

    /// The error the look-up met, e.g. for a downcast to the store's error.
    pub fn into_cause(self) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self.cause
    }
}

/// One application file of a mail and what policy said of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationFile {
    pub name: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub kind: Option<FormKind>,
    pub rows: Vec<Request>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
    /// The records as read, before the form was fitted: each line (TSV line
    /// or sheet row, 1-based) with its fields from the first column on. What
    /// the annotated reply rebuilds the file from; empty when the file could
    /// not be read at all.
    pub as_read: Vec<(usize, Vec<String>)>,
    /// The sheet the records came from, for a workbook (its rows are then
    /// the sheet's rows); None for a TSV.
    pub sheet: Option<String>,
}

impl ApplicationFile {
    /// Rows to carry out and no error.
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && !self.rows.is_empty()
    }
}

/// What became of an application file (stored with it, shown in replies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    /// Its rows were carried out.
    Executed,
    /// Valid, nothing carried out (a dry run).
    Checked,
    /// Valid, waiting for the secretariat's review.
    Held,
    /// Not carried out (errors, or the mail was refused).
    Refused,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Executed => "executed",
            ApplicationStatus::Checked => "checked",
            ApplicationStatus::Held => "held",
            ApplicationStatus::Refused => "refused",
        }
    }

    pub fn from_name(s: &str) -> Option<ApplicationStatus> {
        [
            ApplicationStatus::Executed,
            ApplicationStatus::Checked,
            ApplicationStatus::Held,
            ApplicationStatus::Refused,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// What became of one row of an application file, as stored with the row:
/// refused for an error, or carried out (the words replies show live in
/// `render`, which maps its own outcome onto this one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowOutcomeKind {
    /// The row broke a rule; the row's detail says which.
    Error,
    Issued,
    Renewed,
    Revoked,
}

impl RowOutcomeKind {
    pub const ALL: [RowOutcomeKind; 4] = [
        RowOutcomeKind::Error,
        RowOutcomeKind::Issued,
        RowOutcomeKind::Renewed,
        RowOutcomeKind::Revoked,
    ];

    /// The word stored with the row (and shown in English).
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcomeKind::Error => "error",
            RowOutcomeKind::Issued => "issued",
            RowOutcomeKind::Renewed => "renewed: new certificate issued",
            RowOutcomeKind::Revoked => "revoked",
        }
    }

    pub fn from_name(s: &str) -> Option<RowOutcomeKind> {
        RowOutcomeKind::ALL.into_iter().find(|x| x.as_str() == s)
    }
}
