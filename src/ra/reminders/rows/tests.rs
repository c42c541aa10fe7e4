//! A digest's client rows read back, through the same form check a returned
//! file goes through, as valid renewals of the certificates they name — with
//! no issuance workflow: the certificates are put in a real store directly.

use rusqlite::Connection;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::model::{
    CaKind, CertLookup, CertStatus, CertSummary, ClientIssueRow, ClientRenewRow, ClientRequest,
    FormKind, KeyHolder, LookupError, Profile, Request, Serial,
};
use crate::policy::forms::{self, Context};

const O: &str = "O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";
const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

/// A store with Example University; returns it and the institution.
fn db() -> (tempfile::TempDir, Connection, crate::model::Institution) {
    let dir = tempfile::tempdir().unwrap();
    let conn = store::open(&dir.path().join("t.sqlite")).unwrap();
    let id = store::add_institution(
        &conn,
        "Example University",
        "Tokyo",
        "Chiyoda-ku",
        &["example.ac.jp".to_string()],
        T0,
    )
    .unwrap();
    // S/MIME rows need the institution's organizationIdentifier.
    store::set_organization_identifier(&conn, "Example University", Some("NTRJP-9234567890123"))
        .unwrap();
    let inst = store::institution(&conn, id).unwrap().unwrap();
    (dir, conn, inst)
}

/// The certificates of the store, as `ra`'s look-up gives them to policy:
/// the DN as applied for.
struct StoreCerts<'a>(&'a Connection);

impl CertLookup for StoreCerts<'_> {
    fn by_serial(&self, serial: &Serial) -> Result<Option<CertSummary>, LookupError> {
        let Some(c) = store::certificate(self.0, serial).unwrap() else {
            return Ok(None);
        };
        Ok(Some(CertSummary {
            dn: crate::policy::dn::parse(c.dn_as_applied()).unwrap(),
            serial: c.serial,
            institution_id: c.institution_id,
            status: c.status,
            spki_sha256: c.spki_sha256,
            profile: c.profile,
            kind: c.kind,
        }))
    }
    fn key_holders(&self, _: &str) -> Result<Vec<KeyHolder>, LookupError> {
        Ok(Vec::new())
    }
}

/// A client certificate as issuance leaves it in the store: the record and
/// the row details. `subject` is the certificate's subject, `row` the
/// 5-4-1 row it was issued for (its field 1 is the DN as applied for).
fn put(
    conn: &Connection,
    inst: i64,
    serial: u8,
    subject: &str,
    row: &ClientIssueRow,
) -> store::CertRecord {
    let applied = row.dn.to_string();
    let c = store::CertRecord {
        serial: Serial::from_bytes(&[0x40, serial]),
        institution_id: inst,
        profile: Some(row.profile),
        kind: crate::model::CertKind::of_profile(row.profile),
        subject_dn: subject.to_string(),
        spki_sha256: format!("{serial:064x}"),
        not_before: T0,
        not_after: T0 + time::Duration::days(395),
        status: CertStatus::Valid,
        pem: String::new(),
        admin_mail: row.admin_mail.clone(),
        renewed_from: None,
        issued_at: T0,
        mail_id: None,
        ca: Some(CaKind::Rsa),
        import_ca: None,
        imported_at: None,
        applied_dn: (applied != subject).then_some(applied),
        user_mail: row.user_mail.clone(),
    };
    store::insert_certificate(conn, &c).unwrap();
    store::set_client_details(
        conn,
        &c.serial,
        &store::ClientDetails {
            admin_name: row.admin_name.clone(),
            admin_dept: row.admin_dept.clone(),
            user_name: row.user_name.clone(),
            user_dept: row.user_dept.clone(),
            p12_name: row.p12_name.clone(),
            method: row.method,
        },
    )
    .unwrap();
    store::certificate(conn, &c.serial).unwrap().unwrap()
}

/// An issue row as policy types a valid 5-4-1 row.
fn issue_row(
    cn: &str,
    ous: &[&str],
    profile: Profile,
    method: DownloadMethod,
    p12_name: &str,
    user_mail: Option<&str>,
) -> ClientIssueRow {
    let ou: String = ous.iter().map(|o| format!(",OU={o}")).collect();
    ClientIssueRow {
        line: 1,
        dn: crate::policy::dn::parse(&format!("CN={cn}{ou},{O}")).unwrap(),
        profile,
        method,
        admin_name: "国立　太郎".into(),
        admin_dept: "学術基盤推進部".into(),
        admin_mail: "taro@example.ac.jp".into(),
        user_name: "国立　花子".into(),
        p12_name: p12_name.into(),
        user_dept: "情報学部".into(),
        user_mail: user_mail.map(str::to_string),
        pin: None,
    }
}

