//! The client forms' rules as tables: each case is a row as an officer writes
//! it and the errors `mailra` must answer, checked through the form-family
//! dispatcher as `ra` and `mailra check` do.

mod existing;
mod files;
mod issue;
mod lookup;

use super::*;
use crate::model::{CertLookup, CertStatus, CertSummary, LookupError, Profile, Serial};

pub(super) const O: &str = "O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";
pub(super) const DN: &str = "CN=KOKURITSU HANAKO,OU=12345678,OU=Cyber Science Infrastructure Development Department,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

/// The rows of one file.
pub(super) type Rows = Vec<Vec<String>>;
/// The form a file is, or the errors naming why not.
type Detected = Result<FormKind, Vec<&'static str>>;

/// A file as `ra` reads an attachment named `*.tsv`, with every look-up
/// answered (failing look-ups have their own table, `lookup`).
pub(super) fn check_file(bytes: &[u8], ctx: &Context) -> Checked {
    crate::policy::forms::check_file("test.tsv", bytes, ctx).expect("no look-up fails here")
}

pub(super) fn inst() -> Institution {
    Institution {
        id: 7,
        name: "Example University".into(),
        st: "Tokyo".into(),
        l: "Chiyoda-ku".into(),
        domains: vec!["example.ac.jp".into()],
        organization_identifier: Some("NTRJP-9234567890123".into()),
        p12_encryption: None,
    }
}

/// A valid 5-4-1 row: client profile 13, method 1.
pub(super) fn issue_fields() -> Vec<String> {
    [
        DN,
        "13",
        "1",
        "",
        "",
        "",
        "",
        "国立　太郎",
        "学術基盤推進部",
        "taro@example.ac.jp",
        "国立　花子",
        "",
        "情報学部",
        "hanako@example.ac.jp",
        "",
    ]
    .map(String::from)
    .to_vec()
}

/// A valid 5-4-1 row for S/MIME profile 15, method 1.
pub(super) fn smime_fields() -> Vec<String> {
    with(
        issue_fields(),
        &[(1, &format!("CN=hanako@example.ac.jp,{O}")), (2, "15")],
    )
}

/// A valid 5-4-3 row.
pub(super) fn revoke_fields(serial: &str) -> Vec<String> {
    let mut f = vec![String::new(); 15];
    f[0] = DN.into();
    f[3] = serial.into();
    f[4] = "1".into();
    f
}

/// `base` with the 1-based fields `n` set to `v`.
pub(super) fn with(mut base: Vec<String>, set: &[(usize, &str)]) -> Vec<String> {
    for (n, v) in set {
        base[n - 1] = v.to_string();
    }
    base
}

pub(super) fn file(rows: &[Vec<String>]) -> Vec<u8> {
    let text: String = rows.iter().map(|r| r.join("\t") + "\r\n").collect();
    let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!bad);
    b.into_owned()
}

pub(super) fn lines(c: &Checked) -> Vec<String> {
    c.errors.iter().map(ToString::to_string).collect()
}

pub(super) fn with_inst(i: &Institution) -> Context<'_> {
    Context {
        institution: Some(i),
        ..Context::default()
    }
}

/// Issued certificates, in memory.
pub(super) struct Certs(pub(super) Vec<CertSummary>);
impl CertLookup for Certs {
    fn by_serial(&self, s: &Serial) -> Result<Option<CertSummary>, LookupError> {
        Ok(self.0.iter().find(|c| &c.serial == s).cloned())
    }
    fn key_holders(&self, _: &str) -> Result<Vec<crate::model::KeyHolder>, LookupError> {
        Ok(Vec::new())
    }
}

pub(super) fn summary(
    serial: u8,
    status: CertStatus,
    inst_id: i64,
    profile: Profile,
) -> CertSummary {
    CertSummary {
        serial: Serial::from_bytes(&[serial]),
        dn: dn::parse(DN).unwrap(),
        institution_id: inst_id,
        status,
        spki_sha256: String::new(),
        profile: Some(profile),
        kind: crate::model::CertKind::of_profile(profile),
    }
}

/// The row `issue_fields()` gives, as policy types it.
pub(super) fn issue_row(line: usize) -> ClientIssueRow {
    ClientIssueRow {
        line,
        dn: dn::parse(DN).unwrap(),
        profile: Profile::Client13Months,
        method: DownloadMethod::P12Each,
        admin_name: "国立　太郎".into(),
        admin_dept: "学術基盤推進部".into(),
        admin_mail: "taro@example.ac.jp".into(),
        user_name: "国立　花子".into(),
        p12_name: "KOKURITSU HANAKO".into(),
        user_dept: "情報学部".into(),
        user_mail: Some("hanako@example.ac.jp".into()),
        pin: None,
    }
}

