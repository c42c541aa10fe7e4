//! Golden sample files of the server forms (Shift_JIS, CRLF, real CSRs) and of
//! the client forms (Shift_JIS, CRLF).
//!
//! `samples/*.tsv` must check clean; each `samples/broken/NAME.tsv` must report exactly
//! the lines of `NAME.expected` when checked offline. The files are committed; the
//! ignored test `generate_samples` rewrites the server ones (new keys each time):
//! `cargo test --test samples -- --ignored generate_samples`, and
//! `generate_client_samples` the client ones.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use mailra::ca::{self, KeyKind};
use mailra::model::{
    ClientIssueRow, ClientRequest, DownloadMethod, FormKind, Institution, Profile, Request,
    ServerRequest,
};
use mailra::policy::dn;
use mailra::policy::forms::{Checked, Context, check_file};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509ReqBuilder;

const O: &str = "O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn example_university() -> Institution {
    Institution {
        id: 1,
        name: "Example University".into(),
        st: "Tokyo".into(),
        l: "Chiyoda-ku".into(),
        domains: vec!["example.ac.jp".into()],
        organization_identifier: Some("NTRJP-1234567890123".into()),
        p12_encryption: None,
    }
}

fn error_lines(c: &Checked) -> Vec<String> {
    c.errors.iter().map(ToString::to_string).collect()
}

#[test]
fn good_samples_check_clean() {
    let inst = example_university();
    let cases = [
        ("server-issue.tsv", FormKind::ServerIssue, 3),
        ("server-renew.tsv", FormKind::ServerRenew, 1),
        ("server-revoke.tsv", FormKind::ServerRevoke, 2),
    ];
    for (name, kind, rows) in cases {
        let bytes = fs::read(samples().join(name)).unwrap();
        for ctx in [
            Context::default(),
            Context {
                institution: Some(&inst),
                certs: None,
                ecdsa_ca: None,
                reserved_keys: &[],
            },
        ] {
            let c = check_file(name, &bytes, &ctx).unwrap();
            assert_eq!(error_lines(&c), Vec::<String>::new(), "{name}");
            assert!(c.warnings.is_empty(), "{name}: {:?}", c.warnings);
            assert_eq!(c.kind, Some(kind), "{name}");
            assert_eq!(c.rows.len(), rows, "{name}");
        }
    }
}

#[test]
fn issue_sample_rows_are_typed() {
    let bytes = fs::read(samples().join("server-issue.tsv")).unwrap();
    let c = check_file("server-issue.tsv", &bytes, &Context::default()).unwrap();
    let Request::Server(ServerRequest::Issue(third)) = &c.rows[2] else {
        panic!("not an issue row: {:?}", c.rows[2]);
    };
    assert_eq!(third.admin_name, "国立　太郎");
    assert_eq!(
        third.dns_names,
        [
            "mail.example.ac.jp",
            "smtp.example.ac.jp",
            "imap.example.ac.jp"
        ]
    );
}

#[test]
fn client_samples_check_clean() {
    let inst = example_university();
    let cases = [
        ("client-issue.tsv", FormKind::ClientIssue, 4),
        ("client-renew.tsv", FormKind::ClientRenew, 1),
        ("client-revoke.tsv", FormKind::ClientRevoke, 2),
    ];
    for (name, kind, rows) in cases {
        let bytes = fs::read(samples().join(name)).unwrap();
        assert!(bytes.ends_with(b"\r\n"), "{name}: CRLF");
        assert!(std::str::from_utf8(&bytes).is_err(), "{name}: Shift_JIS");
        for ctx in [
            Context::default(),
            Context {
                institution: Some(&inst),
                certs: None,
                ecdsa_ca: None,
                reserved_keys: &[],
            },
        ] {
            let c = check_file(name, &bytes, &ctx).unwrap();
            assert_eq!(error_lines(&c), Vec::<String>::new(), "{name}");
            assert!(c.warnings.is_empty(), "{name}: {:?}", c.warnings);
            assert_eq!(c.kind, Some(kind), "{name}");
            assert_eq!(c.rows.len(), rows, "{name}");
        }
    }
}

