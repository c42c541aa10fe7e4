//! What each reply says, as typed views: the template contexts of the
//! officer's result, the rejection and duplicate answers and the admins'
//! notices. The workflow fills them with facts; the wording and formatting
//! (times in JST, serials in hex and decimal, salutations) happen here.

use serde::Serialize;
use time::OffsetDateTime;

use super::views::{FileView, check_ja, stamp};
use crate::model::{RevocationReason, Serial, Verdict};

/// A note under the files of the officer's result.
#[derive(Debug, Serialize)]
pub struct Note {
    pub ja: String,
    pub en: String,
}

/// The officer's result of a mail with application files (`officer_result`,
/// or `held` while the secretariat reviews it).
#[derive(Debug, Serialize)]
pub struct OfficerResult {
    pub officer: String,
    pub dry_run: bool,
    pub all_ok: bool,
    pub summary: String,
    pub received: String,
    pub signer: String,
    pub message_id: String,
    pub files: Vec<FileView>,
    pub notes: Vec<Note>,
    pub robot: String,
}

/// Facts about the mail being answered, common to every reply.
#[derive(Debug, Clone)]
pub struct MailFacts<'a> {
    pub received_at: OffsetDateTime,
    pub signer: &'a str,
    pub message_id: Option<&'a str>,
    pub robot: &'a str,
}

impl OfficerResult {
    pub fn new(
        mail: &MailFacts<'_>,
        officer: &str,
        verdict: Verdict,
        summary: &str,
        files: Vec<FileView>,
        notes: &[String],
    ) -> OfficerResult {
        OfficerResult {
            officer: officer.to_string(),
            dry_run: verdict == Verdict::Checked,
            all_ok: !files.is_empty() && files.iter().all(|f| f.errors.is_empty()),
            summary: summary.to_string(),
            received: stamp(mail.received_at),
            signer: mail.signer.to_string(),
            message_id: mail.message_id.unwrap_or("-").to_string(),
            files,
            // The notes are written in English by the workflow; both sections show them.
            notes: notes
                .iter()
                .map(|n| Note {
                    ja: n.clone(),
                    en: n.clone(),
                })
                .collect(),
            robot: mail.robot.to_string(),
        }
    }

    /// The template: a held mail gets its own wording.
    pub fn template(verdict: Verdict) -> &'static str {
        if verdict == Verdict::Held {
            "held"
        } else {
            "officer_result"
        }
    }
}

/// The answer to a mail that was not accepted (`rejected`).
#[derive(Debug, Serialize)]
pub struct Rejected {
    pub check: String,
    pub check_ja: &'static str,
    pub reason: String,
    pub received: String,
    pub robot: String,
}

impl Rejected {
    pub fn new(mail: &MailFacts<'_>, check: &str, reason: &str) -> Rejected {
        Rejected {
            check: check.to_string(),
            check_ja: check_ja(check),
            reason: reason.to_string(),
            received: stamp(mail.received_at),
            robot: mail.robot.to_string(),
        }
    }
}

/// The answer to a secretariat's command mail (`command`): the transcript,
/// or why nothing was obeyed.
#[derive(Debug, Serialize)]
pub struct CommandReply {
    pub member: String,
    /// Why the mail was refused as a whole (then no transcript).
    pub refused: Option<String>,
    pub transcript: String,
    pub received: String,
    pub signer: String,
    pub message_id: String,
    pub robot: String,
}

/// The one notice an officer gets per maintenance period (`maintenance`):
/// the mail is kept and processed after the maintenance.
#[derive(Debug, Serialize)]
pub struct MaintenanceNotice {
    pub officer: String,
    /// The secretariat's message.
    pub message: String,
    /// When the maintenance is to end, in JST; None when not set.
    pub until: Option<String>,
    pub received: String,
    pub message_id: String,
    pub robot: String,
}

impl CommandReply {
    pub fn new(
        mail: &MailFacts<'_>,
        member: &str,
        refused: Option<String>,
        transcript: &str,
    ) -> CommandReply {
        CommandReply {
            member: member.to_string(),
            refused,
            transcript: transcript.trim_end().to_string(),
            received: stamp(mail.received_at),
            signer: mail.signer.to_string(),
            message_id: mail.message_id.unwrap_or("-").to_string(),
            robot: mail.robot.to_string(),
        }
    }
}

