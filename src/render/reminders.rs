//! The reminders' views: the 2-2-9 reminder (サーバ用証明書更新(旧証明書の失効申請)再通知)
//! and the expiry digest, for `templates/renewal_reminder.txt` and
//! `templates/expiry_digest.txt`.

use serde::Serialize;
use time::OffsetDateTime;

use super::views::stamp;
use crate::model::Serial;

/// The 2-2-9 reminder: the old certificate of a renewal is still valid.
#[derive(Debug, Serialize)]
pub struct RenewalReminder {
    pub cn: String,
    pub dn: String,
    pub old_serial: String,
    pub old_serial_dec: String,
    pub old_not_after: String,
    pub new_serial: String,
    pub new_serial_dec: String,
    pub renewed_at: String,
    pub days: i64,
    pub officer: String,
    pub robot: String,
}

impl RenewalReminder {
    /// `old`/`new`: (serial, date) — the old certificate's end of validity,
    /// the new one's issuance.
    pub fn new(
        cn: &str,
        dn: &str,
        old: (&Serial, OffsetDateTime),
        new: (&Serial, OffsetDateTime),
        days: i64,
        officer: &str,
        robot: &str,
    ) -> RenewalReminder {
        RenewalReminder {
            cn: cn.to_string(),
            dn: dn.to_string(),
            old_serial: old.0.to_string(),
            old_serial_dec: old.0.to_decimal(),
            old_not_after: stamp(old.1),
            new_serial: new.0.to_string(),
            new_serial_dec: new.0.to_decimal(),
            renewed_at: stamp(new.1),
            days,
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

/// One certificate in an expiry digest.
#[derive(Debug, Serialize)]
pub struct ExpiringCert {
    pub cn: String,
    pub dn: String,
    pub serial: String,
    pub serial_dec: String,
    pub profile: u8,
    pub not_after: String,
    pub admin_mail: String,
    /// Whether the attached file has a row for it.
    pub in_file: bool,
}

impl ExpiringCert {
    pub fn new(
        dn: &str,
        cn: &str,
        serial: &Serial,
        profile: u8,
        not_after: OffsetDateTime,
        admin_mail: &str,
        in_file: bool,
    ) -> ExpiringCert {
        ExpiringCert {
            cn: cn.to_string(),
            dn: dn.to_string(),
            serial: serial.to_string(),
            serial_dec: serial.to_decimal(),
            profile,
            not_after: stamp(not_after),
            admin_mail: admin_mail.to_string(),
            in_file,
        }
    }
}

/// The expiry digest of one institution.
#[derive(Debug, Serialize)]
pub struct ExpiryDigest {
    pub institution: String,
    pub days: u32,
    pub certs: Vec<ExpiringCert>,
    /// The attached files' names (server rows, client rows).
    pub server_file: Option<String>,
    pub client_file: Option<String>,
    pub robot: String,
}
