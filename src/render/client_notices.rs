//! What the client-certificate notices say (SPEC §5), as typed views: the
//! クライアント証明書発行受付通知 that carries a PKCS#12 (method 1, one per
//! certificate) or one part of a bundle (method 2, one per part), the
//! アクセスPIN発行通知 that carries the PIN (method 1, to the admin) or the
//! PIN list (method 2, to the officer), and the クライアント証明書失効完了通知.
//!
//! A key and its PIN never share a mail, and the views keep it so: no view
//! of a mail carrying a P12 has a PIN in it. The P12 notices say which
//! PKCS#12 encryption was used and what to do when an import fails.

use serde::Serialize;
use time::OffsetDateTime;

use super::bundle::{CLIENT_ALL_PIN_TXT, CertInfo, PartIndex};
use super::notices::RevokedCert;
use super::views::stamp;
use crate::model::{P12Encryption, Serial};

/// How a notice describes a [`P12Encryption`].
#[derive(Debug, Clone, Serialize)]
pub struct EncryptionView {
    pub name: &'static str,
    pub modern: bool,
    pub ja: &'static str,
    pub en: &'static str,
}

impl EncryptionView {
    pub fn of(enc: P12Encryption) -> EncryptionView {
        match enc {
            P12Encryption::Compatible => EncryptionView {
                name: "compatible",
                modern: false,
                ja: "互換方式 (3DES / SHA-1): ほぼすべてのOS・メールソフト・ブラウザで読み込めます。",
                en: "compatible (3DES / SHA-1): imports on practically every system.",
            },
            P12Encryption::Modern => EncryptionView {
                name: "modern",
                modern: true,
                ja: "新方式 (AES-256 / SHA-256): macOS 14 以前、iOS/iPadOS 17 以前、Android 13 以前などでは、PINが正しくても「パスワードが違います」と表示され読み込めません。",
                en: "modern (AES-256 / SHA-256): macOS 14 and earlier, iOS/iPadOS 17 and earlier, Android 13 and earlier (and some other software) refuse it with a misleading \"wrong password\" message even when the PIN is right.",
            },
        }
    }
}

/// One issued client or S/MIME certificate, as the notices show it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCertView {
    pub cn: String,
    pub dn: String,
    pub serial: String,
    pub serial_dec: String,
    pub profile: u8,
    pub not_before: String,
    pub not_after: String,
    pub user_mail: String,
    /// With `.p12`.
    pub p12_file: String,
    pub renewed_from: Option<String>,
}

impl ClientCertView {
    pub fn new(info: &CertInfo, cn: &str, renewed_from: Option<&Serial>) -> ClientCertView {
        ClientCertView {
            cn: cn.to_string(),
            dn: info.subject_dn.clone(),
            serial: info.serial.to_string(),
            serial_dec: info.serial.to_decimal(),
            profile: info.profile.id(),
            not_before: stamp(info.not_before),
            not_after: stamp(info.not_after),
            user_mail: info.user_mail.clone(),
            p12_file: format!("{}.p12", info.p12_name),
            renewed_from: renewed_from.map(|s| s.to_string()),
        }
    }
}

fn salutation(name: &str) -> String {
    if name.trim().is_empty() {
        "ご担当者".to_string()
    } else {
        name.to_string()
    }
}

/// Method 1: one certificate's PKCS#12, attached, to the row's admin
/// (`client_p12`). Its PIN comes in a [`ClientPin`] mail.
#[derive(Debug, Serialize)]
pub struct ClientP12 {
    pub admin_name: String,
    pub cert: ClientCertView,
    pub encryption: EncryptionView,
    pub officer: String,
    pub robot: String,
}

impl ClientP12 {
    pub const TEMPLATE: &'static str = "client_p12";

