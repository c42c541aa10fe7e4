//! Each client notice rendered from one sample issuance: the facts a reader
//! needs are there, and a PIN only where it belongs.

use super::*;
use crate::model::{Profile, RevocationReason};
use crate::render::Renderer;
use crate::render::bundle::{BundleEntry, SplitLimit, bundle_parts, part_index};

const PIN: &str = "Pq7kR2mW9xZ4vB8nC3yHtJ";
const OFFICER: &str = "officer@example.ac.jp";
const ROBOT: &str = "ra@certs.example.ac.jp";

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-30 15:30:05 UTC)
}

fn info(name: &str, n: u8) -> CertInfo {
    CertInfo {
        p12_name: name.to_string(),
        serial: Serial::from_bytes(&[0x01, n]),
        subject_dn: format!("CN={name},OU=工学部,O=Example University,ST=Tokyo,C=JP"),
        profile: Profile::Client25Months,
        not_before: t0(),
        not_after: t0() + time::Duration::days(760),
        user_mail: format!("{name}@example.ac.jp"),
    }
}

fn render(name: &str, view: &impl serde::Serialize) -> crate::render::Text {
    Renderer::new(None).unwrap().render(name, view).unwrap()
}

#[test]
fn the_p12_notice_names_the_certificate_and_the_encryption_and_holds_no_pin() {
    let cert = ClientCertView::new(&info("taro", 0x2a), "taro", None);
    // (encryption, what the notice must say)
    let cases = [
        (
            P12Encryption::Compatible,
            vec!["互換方式 (3DES / SHA-1)", "compatible (3DES / SHA-1)"],
        ),
        (
            P12Encryption::Modern,
            vec![
                "新方式 (AES-256 / SHA-256)",
                "macOS 14 以前",
                "iOS/iPadOS 17 以前",
                "Android 13 以前",
                "互換方式(3DES)での再発行",
                "wrong password",
                "ask your officer for a re-issue with the compatible (3DES) encryption",
            ],
        ),
    ];
    for (enc, says) in cases {
        let t = render(
            ClientP12::TEMPLATE,
            &ClientP12::new("国立 太郎", cert.clone(), enc, OFFICER, ROBOT),
        );
        assert_eq!(
            t.subject,
            "クライアント証明書発行受付通知 / Client certificate issued (taro)"
        );
        for fact in [
            "国立 太郎 様",
            "taro.p12",
            "0x012A (298)",
            "CN=taro,OU=工学部,O=Example University,ST=Tokyo,C=JP",
            "2026-12-01 00:30:05 JST",
            "プロファイル: 14",
            "別のメール「アクセスPIN発行通知」",
            "comes in a separate mail",
            OFFICER,
        ] {
            assert!(t.body.contains(fact), "{enc:?} {fact}: {}", t.body);
        }
        for s in says {
            assert!(t.body.contains(s), "{enc:?} {s}: {}", t.body);
        }
        assert!(!t.body.contains(PIN));
        assert!(!t.body.contains("\n\n\n"));
    }
    let compatible = render(
        ClientP12::TEMPLATE,
        &ClientP12::new("", cert, P12Encryption::Compatible, OFFICER, ROBOT),
    );
    assert!(compatible.body.starts_with("ご担当者 様"));
    assert!(!compatible.body.contains("macOS"));
}

#[test]
fn the_pin_notice_carries_the_pin_and_no_file() {
    let cert = ClientCertView::new(&info("taro", 0x2a), "taro", None);
    let t = render(
        ClientPin::TEMPLATE,
        &ClientPin::new("国立 太郎", &cert, PIN, OFFICER, ROBOT),
    );
    assert_eq!(t.subject, "アクセスPIN発行通知 / Access PIN (taro)");
    for fact in [
        &format!("アクセスPIN: {PIN}"),
        &format!("Access PIN: {PIN}"),
        "taro.p12",
        "0x012A (298)",
        "「クライアント証明書発行受付通知」",
    ] {
        assert!(t.body.contains(fact), "{fact}: {}", t.body);
    }
}