#[test]
fn detection() {
    use crate::intake::application::Record;
    let rec = |line: usize, fields: Vec<String>| Record { line, fields };
    let issue = issue_fields();
    let renew = with(issue_fields(), &[(4, "0x01")]);
    let revoke = revoke_fields("1");
    let method_only = with(issue_fields(), &[(2, "")]);
    let cases: Vec<(Vec<Record>, Detected)> = vec![
        (
            vec![rec(1, issue.clone()), rec(2, issue.clone())],
            Ok(FormKind::ClientIssue),
        ),
        (vec![rec(1, renew.clone())], Ok(FormKind::ClientRenew)),
        (vec![rec(1, revoke.clone())], Ok(FormKind::ClientRevoke)),
        // A download method alone makes a request row; the profile is then required.
        (vec![rec(1, method_only)], Ok(FormKind::ClientIssue)),
        (
            vec![
                rec(1, revoke.clone()),
                rec(2, issue.clone()),
                rec(3, revoke),
            ],
            Err(vec![
                "line 2: has a profile and no serial so it looks like a 5-4-1 row (client certificate issuance), but the file is 5-4-3 (client certificate revocation) as decided by its first row, line 1; put each form in its own file",
            ]),
        ),
        (
            vec![rec(1, issue), rec(2, renew)],
            Err(vec![
                "line 2: has a profile and a serial so it looks like a 5-4-2 row (client certificate renewal), but the file is 5-4-1 (client certificate issuance) as decided by its first row, line 1; put each form in its own file",
            ]),
        ),
        (
            vec![rec(4, with(issue_fields(), &[(2, ""), (3, "")]))],
            Err(vec![
                "line 4: cannot tell which form this row is: it has neither a profile (field 2) nor a serial (field 4)",
            ]),
        ),
    ];
    for (n, (records, expected)) in cases.into_iter().enumerate() {
        let got = detect_kind(&records).map_err(|e| e.iter().map(ToString::to_string).collect());
        let expected = expected.map_err(|e| e.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(got, expected, "case {n}");
    }
}

#[test]
fn precheck_issue_rechecks_what_the_ca_signs() {
    let i = inst();
    assert_eq!(precheck_issue(&issue_row(1), &i), Ok(()));
    let smime = ClientIssueRow {
        dn: dn::parse(&format!("CN=hanako@example.ac.jp,{O}")).unwrap(),
        profile: Profile::Smime25Months,
        ..issue_row(1)
    };
    assert_eq!(precheck_issue(&smime, &i), Ok(()));
    let browser = format!(
        "line 1: field 3 (download method): {}",
        rows::BROWSER_REFUSED
    );
    let cases: Vec<(ClientIssueRow, Vec<&str>)> = vec![
        (
            ClientIssueRow {
                dn: dn::parse("CN=KOKURITSU HANAKO,O=Other University,L=Chiyoda-ku,ST=Tokyo,C=JP")
                    .unwrap(),
                ..issue_row(3)
            },
            vec![
                "line 3: field 1 (subject DN): O= must be the registered institution name `Example University`, not `Other University`",
            ],
        ),
        (
            ClientIssueRow {
                dn: dn::parse("CN=KOKURITSU HANAKO,O=Example University,C=JP").unwrap(),
                ..issue_row(1)
            },
            vec![
                "line 1: field 1 (subject DN): L= or ST= is missing: at least one of them is required",
            ],
        ),
        (
            ClientIssueRow {
                profile: Profile::ServerRsa2048,
                ..issue_row(1)
            },
            vec![
                "line 1: field 2 (profile ID): profile 3 is not a client certificate profile (5, 7, 13, 14, 15 or 16)",
            ],
        ),
        (
            ClientIssueRow {
                method: DownloadMethod::Browser,
                ..issue_row(1)
            },
            vec![&browser],
        ),
        (
            ClientIssueRow {
                user_mail: Some("Hanako@example.ac.jp".into()),
                ..smime.clone()
            },
            vec![
                "line 1: field 1 (subject DN): CN= `hanako@example.ac.jp` and the user mail (field 14) `Hanako@example.ac.jp` differ only in letter case; for S/MIME profile 16 they must be identical (the part before @ is case-sensitive)",
            ],
        ),
        (
            ClientIssueRow {
                user_mail: None,
                method: DownloadMethod::P12Bundle,
                pin: Some("abcdef12".into()),
                ..smime.clone()
            },
            vec![
                "line 1: field 14 (user mail): is required for an S/MIME profile",
                "line 1: field 15 (access PIN): must be empty for the S/MIME profiles 7, 15 and 16: their access PIN is always generated",
            ],
        ),
        (
            ClientIssueRow {
                pin: Some("abc".into()),
                ..issue_row(1)
            },
            vec![
                "line 1: field 15 (access PIN): is only allowed with download method 2 (P12一括)",
                "line 1: field 15 (access PIN): is 3 characters, 6 to 36 allowed",
            ],
        ),
    ];
    for (n, (row, expected)) in cases.into_iter().enumerate() {
        let got: Vec<String> = precheck_issue(&row, &i)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, expected, "case {n}");
    }
    // The institution without an organizationIdentifier: S/MIME refused, a
    // client profile still signed.
    let no_org_id = Institution {
        organization_identifier: None,
        ..inst()
    };
    assert_eq!(precheck_issue(&issue_row(1), &no_org_id), Ok(()));
    let cases: Vec<(ClientIssueRow, Vec<&str>)> = vec![
        (
            smime.clone(),
            vec![
                "line 1: field 2 (profile ID): profile 16 is an S/MIME certificate, which must carry the institution's organizationIdentifier (S/MIME Baseline Requirements: NTRJP- and its 13-digit corporate number, 法人番号), and none is registered for `Example University`; use a client profile (5, 13 or 14) or ask the secretariat to register the institution's corporate number",
            ],
        ),
        (
            ClientIssueRow {
                profile: Profile::Smime823Days,
                user_mail: None,
                ..smime.clone()
            },
            vec![
                "line 1: field 2 (profile ID): profile 7 is an S/MIME certificate, which must carry the institution's organizationIdentifier (S/MIME Baseline Requirements: NTRJP- and its 13-digit corporate number, 法人番号), and none is registered for `Example University`; use a client profile (5, 13 or 14) or ask the secretariat to register the institution's corporate number",
                "line 1: field 14 (user mail): is required for an S/MIME profile",
            ],
        ),
    ];
    for (n, (row, expected)) in cases.into_iter().enumerate() {
        let got: Vec<String> = precheck_issue(&row, &no_org_id)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, expected, "case {n}");
    }
}