    pub fn new(
        admin_name: &str,
        cert: ClientCertView,
        encryption: P12Encryption,
        officer: &str,
        robot: &str,
    ) -> ClientP12 {
        ClientP12 {
            admin_name: salutation(admin_name),
            cert,
            encryption: EncryptionView::of(encryption),
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

/// Method 2: part `part` of the bundle, attached, to the admin
/// (`client_bundle`). The PIN list goes to the officer in a [`ClientPinList`].
#[derive(Debug, Serialize)]
pub struct ClientBundle {
    pub admin_name: String,
    /// This part (its certificates listed in `certs`).
    pub part: PartIndex,
    pub certs: Vec<ClientCertView>,
    /// Every part of the bundle.
    pub parts: Vec<PartIndex>,
    /// The certificates of the whole bundle.
    pub total: usize,
    pub encryption: EncryptionView,
    pub pin_file: &'static str,
    pub officer: String,
    pub robot: String,
}

impl ClientBundle {
    pub const TEMPLATE: &'static str = "client_bundle";

    /// `part`: the index entry of this part (one of `parts`).
    pub fn new(
        admin_name: &str,
        part: &PartIndex,
        certs: Vec<ClientCertView>,
        parts: &[PartIndex],
        encryption: P12Encryption,
        officer: &str,
        robot: &str,
    ) -> ClientBundle {
        ClientBundle {
            admin_name: salutation(admin_name),
            part: part.clone(),
            certs,
            parts: parts.to_vec(),
            total: parts.iter().map(|p| p.count).sum(),
            encryption: EncryptionView::of(encryption),
            pin_file: CLIENT_ALL_PIN_TXT,
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

/// Method 1: the access PIN of one certificate, to its admin (`client_pin`),
/// in a mail of its own.
#[derive(Debug, Serialize)]
pub struct ClientPin {
    pub admin_name: String,
    pub cn: String,
    pub serial: String,
    pub serial_dec: String,
    pub p12_file: String,
    pub pin: String,
    pub officer: String,
    pub robot: String,
}

impl ClientPin {
    pub const TEMPLATE: &'static str = "client_pin";

    pub fn new(
        admin_name: &str,
        cert: &ClientCertView,
        pin: &str,
        officer: &str,
        robot: &str,
    ) -> ClientPin {
        ClientPin {
            admin_name: salutation(admin_name),
            cn: cert.cn.clone(),
            serial: cert.serial.clone(),
            serial_dec: cert.serial_dec.clone(),
            p12_file: cert.p12_file.clone(),
            pin: pin.to_string(),
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

/// Method 2: `clientAllPin.txt`, attached, to the officer
/// (`client_pin_list`); the bundle went to the admin(s).
#[derive(Debug, Serialize)]
pub struct ClientPinList {
    pub officer: String,
    pub count: usize,
    pub pin_file: &'static str,
    /// Where the bundle went.
    pub admins: Vec<String>,
    pub parts: Vec<PartIndex>,
    pub robot: String,
}

impl ClientPinList {
    pub const TEMPLATE: &'static str = "client_pin_list";

    pub fn new(officer: &str, admins: &[String], parts: &[PartIndex], robot: &str) -> Self {
        ClientPinList {
            officer: officer.to_string(),
            count: parts.iter().map(|p| p.count).sum(),
            pin_file: CLIENT_ALL_PIN_TXT,
            admins: admins.to_vec(),
            parts: parts.to_vec(),
            robot: robot.to_string(),
        }
    }
}

/// Revoked client or S/MIME certificates, to the admin and the officer
/// (`client_revoked`).
#[derive(Debug, Serialize)]
pub struct ClientRevoked {
    pub certs: Vec<RevokedCert>,
    pub revoked_at: String,
    pub officer: String,
    pub robot: String,
}

impl ClientRevoked {
    pub const TEMPLATE: &'static str = "client_revoked";

    pub fn new(certs: Vec<RevokedCert>, at: OffsetDateTime, officer: &str, robot: &str) -> Self {
        ClientRevoked {
            certs,
            revoked_at: stamp(at),
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