fn client(row: Option<RenewalRow>) -> ClientRow {
    match row {
        Some(RenewalRow::Client(r)) => r,
        other => panic!("not a client row: {other:?}"),
    }
}

#[test]
fn a_client_renewal_row_reads_back_as_the_renewal_of_its_certificate() {
    let (_dir, conn, inst) = db();
    let smime_cn = "hanako@example.ac.jp";
    // (case, the certificate's subject (None: the DN as applied for), the row it was issued for)
    let cases = [
        (
            "profile 13, method 1, two OUs, a P12 file name",
            None,
            issue_row(
                "KOKURITSU HANAKO",
                &["12345678", "Informatics"],
                Profile::Client13Months,
                DownloadMethod::P12Each,
                "hanako-2026",
                Some("hanako@example.ac.jp"),
            ),
        ),
        (
            "profile 16 (S/MIME), method 2, two OUs, the P12 name defaulted to the CN",
            Some(format!("CN={smime_cn}")),
            issue_row(
                smime_cn,
                &["12345678", "Informatics"],
                Profile::Smime25Months,
                DownloadMethod::P12Bundle,
                smime_cn,
                Some(smime_cn),
            ),
        ),
        (
            "profile 16 (S/MIME), method 1, a P12 file name",
            Some(format!("CN={smime_cn}")),
            issue_row(
                smime_cn,
                &["Informatics"],
                Profile::Smime25Months,
                DownloadMethod::P12Each,
                "hanako smime",
                Some(smime_cn),
            ),
        ),
        (
            "profile 5, method 2, no user mail, stored in X.509 order",
            Some(
                "C=JP,ST=Tokyo,L=Chiyoda-ku,O=Example University,OU=Lab,OU=Staff,CN=YAMADA TARO"
                    .to_string(),
            ),
            issue_row(
                "YAMADA TARO",
                &["Staff", "Lab"],
                Profile::Client48Months,
                DownloadMethod::P12Bundle,
                "YAMADA TARO",
                None,
            ),
        ),
    ];
    for (i, (case, subject, issued)) in cases.into_iter().enumerate() {
        let subject = subject.unwrap_or_else(|| issued.dn.to_string());
        let mut issued = issued;
        // Stored in X.509 order: the DN as applied for is the subject,
        // the other way round.
        if subject.starts_with("C=") {
            issued.dn.0.reverse();
        }
        let cert = put(&conn, inst.id, i as u8, &subject, &issued);
        let row = client(renewal_row(&conn, &cert).unwrap());
        let files = client_files(vec![row]);
        assert_eq!(files.len(), 1, "{case}");
        assert_eq!(
            files[0].name,
            format!("client-renewal-method{}.tsv", issued.method.code()),
            "{case}"
        );
        let bytes = renewal_file::encode(&files[0].rows);

        let certs = StoreCerts(&conn);
        let ctx = Context {
            institution: Some(&inst),
            certs: Some(&certs),
            ..Context::default()
        };
        let checked = forms::check_file(&files[0].name, &bytes, &ctx).unwrap();
        assert_eq!(checked.errors, vec![], "{case}: {:?}", files[0].rows);
        assert_eq!(checked.kind, Some(FormKind::ClientRenew), "{case}");
        // The row as the officer's renewal: the same DN (row order, OUs
        // included), profile, method and fields; a new PIN (none given).
        let mut want = issued.clone();
        if subject.starts_with("C=") {
            want.dn.0.reverse();
        }
        assert_eq!(
            checked.rows,
            vec![Request::Client(ClientRequest::Renew(ClientRenewRow {
                request: want,
                old_serial: cert.serial.clone(),
            }))],
            "{case}"
        );
    }
}

#[test]
fn no_client_row_without_the_row_details() {
    let (_dir, conn, inst) = db();
    let row = issue_row(
        "KOKURITSU HANAKO",
        &["Informatics"],
        Profile::Client13Months,
        DownloadMethod::P12Each,
        "hanako",
        Some("hanako@example.ac.jp"),
    );
    let mut cert = put(&conn, inst.id, 1, &row.dn.to_string(), &row);
    cert.serial = Serial::from_bytes(&[0x41]);
    store::insert_certificate(&conn, &cert).unwrap();
    assert_eq!(renewal_row(&conn, &cert).unwrap(), None);
}

