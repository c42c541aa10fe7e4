//! The bundle read back as the admin's unzip tool and Excel read it.

use std::io::Read as _;

use super::*;

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-30 15:30:05 UTC)
}

fn entry(name: &str, n: u8, p12_len: usize) -> BundleEntry {
    let mut p12 = vec![0u8; p12_len];
    openssl::rand::rand_bytes(&mut p12).unwrap();
    BundleEntry {
        info: CertInfo {
            p12_name: name.to_string(),
            serial: Serial::from_bytes(&[0x01, n]),
            subject_dn: format!(
                "CN={name},OU=情報基盤センター,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP"
            ),
            profile: Profile::Client13Months,
            not_before: t0(),
            not_after: t0() + time::Duration::days(396),
            user_mail: format!("{name}@example.ac.jp"),
        },
        p12,
    }
}

fn read_zip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            assert_eq!(f.compression(), CompressionMethod::Deflated);
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().to_string(), data)
        })
        .collect()
}

fn sjis_text(b: &[u8]) -> String {
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(b);
    assert!(!bad);
    text.into_owned()
}

#[test]
fn a_bundle_holds_one_p12_per_certificate_and_its_client_txt() {
    let entries: Vec<_> = ["alice", "bob", "carol"]
        .iter()
        .enumerate()
        .map(|(i, n)| entry(n, i as u8, 2500))
        .collect();
    let files = read_zip(&bundle_zip(&entries, t0(), "test").unwrap());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["alice.p12", "bob.p12", "carol.p12", "client.txt"]);
    for (e, (_, data)) in entries.iter().zip(&files) {
        assert_eq!(&e.p12, data);
    }
    let txt = &files[3].1;
    // CRLF line ends, no bare LF.
    assert_eq!(txt.windows(2).filter(|w| w == b"\r\n").count(), 3);
    assert_eq!(txt.iter().filter(|b| **b == b'\n').count(), 3);
    let text = sjis_text(txt);
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1].split('\t').collect::<Vec<_>>(),
        [
            "0x0101",
            "257",
            "CN=bob,OU=情報基盤センター,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            "13",
            "2026/12/01 00:30:05",
            "2028/01/01 00:30:05",
            "bob@example.ac.jp",
            "bob.p12",
        ]
    );
}

#[test]
fn pin_files_are_shift_jis_tsv_one_line_per_certificate() {
    let lines = vec![
        PinLine {
            p12_name: "alice".into(),
            serial: Serial::from_bytes(&[0x0a]),
            cn: "alice".into(),
            pin: "Pq7#kR2@mW9xZ4vB8nC3yH".into(),
        },
        PinLine {
            p12_name: "山田".into(),
            serial: Serial::from_bytes(&[0x0b]),
            cn: "Yamada Taro".into(),
            pin: "abcDEF234ghj".into(),
        },
    ];
    let b = pin_file(PinFile::All, &lines).unwrap();
    assert_eq!(
        sjis_text(&b),
        "alice.p12\t0x0A\talice\tPq7#kR2@mW9xZ4vB8nC3yH\r\n山田.p12\t0x0B\tYamada Taro\tabcDEF234ghj\r\n"
    );
    assert_eq!(PinFile::All.file_name(), "clientAllPin.txt");
    assert_eq!(PinFile::Each.file_name(), "clientPin.txt");
}

#[test]
fn text_shift_jis_cannot_hold_is_an_error_not_a_question_mark() {
    // (field text, what is refused)
    let cases = [
        ("CN=Zoë,O=x", Some('ë')),
        ("CN=😀,O=x", Some('😀')),
        ("CN=髙橋,O=x", None), // in Windows-31J
        ("CN=①,O=x", None),
        ("CN=Ａ,O=x", None),
    ];
    for (dn, refused) in cases {
        let mut e = entry("x", 1, 10);
        e.info.subject_dn = dn.into();
        match (client_txt([&e.info]), refused) {
            (Ok(b), None) => assert_eq!(sjis_text(&b).split('\t').nth(2), Some(dn)),
            (Err(BundleError::NotShiftJis { ch, line: 1, .. }), Some(c)) => assert_eq!(ch, c),
            (other, _) => panic!("{dn}: {other:?}"),
        }
    }
    let mut e = entry("x", 1, 10);
    e.info.user_mail = "a@b\tc".into();
    assert!(matches!(
        client_txt([&e.info]),
        Err(BundleError::Separator { .. })
    ));
}