#[test]
fn client_issue_sample_rows_are_typed() {
    let inst = example_university();
    let ctx = Context {
        institution: Some(&inst),
        certs: None,
        ecdsa_ca: None,
        reserved_keys: &[],
    };
    let bytes = fs::read(samples().join("client-issue.tsv")).unwrap();
    let c = check_file("client-issue.tsv", &bytes, &ctx).unwrap();
    let issued: Vec<&ClientIssueRow> = c
        .rows
        .iter()
        .map(|r| match r {
            Request::Client(ClientRequest::Issue(r)) => r,
            other => panic!("not a client issue row: {other:?}"),
        })
        .collect();
    assert_eq!(
        *issued[0],
        ClientIssueRow {
            line: 1,
            dn: dn::parse(&format!("CN=KOKURITSU HANAKO,OU=12345678,OU=Cyber Science Infrastructure Development Department,{O}")).unwrap(),
            profile: Profile::Client13Months,
            method: DownloadMethod::P12Each,
            admin_name: "国立　太郎".into(),
            admin_dept: "学術基盤推進部基盤企画課".into(),
            admin_mail: "taro.kokuritsu@example.ac.jp".into(),
            user_name: "国立　花子".into(),
            p12_name: "KOKURITSU HANAKO".into(),
            user_dept: "情報学部".into(),
            user_mail: Some("hanako.kokuritsu@example.ac.jp".into()),
            pin: None,
        }
    );
    let summary: Vec<(Profile, &str, Option<&str>)> = issued
        .iter()
        .map(|r| (r.profile, r.p12_name.as_str(), r.user_mail.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Profile::Client13Months,
                "KOKURITSU HANAKO",
                Some("hanako.kokuritsu@example.ac.jp")
            ),
            (
                Profile::Smime25Months,
                "jiro.gakujutsu@example.ac.jp",
                Some("jiro.gakujutsu@example.ac.jp")
            ),
            (
                Profile::Smime823Days,
                "GAKUJUTSU SABURO (S-MIME)",
                Some("saburo.gakujutsu@example.ac.jp")
            ),
            (
                Profile::Client48Months,
                "SHINSEI ICHIRO",
                Some("ichiro.shinsei@example.ac.jp")
            ),
        ]
    );
}

