//! The reminders' views: the 2-2-9 reminder (サーバ用証明書更新(旧証明書の失効申請)再通知)
//! and the expiry digest, for `templates/renewal_reminder.txt` and
//! `templates/expiry_digest.txt`.

use serde::Serialize;
use time::OffsetDateTime;

use super::views::stamp;
use crate::model::{DownloadMethod, Serial};

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
    /// The attached server renewal file's name (5-3-2 rows).
    pub server_file: Option<String>,
    /// The attached client renewal files (5-4-2 rows), one per download
    /// method (or more when a method's rows do not fit one file).
    pub client_files: Vec<ClientFile>,
    pub robot: String,
}

/// One attached client renewal file.
#[derive(Debug, Serialize)]
pub struct ClientFile {
    pub name: String,
    /// The download method of all its rows (field 3): 1 or 2.
    pub method: u8,
    /// The method's name on the forms, `P12個別` or `P12一括`.
    pub method_ja: &'static str,
    /// What the method means, in English.
    pub method_en: &'static str,
    pub rows: usize,
}

impl ClientFile {
    pub fn new(name: &str, method: DownloadMethod, rows: usize) -> ClientFile {
        let (method_ja, method_en) = match method {
            DownloadMethod::P12Each => (
                "P12個別",
                "one PKCS#12 per certificate to its admin, its PIN in a separate mail",
            ),
            DownloadMethod::P12Bundle => (
                "P12一括",
                "one ZIP bundle to the admin, the PIN list in a separate mail to you",
            ),
            DownloadMethod::Browser => ("ブラウザ個別", "browser enrolment"),
        };
        ClientFile {
            name: name.to_string(),
            method: method.code(),
            method_ja,
            method_en,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Renderer;
    use time::macros::datetime;

    #[test]
    fn the_reminder_texts_render_with_their_subjects_and_serials() {
        let r = Renderer::new(None).unwrap();
        let (old, new) = (Serial::from_bytes(&[0x0a]), Serial::from_bytes(&[0x0b]));
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let view = RenewalReminder::new(
            "www.example.ac.jp",
            "CN=www.example.ac.jp",
            (&old, t0),
            (&new, t0),
            14,
            "o@example.ac.jp",
            "ra@example.ac.jp",
        );
        let t = r.render("renewal_reminder", &view).unwrap();
        assert!(
            t.subject
                .starts_with("サーバ用証明書更新(旧証明書の失効申請)再通知")
        );
        assert!(
            t.body.contains("0x0A (10)") && t.body.contains("0x0B (11)"),
            "{}",
            t.body
        );
        let digest = ExpiryDigest {
            institution: "Example University".into(),
            days: 30,
            certs: vec![ExpiringCert::new(
                "CN=www.example.ac.jp",
                "www.example.ac.jp",
                &old,
                3,
                t0,
                "a@example.ac.jp",
                false,
            )],
            server_file: Some("server-renewal.tsv".into()),
            client_files: vec![],
            robot: "ra@example.ac.jp".into(),
        };
        let t = r.render("expiry_digest", &digest).unwrap();
        assert!(t.subject.contains("Example University, 1"), "{}", t.subject);
        assert!(t.body.contains("server-renewal.tsv") && t.body.contains("no renewal row"));
        assert!(!t.body.contains("\n\n\n"));
        assert!(!t.body.contains("5-4-2"), "no client file, no client text");

        // Client files, one per download method: named, with what to do.
        let digest = ExpiryDigest {
            client_files: vec![
                ClientFile::new("client-renewal-method1.tsv", DownloadMethod::P12Each, 2),
                ClientFile::new("client-renewal-method2.tsv", DownloadMethod::P12Bundle, 1),
            ],
            server_file: None,
            ..digest
        };
        let t = r.render("expiry_digest", &digest).unwrap();
        for want in [
            "client-renewal-method1.tsv",
            "P12個別",
            "client-renewal-method2.tsv",
            "P12一括",
            "追記は不要",
            "更新しない行を削除",
            "nothing to add",
            "Delete the rows you do not renew",
        ] {
            assert!(t.body.contains(want), "{want} not in:\n{}", t.body);
        }
        assert!(!t.body.contains("server-renewal.tsv"));
        assert!(!t.body.contains("\n\n\n"), "{}", t.body);
    }
}
