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
}

impl FormKind {
    pub const ALL: [FormKind; 3] = [
        FormKind::ServerIssue,
        FormKind::ServerRenew,
        FormKind::ServerRevoke,
    ];

    /// The family the form belongs to.
    pub fn family(self) -> FormFamily {
        match self {
            FormKind::ServerIssue | FormKind::ServerRenew | FormKind::ServerRevoke => {
                FormFamily::Server
            }
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
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            FormKind::ServerIssue => "server certificate issuance",
            FormKind::ServerRenew => "server certificate renewal",
            FormKind::ServerRevoke => "server certificate revocation",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            FormKind::ServerIssue => "サーバ証明書発行申請",
            FormKind::ServerRenew => "サーバ証明書更新申請",
            FormKind::ServerRevoke => "サーバ証明書失効申請",
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
}

impl Profile {
    pub fn id(self) -> u8 {
        match self {
            Profile::ServerRsa2048 => 3,
            Profile::ServerP384 => 11,
        }
    }
    /// The family whose forms request this profile.
    pub fn family(self) -> FormFamily {
        match self {
            Profile::ServerRsa2048 | Profile::ServerP384 => FormFamily::Server,
        }
    }
    pub fn from_id(id: u8) -> Option<Profile> {
        match id {
            3 => Some(Profile::ServerRsa2048),
            11 => Some(Profile::ServerP384),
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

/// A validated row of any form, by family: what `ra` carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Server(ServerRequest),
}

impl Request {
    /// The row's line in its file.
    pub fn line(&self) -> usize {
        match self {
            Request::Server(r) => r.line(),
        }
    }
    /// The existing certificate the row names (renewal, revocation) and
    /// the row's line; `None` for a request of a new certificate.
    pub fn named_certificate(&self) -> Option<(&Serial, usize)> {
        match self {
            Request::Server(ServerRequest::Renew(x)) => Some((&x.old_serial, x.request.line)),
            Request::Server(ServerRequest::Revoke(x)) => Some((&x.serial, x.line)),
            Request::Server(ServerRequest::Issue(_)) => None,
        }
    }
    /// The reason of a revocation row.
    pub fn revocation_reason(&self) -> Option<RevocationReason> {
        match self {
            Request::Server(ServerRequest::Revoke(r)) => Some(r.reason),
            Request::Server(ServerRequest::Issue(_) | ServerRequest::Renew(_)) => None,
        }
    }
}