impl MaintenanceNotice {
    pub fn new(
        mail: &MailFacts<'_>,
        officer: &str,
        message: &str,
        until: Option<OffsetDateTime>,
    ) -> MaintenanceNotice {
        MaintenanceNotice {
            officer: officer.to_string(),
            message: message.to_string(),
            until: until.map(stamp),
            received: stamp(mail.received_at),
            message_id: mail.message_id.unwrap_or("-").to_string(),
            robot: mail.robot.to_string(),
        }
    }
}

/// The answer to signed content seen before (`duplicate`).
#[derive(Debug, Serialize)]
pub struct Duplicate {
    pub first_id: i64,
    pub first_at: String,
    pub robot: String,
}

/// One certificate in an admin's issued notice.
#[derive(Debug, Serialize)]
pub struct IssuedCert {
    pub cn: String,
    pub dn: String,
    pub serial: String,
    pub serial_dec: String,
    pub not_before: String,
    pub not_after: String,
    pub dns_names: String,
    pub renewed_from: Option<String>,
}

impl IssuedCert {
    pub fn new(
        cn: &str,
        dn: &str,
        serial: &Serial,
        validity: (OffsetDateTime, OffsetDateTime),
        dns_names: &[String],
        renewed_from: Option<&Serial>,
    ) -> IssuedCert {
        IssuedCert {
            cn: cn.to_string(),
            dn: dn.to_string(),
            serial: serial.to_string(),
            serial_dec: serial.to_decimal(),
            not_before: stamp(validity.0),
            not_after: stamp(validity.1),
            dns_names: dns_names.join(", "),
            renewed_from: renewed_from.map(|s| s.to_string()),
        }
    }
}

/// The admin's notice of issued server certificates (`server_issued`).
#[derive(Debug, Serialize)]
pub struct Issued {
    pub admin_name: String,
    pub certs: Vec<IssuedCert>,
    pub renewal: bool,
    pub officer: String,
    pub robot: String,
}

impl Issued {
    /// `names`: the admin names the rows gave; one name when they agree,
    /// otherwise a neutral salutation.
    pub fn new(names: &[&str], certs: Vec<IssuedCert>, officer: &str, robot: &str) -> Issued {
        let mut distinct: Vec<&str> = Vec::new();
        for n in names {
            if !n.is_empty() && !distinct.contains(n) {
                distinct.push(n);
            }
        }
        Issued {
            admin_name: match distinct[..] {
                [one] => one.to_string(),
                _ => "ご担当者".to_string(),
            },
            renewal: certs.iter().any(|c| c.renewed_from.is_some()),
            certs,
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

/// One certificate in a revocation notice.
#[derive(Debug, Serialize)]
pub struct RevokedCert {
    pub cn: String,
    pub dn: String,
    pub serial: String,
    pub serial_dec: String,
    pub reason: String,
    pub comment: String,
}

impl RevokedCert {
    pub fn new(
        cn: &str,
        dn: &str,
        serial: &Serial,
        reason: RevocationReason,
        comment: &str,
    ) -> RevokedCert {
        RevokedCert {
            cn: cn.to_string(),
            dn: dn.to_string(),
            serial: serial.to_string(),
            serial_dec: serial.to_decimal(),
            reason: format!("{} ({})", reason.code(), reason.name()),
            comment: comment.to_string(),
        }
    }
}

/// The notice of revoked server certificates (`server_revoked`).
#[derive(Debug, Serialize)]
pub struct Revoked {
    pub certs: Vec<RevokedCert>,
    pub revoked_at: String,
    pub officer: String,
    pub robot: String,
}

impl Revoked {
    pub fn new(certs: Vec<RevokedCert>, at: OffsetDateTime, officer: &str, robot: &str) -> Revoked {
        Revoked {
            certs,
            revoked_at: stamp(at),
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_admin_name_or_a_neutral_salutation() {
        let one = Issued::new(&["国立　太郎", "国立　太郎", ""], vec![], "o@x", "r@x");
        assert_eq!(one.admin_name, "国立　太郎");
        let two = Issued::new(&["A", "B"], vec![], "o@x", "r@x");
        assert_eq!(two.admin_name, "ご担当者");
        let none = Issued::new(&[""], vec![], "o@x", "r@x");
        assert_eq!(none.admin_name, "ご担当者");
    }

    #[test]
    fn revoked_certs_show_the_reason_code_and_name() {
        let s = Serial::from_bytes(&[0x2a]);
        let c = RevokedCert::new("www", "CN=www", &s, RevocationReason::Superseded, "");
        assert_eq!(c.serial_dec, "42");
        assert!(c.reason.starts_with("4 ("), "{}", c.reason);
    }
}