#[test]
fn pins_and_p12_names() {
    let long = "a".repeat(37);
    let pins: Vec<(&str, Result<(), &str>)> = vec![
        ("abc123", Ok(())),
        ("!#$%&*+,-./:;=?@^_`|~(){}[]<>Aa0", Ok(())),
        (&long[..36], Ok(())),
        ("abc12", Err("is 5 characters, 6 to 36 allowed")),
        (&long, Err("is 37 characters, 6 to 36 allowed")),
        (
            "abc def\\'\"",
            Err(
                "may contain only half-width letters, digits and !#$%&*+,-./:;=?@^_`|~(){}[]<> (never space, \\, ' or \"), not ' ' '\\' ''' '\"'",
            ),
        ),
        (
            "ｱｲｳｴｵｶ",
            Err(
                "may contain only half-width letters, digits and !#$%&*+,-./:;=?@^_`|~(){}[]<> (never space, \\, ' or \"), not 'ｱ' 'ｲ' 'ｳ' 'ｴ' 'ｵ' 'ｶ'",
            ),
        ),
    ];
    for (pin, expected) in pins {
        assert_eq!(check_pin(pin), expected.map_err(String::from), "{pin}");
    }
    let names: Vec<(&str, Result<(), &str>)> = vec![
        ("KOKURITSU HANAKO (2024) o'neil-x.y=z", Ok(())),
        (
            "a/b@c",
            Err("may contain only half-width letters, digits, space and '(),-.=, not '/' '@'"),
        ),
        (&long[..20], Ok(())),
    ];
    for (name, expected) in names {
        assert_eq!(
            check_p12_name(name),
            expected.map_err(String::from),
            "{name}"
        );
    }
    assert_eq!(
        check_p12_name(&"n".repeat(65)),
        Err("is 65 characters, at most 64 allowed".into())
    );
    assert_eq!(default_p12_name("Lab/Unit: A"), "Lab_Unit_ A");
}
