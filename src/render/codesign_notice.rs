//! The completion notice of a code-signing revocation (`codesign_revoked`,
//! subject コード署名用証明書失効完了通知): to the officer and, when the form
//! gave one, the admin — Japanese with an English section, like the server
//! revocation notice.

use serde::Serialize;
use time::OffsetDateTime;

use super::notices::RevokedCert;
use super::views::stamp;

/// The view of `templates/codesign_revoked.txt`.
#[derive(Debug, Serialize)]
pub struct CodeSignRevoked {
    pub cert: RevokedCert,
    pub institution: String,
    pub admin_name: String,
    pub application_date: String,
    /// Whether the instance holds the issuing CA's key and listed it on its
    /// CRL (else the revocation is exported to that CA).
    pub on_crl: bool,
    pub revoked_at: String,
    pub officer: String,
    pub robot: String,
}

/// What the notice says besides the certificate.
pub struct Applied<'a> {
    pub institution: &'a str,
    pub admin_name: &'a str,
    pub application_date: &'a str,
    pub on_crl: bool,
}

impl CodeSignRevoked {
    pub const TEMPLATE: &'static str = "codesign_revoked";

    pub fn new(
        cert: RevokedCert,
        applied: &Applied<'_>,
        at: OffsetDateTime,
        officer: &str,
        robot: &str,
    ) -> CodeSignRevoked {
        CodeSignRevoked {
            cert,
            institution: applied.institution.to_string(),
            admin_name: if applied.admin_name.is_empty() {
                "ご担当者".into()
            } else {
                applied.admin_name.to_string()
            },
            application_date: applied.application_date.to_string(),
            on_crl: applied.on_crl,
            revoked_at: stamp(at),
            officer: officer.to_string(),
            robot: robot.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RevocationReason, Serial};

    #[test]
    fn the_notice_names_the_certificate_and_where_its_revocation_is_published() {
        let r = crate::render::Renderer::new(None).unwrap();
        for (on_crl, ja, en) in [
            (
                true,
                "CRLに掲載されています",
                "listed in the CRL of its issuing CA",
            ),
            (false, "発行CAに届け出ます", "passed on to its issuing CA"),
        ] {
            let cert = RevokedCert::new(
                "Example Code Signing",
                "CN=Example Code Signing,O=Example University,C=JP",
                &Serial::from_bytes(&[0x2a]),
                RevocationReason::KeyCompromise,
                "鍵の紛失",
            );
            let applied = Applied {
                institution: "学校法人申請学園 Example University",
                admin_name: "国立 太郎",
                application_date: "2026-04-01",
                on_crl,
            };
            let view = CodeSignRevoked::new(
                cert,
                &applied,
                time::macros::datetime!(2026-04-02 01:00 UTC),
                "officer@example.ac.jp",
                "ra@example.ac.jp",
            );
            let t = r.render(CodeSignRevoked::TEMPLATE, &view).unwrap();
            assert_eq!(
                t.subject,
                "コード署名用証明書失効完了通知 / Code-signing certificate revoked (Example Code Signing)"
            );
            for want in [
                ja,
                en,
                "国立 太郎 様",
                "シリアル番号: 0x2A (42)",
                "失効理由: 1 (keyCompromise)",
                "コメント: 鍵の紛失",
                "2026-04-01",
                "登録担当者: officer@example.ac.jp",
            ] {
                assert!(t.body.contains(want), "{want}: {}", t.body);
            }
        }
    }
}