#[test]
fn a_p12_name_collision_is_an_error() {
    // (names, refused)
    let cases: &[(&[&str], bool)] = &[
        (&["alice", "bob"], false),
        (&["alice", "alice"], true),
        (&["Alice", "alice"], true),
        (&["a/b"], true),
        (&["..\\x"], true),
        (&[""], true),
    ];
    for (names, refused) in cases {
        let entries: Vec<_> = names.iter().map(|n| entry(n, 1, 10)).collect();
        let r = bundle_zip(&entries, t0(), "");
        assert_eq!(r.is_err(), *refused, "{names:?}: {r:?}");
        let r = bundle_parts(&entries, &SplitLimit::default(), t0());
        assert_eq!(r.is_err(), *refused, "{names:?}");
    }
    let e = [entry("alice", 1, 10), entry("ALICE", 2, 10)];
    assert!(matches!(
        bundle_parts(&e, &SplitLimit::default(), t0()),
        Err(BundleError::Collision { .. })
    ));
}

#[test]
fn a_big_bundle_splits_into_complete_parts_holding_every_p12_once() {
    let entries: Vec<_> = (0..10u8)
        .map(|i| entry(&format!("user{i:02}"), i, 3000))
        .collect();
    // Room for about three P12s per mail.
    let limit = SplitLimit {
        max_message_bytes: 14_000,
        reserve_bytes: 1000,
        encrypted_to: 0,
    };
    let parts = bundle_parts(&entries, &limit, t0()).unwrap();
    assert!(parts.len() >= 3, "{}", parts.len());
    let mut all = Vec::new();
    for p in &parts {
        assert_eq!(p.of, parts.len());
        assert_eq!(
            p.file_name,
            format!("client-bundle-{}of{}.zip", p.number, p.of)
        );
        assert!(limit.message_size(p.zip.len()) <= limit.max_message_bytes);
        let files = read_zip(&p.zip);
        let (txt, p12s) = files.split_last().unwrap();
        assert_eq!(txt.0, "client.txt");
        // client.txt lists exactly this part's P12s.
        let text = sjis_text(&txt.1);
        let listed: Vec<&str> = text
            .split_terminator("\r\n")
            .map(|l| l.split('\t').nth(7).unwrap())
            .collect();
        let held: Vec<&str> = p12s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(listed, held);
        assert_eq!(p.p12_files, held);
        for (name, data) in p12s {
            let e = entries
                .iter()
                .find(|e| format!("{}.p12", e.info.p12_name) == *name)
                .unwrap();
            assert_eq!(&e.p12, data);
            all.push(name.clone());
        }
        let z = zip::ZipArchive::new(std::io::Cursor::new(&p.zip)).unwrap();
        let comment = String::from_utf8_lossy(z.comment()).into_owned();
        assert!(
            comment.contains(&format!("part {} of {}", p.number, p.of)),
            "{comment}"
        );
    }
    let mut expected: Vec<String> = entries
        .iter()
        .map(|e| format!("{}.p12", e.info.p12_name))
        .collect();
    assert_eq!(all, expected, "in order");
    all.sort();
    all.dedup();
    expected.sort();
    assert_eq!(all.len(), expected.len(), "every P12 exactly once");

    let index = part_index(&parts);
    assert_eq!(index.iter().map(|i| i.count).sum::<usize>(), 10);
    assert_eq!(index[0].first, "user00.p12");
    assert_eq!(index.last().unwrap().last, "user09.p12");

    // The same bundle under the default maximum: one part.
    let one = bundle_parts(&entries, &SplitLimit::default(), t0()).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].file_name, "client-bundle.zip");
    // A P12 that fits no mail at all.
    let tiny = SplitLimit {
        max_message_bytes: 3000,
        ..limit
    };
    assert!(matches!(
        bundle_parts(&entries, &tiny, t0()),
        Err(BundleError::TooBig { .. })
    ));
}

#[test]
fn a_thousand_row_bundle_fits_the_default_mail_and_encryption_is_budgeted() {
    // 1000 P12s of 3.3 KB (the largest seen): ~3.3 MB of ZIP, ~4.6 MB in base64.
    let plain = SplitLimit::default();
    assert!(plain.message_size(3_400_000) < plain.max_message_bytes);
    let enc = SplitLimit {
        encrypted_to: 1,
        ..plain
    };
    // Encrypted: base64 twice.
    assert!(enc.max_zip() < plain.max_zip() * 3 / 4);
    assert!(enc.message_size(enc.max_zip()) <= enc.max_message_bytes);
    assert!(enc.message_size(enc.max_zip() + 100) > enc.max_message_bytes);
}
