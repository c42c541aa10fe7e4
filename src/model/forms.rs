//! The application forms as types: the families of forms, the forms of each
//! family, the certificate profiles a family offers, and the validated rows
//! ([`Request`]) `policy` hands to `ra`.
//!
//! Each family is validated by its own module of `policy` (`policy::server`)
//! and carried out by its own arm in `ra`. The client-certificate forms
//! (5-4-1/2/3) and the code-signing revocation form come next as a new
//! variant of [`FormFamily`], new [`FormKind`]s and [`Profile`]s, and a new
//! variant of [`Request`] holding their rows; the compiler then points at
//! every `match` that must learn them.

use super::{Dn, RevocationReason, Serial};

/// A family of application forms: the forms one validator knows and one
/// execution path carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormFamily {
    /// Server certificates: forms 5-3-1, 5-3-2, 5-3-3; profiles 3 and 11.
    Server,
    /// Client and S/MIME certificates with keys the CA generates: forms
    /// 5-4-1, 5-4-2, 5-4-3; profiles 5, 13, 14 (client) and 7, 15, 16 (S/MIME).
    Client,
    /// Code-signing certificates (imported, never issued): the Excel
    /// revocation form read by its labels (SPEC §4).
    CodeSigning,
}

/// Which application form a file is (one form per file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormKind {
    /// 5-3-1
    ServerIssue,
    /// 5-3-2
    ServerRenew,
    /// 5-3-3
    ServerRevoke,
    /// 5-4-1
    ClientIssue,
    /// 5-4-2
    ClientRenew,
    /// 5-4-3
    ClientRevoke,
    /// The code-signing revocation form (an Excel workbook, SPEC §4; code
    /// `4-2` as the service's documents number it).
    CodeSignRevoke,
}

impl FormKind {
    pub const ALL: [FormKind; 7] = [
        FormKind::ServerIssue,
        FormKind::ServerRenew,
        FormKind::ServerRevoke,
        FormKind::ClientIssue,
        FormKind::ClientRenew,
        FormKind::ClientRevoke,
        FormKind::CodeSignRevoke,
    ];

    /// The family the form belongs to.
    pub fn family(self) -> FormFamily {
        match self {
            FormKind::ServerIssue | FormKind::ServerRenew | FormKind::ServerRevoke => {
                FormFamily::Server
            }
            FormKind::ClientIssue | FormKind::ClientRenew | FormKind::ClientRevoke => {
                FormFamily::Client
            }
            FormKind::CodeSignRevoke => FormFamily::CodeSigning,
        }
    }

    pub fn from_code(code: &str) -> Option<FormKind> {
        FormKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            FormKind::ServerIssue => "5-3-1",
            FormKind::ServerRenew => "5-3-2",
            FormKind::ServerRevoke => "5-3-3",
            FormKind::ClientIssue => "5-4-1",
            FormKind::ClientRenew => "5-4-2",
            FormKind::ClientRevoke => "5-4-3",
            FormKind::CodeSignRevoke => "4-2",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            FormKind::ServerIssue => "server certificate issuance",
            FormKind::ServerRenew => "server certificate renewal",
            FormKind::ServerRevoke => "server certificate revocation",
            FormKind::ClientIssue => "client certificate issuance",
            FormKind::ClientRenew => "client certificate renewal",
            FormKind::ClientRevoke => "client certificate revocation",
            FormKind::CodeSignRevoke => "code-signing certificate revocation",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            FormKind::ServerIssue => "サーバ証明書発行申請",
            FormKind::ServerRenew => "サーバ証明書更新申請",
            FormKind::ServerRevoke => "サーバ証明書失効申請",
            FormKind::ClientIssue => "クライアント証明書発行申請",
            FormKind::ClientRenew => "クライアント証明書更新申請",
            FormKind::ClientRevoke => "クライアント証明書失効申請",
            FormKind::CodeSignRevoke => "コード署名用証明書失効申請",
        }
    }
}

/// Certificate profile IDs (SPEC §6), each offered by one [`FormFamily`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// 3: RSA 2048, sha256WithRSAEncryption.
    ServerRsa2048,
    /// 11: ECDSA P-384, ecdsa-with-SHA384.
    ServerP384,
    /// 5: client certificate, 48 months.
    Client48Months,
    /// 13: client certificate, 13 months.
    Client13Months,
    /// 14: client certificate, 25 months.
    Client25Months,
    /// 7: S/MIME certificate, 823 days.
    Smime823Days,
    /// 15: S/MIME certificate, 13 months.
    Smime13Months,
    /// 16: S/MIME certificate, 25 months.
    Smime25Months,
}

/// How long a certificate of a profile is valid (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// The CA/B Forum TLS BR maximum in force at issuance (server profiles).
    BrMaximum,
    Months(u32),
    Days(u32),
}