#[test]
fn broken_samples_report_exactly_the_expected_errors() {
    let dir = samples().join("broken");
    let mut checked = 0;
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for tsv in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
    {
        let expected = fs::read_to_string(tsv.with_extension("expected")).unwrap();
        let expected: Vec<&str> = expected.lines().collect();
        let name = tsv.to_str().unwrap();
        let c = check_file(name, &fs::read(tsv).unwrap(), &Context::default()).unwrap();
        assert_eq!(error_lines(&c), expected, "{}", tsv.display());
        assert!(!expected.is_empty(), "{}", tsv.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} broken samples");
}

// ---- generator ----

fn csr(cn: &str, key: &PKey<Private>, md: MessageDigest) -> String {
    let dn = dn::parse(&format!("CN={cn},{O}")).unwrap();
    let name = dn.to_x509_name().unwrap();
    let mut b = X509ReqBuilder::new().unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.sign(key, md).unwrap();
    base64::engine::general_purpose::STANDARD.encode(b.build().to_der().unwrap())
}

fn rsa() -> PKey<Private> {
    ca::new_key(KeyKind::Rsa2048).unwrap()
}

fn p384() -> PKey<Private> {
    ca::new_key(KeyKind::P384).unwrap()
}

/// A 5-3-1/5-3-2 row; `serial` empty for issuance.
fn request(cn: &str, profile: &str, serial: &str, csr: &str, dns: &str) -> Vec<String> {
    [
        &format!("CN={cn},{O}"),
        profile,
        "",
        serial,
        "",
        "",
        csr,
        "国立　太郎",
        "学術基盤推進部基盤企画課",
        "taro.kokuritsu@example.ac.jp",
        cn,
        "Apache httpd 2.4",
        dns,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn revoke(cn: &str, serial: &str, reason: &str, comment: &str, mail: &str) -> Vec<String> {
    let mut f = vec![String::new(); 13];
    f[0] = format!("CN={cn},{O}");
    f[3] = serial.into();
    f[4] = reason.into();
    f[5] = comment.into();
    f[9] = mail.into();
    f
}

fn sjis(rows: &[Vec<String>]) -> Vec<u8> {
    let text: String = rows.iter().map(|r| r.join("\t") + "\r\n").collect();
    let (b, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    b.into_owned()
}

#[test]
#[ignore = "rewrites the committed sample files"]
fn generate_samples() {
    let dir = samples();
    fs::create_dir_all(dir.join("broken")).unwrap();
    let sha256 = MessageDigest::sha256;
    let (k1, k2, k3) = (rsa(), p384(), rsa());
    let issue = vec![
        request(
            "www.example.ac.jp",
            "3",
            "",
            &csr("www.example.ac.jp", &k1, sha256()),
            "",
        ),
        request(
            "ec.example.ac.jp",
            "11",
            "",
            &csr("ec.example.ac.jp", &k2, MessageDigest::sha384()),
            "",
        ),
        request(
            "mail.example.ac.jp",
            "3",
            "",
            &csr("mail.example.ac.jp", &k3, sha256()),
            "dNSName=smtp.example.ac.jp,dNSName=imap.example.ac.jp",
        ),
    ];
    fs::write(dir.join("server-issue.tsv"), sjis(&issue)).unwrap();
    let renew = vec![request(
        "www.example.ac.jp",
        "3",
        "0x112210E261FEC92B",
        &csr("www.example.ac.jp", &rsa(), sha256()),
        "",
    )];
    fs::write(dir.join("server-renew.tsv"), sjis(&renew)).unwrap();
    let revoke_rows = vec![
        revoke(
            "www.example.ac.jp",
            "1234567812345678123",
            "4",
            "証明書更新のため",
            "",
        ),
        revoke(
            "old.example.ac.jp",
            "0x0A1B2C3D4E5F",
            "5",
            "サーバ廃止",
            "hanako@example.ac.jp",
        ),
    ];
    fs::write(dir.join("server-revoke.tsv"), sjis(&revoke_rows)).unwrap();

    let good = csr("www.example.ac.jp", &k1, sha256());
    let www = |f: &dyn Fn(&mut Vec<String>)| {
        let mut r = request("www.example.ac.jp", "3", "", &good, "");
        f(&mut r);
        r
    };
    let mut broken: Vec<(&str, Vec<u8>, Vec<String>)> = vec![
        (
            "profile-key-mismatch",
            sjis(&[www(&|_| {}), www(&|r| r[1] = "11".into())]),
            vec![
                "line 2: field 7 (CSR): profile 11 needs a P-384 (secp384r1) key, the CSR has RSA 2048".into(),
                "line 2: field 7 (CSR): profile 11 CSRs must be signed with ecdsa-with-SHA256 or ecdsa-with-SHA384, this one is signed with sha256WithRSAEncryption".into(),
            ],
        ),
        (
            "csr-with-begin-end",
            sjis(&[www(&|r| r[6] = format!("-----BEGIN CERTIFICATE REQUEST-----{}-----END CERTIFICATE REQUEST-----", r[6]))]),
            vec!["line 1: field 7 (CSR): contains the -----BEGIN/END CERTIFICATE REQUEST----- lines; write only the base64 body between them, on one line".into()],
        ),
        (
            "dn-reverse-order",
            sjis(&[www(&|r| r[0] = "C=JP,ST=Tokyo,L=Chiyoda-ku,O=Example University,CN=www.example.ac.jp".into())]),
            vec![
                "line 1: field 1 (subject DN): must be in the order CN,O,L,ST,C (OU allowed between CN and O), not C,ST,L,O,CN".into(),
            ],
        ),
        (
            "fqdn-not-cn",
            sjis(&[www(&|r| r[10] = "web.example.ac.jp".into())]),
            vec!["line 1: field 11 (admin FQDN): must equal the CN of field 1 (www.example.ac.jp)".into()],
        ),
        (
            "email-in-dn",
            sjis(&[www(&|r| r[0] = format!("CN=www.example.ac.jp,emailAddress=taro@example.ac.jp,{O}"))]),
            vec!["line 1: field 1 (subject DN): attribute EMAILADDRESS is not allowed in a server certificate DN (only CN, OU, O, L, ST and C)".into()],
        ),
        (
            "mixed-forms",
            sjis(&[www(&|_| {}), revoke("old.example.ac.jp", "12345", "5", "", "")]),
            vec!["line 2: has a serial and no CSR so it looks like a 5-3-3 row (server certificate revocation), but the file is 5-3-1 (server certificate issuance) as decided by its first row, line 1; put each form in its own file".into()],
        ),
        (
            "revoke-bad-reason-duplicate",
            sjis(&[
                revoke("www.example.ac.jp", "0x112210E261FEC92B", "2", "", ""),
                revoke("www.example.ac.jp", "1234567812345678123", "1", "鍵の漏洩", "hanako"),
            ]),
            vec![
                "line 1: field 5 (reason): must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `2`".into(),
                "line 2: field 4 (serial): serial 0x112210E261FEC92B already appears on line 1; name each certificate once per file".into(),
                "line 2: field 10 (admin mail): `hanako` is not a mail address (no @)".into(),
            ],
        ),
        (
            "dnsname-trailing-comma",
            sjis(&[www(&|r| r[12] = "dNSName=a.example.ac.jp,".into())]),
            vec!["line 1: field 13 (dNSName): must not end with ','".into()],
        ),
        (
            "serial-hex-without-prefix",
            sjis(&[revoke("www.example.ac.jp", "112210E261FEC92B", "4", "", "")]),
            vec!["line 1: field 4 (serial): must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `112210E261FEC92B` (hexadecimal needs the 0x prefix)".into()],
        ),
        (
            "extra-nonempty-field",
            sjis(&[www(&|r| r.push("extra".into()))]),
            vec!["line 1: the row has 14 fields, 13 expected; fields 14 to 14 are not empty".into()],
        ),
        (
            "nec-extension-char",
            sjis(&[www(&|r| r[8] = "第①研究棟".into())]),
            vec!["line 1: field 9 (admin dept): character ① (0x8740) is a Windows-31J extension outside JIS X 0208; replace it with a JIS X 0208 character".into()],
        ),
    ];
    let utf8: String = [www(&|_| {})]
        .iter()
        .map(|r| r.join("\t") + "\r\n")
        .collect();
    broken.push((
        "saved-as-utf8",
        utf8.into_bytes(),
        vec!["file: the file looks like UTF-8 (its Japanese text is valid UTF-8, not Shift_JIS); save it as Shift_JIS".into()],
    ));
    let many: Vec<Vec<String>> = (0..100).map(|_| www(&|_| {})).collect();
    broken.push((
        "too-many-rows",
        sjis(&many),
        vec!["file: the file has 100 records; at most 99 are allowed per file".into()],
    ));
    for (name, bytes, expected) in broken {
        fs::write(dir.join("broken").join(format!("{name}.tsv")), bytes).unwrap();
        let text: String = expected.iter().map(|l| format!("{l}\n")).collect();
        fs::write(dir.join("broken").join(format!("{name}.expected")), text).unwrap();
    }
}

/// A 5-4-1/5-4-2 row of the client samples (15 fields).
fn client_row(set: &[(usize, &str)]) -> Vec<String> {
    let mut f = vec![String::new(); 15];
    for (n, v) in set {
        f[n - 1] = v.to_string();
    }
    f
}

#[test]
#[ignore = "rewrites the committed client sample files"]
fn generate_client_samples() {
    let dir = samples();
    let admin: [(usize, &str); 3] = [
        (8, "国立　太郎"),
        (9, "学術基盤推進部基盤企画課"),
        (10, "taro.kokuritsu@example.ac.jp"),
    ];
    let row = |set: &[(usize, &str)]| {
        let all: Vec<(usize, &str)> = admin.iter().chain(set).copied().collect();
        client_row(&all)
    };
    let issue = vec![
        row(&[
            (
                1,
                &format!(
                    "CN=KOKURITSU HANAKO,OU=12345678,OU=Cyber Science Infrastructure Development Department,{O}"
                ),
            ),
            (2, "13"),
            (3, "1"),
            (11, "国立　花子"),
            (13, "情報学部"),
            (14, "hanako.kokuritsu@example.ac.jp"),
        ]),
        row(&[
            (1, &format!("CN=jiro.gakujutsu@example.ac.jp,{O}")),
            (2, "16"),
            (3, "1"),
            (11, "学術　次郎"),
            (13, "総務部"),
            (14, "jiro.gakujutsu@example.ac.jp"),
        ]),
        row(&[
            (
                1,
                &format!("CN=saburo.gakujutsu@example.ac.jp,OU=Library,{O}"),
            ),
            (2, "7"),
            (3, "1"),
            (11, "学術　三郎"),
            (12, "GAKUJUTSU SABURO (S-MIME)"),
            (13, "附属図書館"),
            (14, "saburo.gakujutsu@example.ac.jp"),
        ]),
        row(&[
            (
                1,
                "CN=SHINSEI ICHIRO,OU=Faculty of Engineering,O=Example University,ST=Tokyo,C=JP",
            ),
            (2, "5"),
            (3, "1"),
            (11, "申請　一郎"),
            (13, "工学部"),
            (14, "ichiro.shinsei@example.ac.jp"),
        ]),
    ];
    fs::write(dir.join("client-issue.tsv"), sjis(&issue)).unwrap();
    let renew = vec![row(&[
        (
            1,
            &format!(
                "CN=KOKURITSU HANAKO,OU=12345678,OU=Cyber Science Infrastructure Development Department,{O}"
            ),
        ),
        (2, "14"),
        (3, "2"),
        (4, "0x112210E261FEC92B"),
        (11, "国立　花子"),
        (13, "情報学部"),
        (14, "hanako.kokuritsu@example.ac.jp"),
        (15, "Kx7#pQ2!mZ"),
    ])];
    fs::write(dir.join("client-renew.tsv"), sjis(&renew)).unwrap();
    let revoke = vec![
        client_row(&[
            (1, &format!("CN=jiro.gakujutsu@example.ac.jp,{O}")),
            (4, "1234567812345678123"),
            (5, "1"),
            (6, "端末紛失のため"),
        ]),
        client_row(&[
            (
                1,
                "CN=SHINSEI ICHIRO,OU=Faculty of Engineering,O=Example University,ST=Tokyo,C=JP",
            ),
            (4, "0x0A1B2C3D4E5F"),
            (5, "3"),
            (6, "所属変更"),
            (10, "hanako.kokuritsu@example.ac.jp"),
            (14, "ichiro.shinsei@eng.example.ac.jp"),
        ]),
    ];
    fs::write(dir.join("client-revoke.tsv"), sjis(&revoke)).unwrap();
}