#[test]
fn bundle_notices_list_their_part_and_the_pin_list_goes_elsewhere() {
    let entries: Vec<BundleEntry> = (0..6u8)
        .map(|i| BundleEntry {
            info: info(&format!("user{i}"), i),
            p12: vec![i; 3000],
        })
        .collect();
    let limit = SplitLimit {
        max_message_bytes: 12_000,
        reserve_bytes: 1000,
        encrypted_to: 0,
    };
    let parts = bundle_parts(&entries, &limit, t0()).unwrap();
    let index = part_index(&parts);
    assert!(index.len() > 1);
    let second = &index[1];
    let certs: Vec<ClientCertView> = parts[1]
        .p12_files
        .iter()
        .map(|f| {
            let e = entries
                .iter()
                .find(|e| format!("{}.p12", e.info.p12_name) == *f)
                .unwrap();
            ClientCertView::new(&e.info, &e.info.p12_name, None)
        })
        .collect();
    let n = certs.len();
    let view = ClientBundle::new(
        "",
        second,
        certs,
        &index,
        P12Encryption::Modern,
        OFFICER,
        ROBOT,
    );
    let t = render(ClientBundle::TEMPLATE, &view);
    assert_eq!(
        t.subject,
        format!(
            "クライアント証明書発行受付通知 / Client certificates issued (part 2/{}, {n} of 6)",
            index.len()
        )
    );
    for fact in [
        format!("{} 通中 2 通目", index.len()),
        format!("client-bundle-2of{}.zip", index.len()),
        format!("client-bundle-1of{}.zip", index.len()),
        parts[1].p12_files[0].clone(),
        "clientAllPin.txt".into(),
        format!("登録担当者({OFFICER})宛の別のメール"),
        "新方式 (AES-256 / SHA-256)".into(),
        "client.txt".into(),
    ] {
        assert!(t.body.contains(&fact), "{fact}: {}", t.body);
    }
    assert!(!t.body.contains(PIN));
    // A bundle in one mail does not talk about parts.
    let one = bundle_parts(&entries, &SplitLimit::default(), t0()).unwrap();
    let one_index = part_index(&one);
    let t = render(
        ClientBundle::TEMPLATE,
        &ClientBundle::new(
            "管理 花子",
            &one_index[0],
            vec![],
            &one_index,
            P12Encryption::Compatible,
            OFFICER,
            ROBOT,
        ),
    );
    assert!(t.body.contains("client-bundle.zip") && !t.body.contains("通中"));
    assert!(!t.subject.contains("part"), "{}", t.subject);

    let t = render(
        ClientPinList::TEMPLATE,
        &ClientPinList::new(OFFICER, &["admin@example.ac.jp".into()], &index, ROBOT),
    );
    assert_eq!(
        t.subject,
        "アクセスPIN発行通知 / Access PINs (6 certificates)"
    );
    for fact in [
        "clientAllPin.txt",
        "admin@example.ac.jp",
        "証明書ファイル(ZIP)は、別のメール",
        &index[0].file_name,
    ] {
        assert!(t.body.contains(fact), "{fact}: {}", t.body);
    }
}

#[test]
fn the_revocation_notice_shows_dn_serial_in_both_forms_and_reason() {
    let s = Serial::from_bytes(&[0x01, 0x00]);
    let certs = vec![RevokedCert::new(
        "taro",
        "CN=taro,OU=工学部,O=Example University,ST=Tokyo,C=JP",
        &s,
        RevocationReason::KeyCompromise,
        "PC紛失",
    )];
    let t = render(
        ClientRevoked::TEMPLATE,
        &ClientRevoked::new(certs, t0(), OFFICER, ROBOT),
    );
    assert_eq!(
        t.subject,
        "クライアント証明書失効完了通知 / Client certificate revoked (taro)"
    );
    for fact in [
        "主体者DN: CN=taro,OU=工学部,O=Example University,ST=Tokyo,C=JP",
        "シリアル番号: 0x0100 (256)",
        "失効理由: 1 (",
        "Reason: 1 (",
        "コメント: PC紛失",
        "2026-12-01 00:30:05 JST",
    ] {
        assert!(t.body.contains(fact), "{fact}: {}", t.body);
    }
}