impl Profile {
    pub const ALL: [Profile; 8] = [
        Profile::ServerRsa2048,
        Profile::ServerP384,
        Profile::Client48Months,
        Profile::Smime823Days,
        Profile::Client13Months,
        Profile::Client25Months,
        Profile::Smime13Months,
        Profile::Smime25Months,
    ];

    pub fn id(self) -> u8 {
        match self {
            Profile::ServerRsa2048 => 3,
            Profile::ServerP384 => 11,
            Profile::Client48Months => 5,
            Profile::Smime823Days => 7,
            Profile::Client13Months => 13,
            Profile::Client25Months => 14,
            Profile::Smime13Months => 15,
            Profile::Smime25Months => 16,
        }
    }
    /// The family whose forms request this profile.
    pub fn family(self) -> FormFamily {
        match self {
            Profile::ServerRsa2048 | Profile::ServerP384 => FormFamily::Server,
            Profile::Client48Months
            | Profile::Client13Months
            | Profile::Client25Months
            | Profile::Smime823Days
            | Profile::Smime13Months
            | Profile::Smime25Months => FormFamily::Client,
        }
    }
    /// S/MIME profiles (7, 15, 16): CN is the user's mail, SAN rfc822Name,
    /// EKU emailProtection, PIN never chosen by the officer.
    pub fn is_smime(self) -> bool {
        matches!(
            self,
            Profile::Smime823Days | Profile::Smime13Months | Profile::Smime25Months
        )
    }
    /// The validity period the profile gives (SPEC §6).
    pub fn validity(self) -> Validity {
        match self {
            Profile::ServerRsa2048 | Profile::ServerP384 => Validity::BrMaximum,
            Profile::Client48Months => Validity::Months(48),
            Profile::Client13Months | Profile::Smime13Months => Validity::Months(13),
            Profile::Client25Months | Profile::Smime25Months => Validity::Months(25),
            Profile::Smime823Days => Validity::Days(823),
        }
    }
    pub fn from_id(id: u8) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.id() == id)
    }
}

/// How the officer wants generated keys delivered (5-4-1 field 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownloadMethod {
    /// 1 (P12個別): one PKCS#12 per row, mailed to the row's admin, its PIN
    /// in a separate mail.
    P12Each,
    /// 2 (P12一括): one ZIP bundle for the file, the PIN list in a separate
    /// mail to the officer.
    P12Bundle,
    /// 3 (ブラウザ個別): browser enrolment. A mail-only robot has no browser
    /// side; policy refuses it with a row error naming methods 1 and 2.
    Browser,
}

impl DownloadMethod {
    pub fn code(self) -> u8 {
        match self {
            DownloadMethod::P12Each => 1,
            DownloadMethod::P12Bundle => 2,
            DownloadMethod::Browser => 3,
        }
    }
    pub fn from_code(c: u8) -> Option<DownloadMethod> {
        match c {
            1 => Some(DownloadMethod::P12Each),
            2 => Some(DownloadMethod::P12Bundle),
            3 => Some(DownloadMethod::Browser),
            _ => None,
        }
    }
}

/// A valid 5-3-1 row (also the request part of a 5-3-2 row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRow {
    pub line: usize,
    pub dn: Dn,
    pub profile: Profile,
    /// DER of the CSR (its signature already verified).
    pub csr_der: Vec<u8>,
    pub admin_name: String,
    pub admin_dept: String,
    pub admin_mail: String,
    pub fqdn: String,
    pub software: String,
    /// All dNSNames for the SAN, the CN included (first), no duplicates.
    pub dns_names: Vec<String>,
}

/// A valid 5-3-2 row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewRow {
    pub request: IssueRow,
    pub old_serial: Serial,
}

/// A valid 5-3-3 row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeRow {
    pub line: usize,
    pub dn: Dn,
    pub serial: Serial,
    pub reason: RevocationReason,
    pub comment: String,
    /// New admin address, if the admin changed.
    pub admin_mail: Option<String>,
}

/// A validated row of any server form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRequest {
    Issue(IssueRow),
    Renew(RenewRow),
    Revoke(RevokeRow),
}

impl ServerRequest {
    pub fn line(&self) -> usize {
        match self {
            ServerRequest::Issue(r) => r.line,
            ServerRequest::Renew(r) => r.request.line,
            ServerRequest::Revoke(r) => r.line,
        }
    }
}

/// A valid 5-4-1 row (also the request part of a 5-4-2 row). The CA
/// generates the key; the row says who the certificate is for and how the
/// PKCS#12 reaches them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIssueRow {
    pub line: usize,
    /// The DN as the row gives it (`CN,OU…,O,L,ST,C`, stored in that order
    /// reversed to the X.509 order `C,ST,L,O,OU…,CN` like server DNs). For
    /// S/MIME profiles the certificate's subject carries only the CN.
    pub dn: Dn,
    pub profile: Profile,
    pub method: DownloadMethod,
    pub admin_name: String,
    pub admin_dept: String,
    pub admin_mail: String,
    pub user_name: String,
    /// The PKCS#12 file name without `.p12` (field 12, or the CN).
    pub p12_name: String,
    pub user_dept: String,
    /// The user's mail (field 14); required except for profile 5 with method 2.
    pub user_mail: Option<String>,
    /// The officer's access PIN (field 15, method 2 only); `None`: generated.
    pub pin: Option<String>,
}