/// A client row whose DN, user mail and P12 name derive from `n`.
fn numbered(method: DownloadMethod, n: usize, dn: Option<&str>) -> ClientRow {
    let dn = dn.map_or(format!("CN=User {n},{O}"), str::to_string);
    ClientRow {
        method,
        text: format!("row {n}"),
        keys: [
            Some(dn),
            Some(format!("u{n}@example.ac.jp")),
            Some(format!("user {n}")),
        ],
    }
}

/// The files expected: (name, rows).
type Files = Vec<(&'static str, usize)>;

#[test]
fn client_rows_go_into_files_of_one_method_within_the_limits_and_without_repeats() {
    use DownloadMethod::{P12Bundle, P12Each};
    let rows_of = |files: &[ClientFile]| -> Vec<(String, usize)> {
        files
            .iter()
            .map(|f| (f.name.clone(), f.rows.len()))
            .collect()
    };
    // (rows, files: (name, rows))
    let same_dn = Some("CN=Same,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP");
    let cases: Vec<(Vec<ClientRow>, Files)> = vec![
        (
            vec![
                numbered(P12Bundle, 1, None),
                numbered(P12Each, 2, None),
                numbered(P12Bundle, 3, None),
            ],
            vec![
                ("client-renewal-method1.tsv", 1),
                ("client-renewal-method2.tsv", 2),
            ],
        ),
        (
            (0..100).map(|n| numbered(P12Each, n, None)).collect(),
            vec![
                ("client-renewal-method1.tsv", 99),
                ("client-renewal-method1-2.tsv", 1),
            ],
        ),
        (
            (0..1000).map(|n| numbered(P12Bundle, n, None)).collect(),
            vec![("client-renewal-method2.tsv", 1000)],
        ),
        (
            // Two certificates of one DN: the file would be refused for the
            // DN repeated, so the second goes into a file of its own.
            vec![
                numbered(P12Each, 1, same_dn),
                numbered(P12Each, 2, None),
                numbered(P12Each, 3, same_dn),
                numbered(P12Each, 4, None),
            ],
            vec![
                ("client-renewal-method1.tsv", 3),
                ("client-renewal-method1-2.tsv", 1),
            ],
        ),
    ];
    for (rows, want) in cases {
        let n = rows.len();
        let files = client_files(rows);
        let want: Vec<(String, usize)> = want.into_iter().map(|(a, b)| (a.into(), b)).collect();
        assert_eq!(rows_of(&files), want, "{n} rows");
        assert!(
            files
                .iter()
                .all(|f| f.name.contains(&format!("method{}", f.method.code())))
        );
    }
    // A user mail or a P12 name repeated splits just as a DN does.
    let mut a = numbered(P12Each, 1, None);
    let b = numbered(P12Each, 2, None);
    a.keys[1] = b.keys[1].clone();
    assert_eq!(client_files(vec![a, b]).len(), 2);
    let (mut a, b) = (numbered(P12Each, 1, None), numbered(P12Each, 2, None));
    a.keys[2] = b.keys[2].clone();
    assert_eq!(client_files(vec![a, b]).len(), 2);
    // No user mail (profile 5, method 2) is no clash.
    let (mut a, mut b) = (numbered(P12Bundle, 1, None), numbered(P12Bundle, 2, None));
    (a.keys[1], b.keys[1]) = (None, None);
    assert_eq!(client_files(vec![a, b]).len(), 1);
}

#[test]
fn more_server_rows_than_a_form_holds_go_into_several_files() {
    for (n, expected) in [
        (1, vec![("server-renewal.tsv", 1)]),
        (99, vec![("server-renewal.tsv", 99)]),
        (
            100,
            vec![("server-renewal.tsv", 99), ("server-renewal-2.tsv", 1)],
        ),
        (
            250,
            vec![
                ("server-renewal.tsv", 99),
                ("server-renewal-2.tsv", 99),
                ("server-renewal-3.tsv", 52),
            ],
        ),
    ] {
        let rows: Vec<String> = (0..n).map(|i| format!("row {i}")).collect();
        let files = super::server_files(rows.clone());
        let got: Vec<(&str, usize)> = files.iter().map(|(f, r)| (f.as_str(), r.len())).collect();
        assert_eq!(got, expected, "{n} rows");
        let all: Vec<String> = files.into_iter().flat_map(|(_, r)| r).collect();
        assert_eq!(all, rows, "{n} rows: every row once, in order");
    }
}