/// A valid 5-4-2 row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRenewRow {
    pub request: ClientIssueRow,
    pub old_serial: Serial,
}

/// A valid 5-4-3 row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRevokeRow {
    pub line: usize,
    pub dn: Dn,
    pub serial: Serial,
    pub reason: RevocationReason,
    pub comment: String,
    /// New admin address, if the admin changed.
    pub admin_mail: Option<String>,
    /// New user address, if it changed.
    pub user_mail: Option<String>,
}

/// A validated row of any client form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRequest {
    Issue(ClientIssueRow),
    Renew(ClientRenewRow),
    Revoke(ClientRevokeRow),
}

impl ClientRequest {
    pub fn line(&self) -> usize {
        match self {
            ClientRequest::Issue(r) => r.line,
            ClientRequest::Renew(r) => r.request.line,
            ClientRequest::Revoke(r) => r.line,
        }
    }
}

/// A valid code-signing revocation form (one certificate per form). The
/// cells it was read from are kept for messages (`Sheet1!C7`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSignRevokeRow {
    /// The 1-based row of the serial cell (what a reply calls the line).
    pub line: usize,
    /// The institution name as written (利用機関名).
    pub institution_name: String,
    pub address: String,
    pub admin_name: String,
    pub admin_dept: String,
    /// The admin's mail, if given: the completion notice goes there too.
    pub admin_mail: Option<String>,
    pub serial: Serial,
    /// The subject CN or DN as written.
    pub subject: String,
    pub reason: RevocationReason,
    pub comment: String,
    /// The application date as written (申請日).
    pub application_date: String,
}

/// A validated row of any form, by family: what `ra` carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Server(ServerRequest),
    Client(ClientRequest),
    CodeSigning(CodeSignRevokeRow),
}

impl Request {
    /// The row's line in its file.
    pub fn line(&self) -> usize {
        match self {
            Request::Server(r) => r.line(),
            Request::Client(r) => r.line(),
            Request::CodeSigning(r) => r.line,
        }
    }
    /// The existing certificate the row names (renewal, revocation) and
    /// the row's line; `None` for a request of a new certificate.
    pub fn named_certificate(&self) -> Option<(&Serial, usize)> {
        match self {
            Request::Server(ServerRequest::Renew(x)) => Some((&x.old_serial, x.request.line)),
            Request::Server(ServerRequest::Revoke(x)) => Some((&x.serial, x.line)),
            Request::Server(ServerRequest::Issue(_)) => None,
            Request::Client(ClientRequest::Renew(x)) => Some((&x.old_serial, x.request.line)),
            Request::Client(ClientRequest::Revoke(x)) => Some((&x.serial, x.line)),
            Request::Client(ClientRequest::Issue(_)) => None,
            Request::CodeSigning(x) => Some((&x.serial, x.line)),
        }
    }
    /// The reason of a revocation row.
    pub fn revocation_reason(&self) -> Option<RevocationReason> {
        match self {
            Request::Server(ServerRequest::Revoke(r)) => Some(r.reason),
            Request::Client(ClientRequest::Revoke(r)) => Some(r.reason),
            Request::CodeSigning(r) => Some(r.reason),
            Request::Server(ServerRequest::Issue(_) | ServerRequest::Renew(_))
            | Request::Client(ClientRequest::Issue(_) | ClientRequest::Renew(_)) => None,
        }
    }
}

/// How a PKCS#12 file is encrypted (`mailra.toml` `[ca] p12_encryption`,
/// overridable per institution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum P12Encryption {
    /// 3DES bags, SHA-1 MAC: opens everywhere.
    #[default]
    Compatible,
    /// PBKDF2-SHA256 + AES-256-CBC bags, SHA-256 MAC: stronger, but older
    /// Apple, Android and Windows systems refuse it.
    Modern,
}

impl P12Encryption {
    pub const ALL: [P12Encryption; 2] = [P12Encryption::Compatible, P12Encryption::Modern];

    /// The configuration value: `compatible`, `modern`.
    pub fn as_str(self) -> &'static str {
        match self {
            P12Encryption::Compatible => "compatible",
            P12Encryption::Modern => "modern",
        }
    }

    /// The algorithms in words, for notices.
    pub fn describe(self) -> &'static str {
        match self {
            P12Encryption::Compatible => "3DES (pbeWithSHA1And3-KeyTripleDES-CBC), SHA-1 MAC",
            P12Encryption::Modern => "AES-256-CBC (PBES2, PBKDF2-SHA256), SHA-256 MAC",
        }
    }
}

impl std::fmt::Display for P12Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for P12Encryption {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        P12Encryption::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not \"compatible\" or \"modern\""))
    }
}
