//! `mailra cert search`, `cert export` and `report` on one real instance:
//! certificates of two institutions made by running signed mails through
//! the pipeline (issues, a renewal, revocations, a client certificate with
//! a user address, one certificate issued 10 days later), then searched,
//! exported and reported by the real binary and read back (encoding_rs,
//! calamine). Expected rows and counts come from the store's own functions.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use calamine::{Data, Reader, Xlsx};
use mailra::kit::forms::{
    ClientLine, client_dn, client_issue_line, csr_field, issue_line, renew_line, revoke_line,
    server_dn,
};
use mailra::model::{CaKind, CertStatus, Serial};
use mailra::ops::certsearch::{self, CertQuery, StatusFilter};
use mailra::ra::{self, Verdict};
use mailra::store::{self, CertRecord};
use time::{Duration, OffsetDateTime};

use super::support::*;

/// The instance, made once for every test here (its making is the slow part).
struct World {
    dir: tempfile::TempDir,
    /// www.example.ac.jp, profile 3: renewed, then revoked (superseded).
    ex_old: String,
    /// Its renewal.
    ex_new: String,
    /// A client certificate (profile 13) of hanako@example.ac.jp.
    ex_client: String,
    /// www.sample-tech.ac.jp, profile 11: revoked (cessationOfOperation).
    sample_revoked: String,
    /// mail.sample-tech.ac.jp, issued 10 days after the others.
    sample_later: String,
    /// When the first certificates were issued.
    t0: OffsetDateTime,
    later: OffsetDateTime,
}

fn sample_dn(cn: &str) -> mailra::model::Dn {
    server_dn(cn, SAMPLE, "Suita-shi", "Osaka")
}

fn accepted(o: &ra::Outcome) {
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let mut f = Fixture::new();
        let t0 = now();
        let dn = ex_dn("www.example.ac.jp");
        let o = f.process(&f.mail(&f.o1, O1, "発行", &issue_tsv("www.example.ac.jp")));
        accepted(&o);
        let ex_old = o.issued[0].clone();
        let renew = renew_line(
            &dn,
            3,
            &ex_old,
            &csr_field(&rsa(), &dn).unwrap(),
            "国立　太郎",
            "admin@example.ac.jp",
        );
        let o = f.process(&f.mail(&f.o1, O1, "更新", &renew));
        accepted(&o);
        let ex_new = o.issued[0].clone();
        let o = f.process(&f.mail(&f.o1, O1, "失効", &revoke_line(&dn, &ex_old, 4, "更新済み")));
        accepted(&o);
        let client = client_issue_line(
            &client_dn(
                "Hanako Suzuki",
                &["Faculty of Science"],
                EX,
                "Chiyoda-ku",
                "Tokyo",
            ),
            &ClientLine {
                profile: 13,
                method: 1,
                admin_mail: "admin@example.ac.jp",
                user_name: "鈴木 花子",
                p12_name: "hanako",
                user_mail: "Hanako@example.ac.jp",
                ..Default::default()
            },
        );
        let o = f.process(&f.mail(&f.o1, O1, "クライアント証明書発行", &client));
        accepted(&o);
        let ex_client = o.issued[0].clone();

        let www = sample_dn("www.sample-tech.ac.jp");
        let line = |dn: &mailra::model::Dn| {
            issue_line(
                dn,
                11,
                &csr_field(&p384(), dn).unwrap(),
                "大阪　花子",
                "admin@sample-tech.ac.jp",
                "",
            )
        };
        let o = f.process(&f.mail(&f.o2, O2, "発行", &line(&www)));
        accepted(&o);
        let sample_revoked = o.issued[0].clone();
        let o = f.process(&f.mail(
            &f.o2,
            O2,
            "失効",
            &revoke_line(&www, &sample_revoked, 5, ""),
        ));
        accepted(&o);
        let later = t0 + Duration::days(10);
        // Processed 10 days later (the robot refuses signing times older
        // than 14 days, and openssl signs with the wall clock).
        let raw = f.mail(
            &f.o2,
            O2,
            "発行",
            &line(&sample_dn("mail.sample-tech.ac.jp")),
        );
        let o = ra::process(&mut f.env, &raw, "test", later).unwrap();
        accepted(&o);
        let sample_later = o.issued[0].clone();
        let Fixture { dir, .. } = f;
        World {
            dir,
            ex_old,
            ex_new,
            ex_client,
            sample_revoked,
            sample_later,
            t0,
            later,
        }
    })
}

impl World {
    fn conn(&self) -> rusqlite::Connection {
        let cfg = mailra::config::Config::load(self.dir.path()).unwrap();
        store::open(&cfg.database).unwrap()
    }
    fn dir(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }
    fn certs(&self) -> Vec<CertRecord> {
        store::certificates(&self.conn()).unwrap()
    }
    fn revocations(&self) -> Vec<store::Revocation> {
        let c = self.conn();
        let mut v = store::revocations(&c, CaKind::Rsa).unwrap();
        v.extend(store::revocations(&c, CaKind::Ec).unwrap());
        v
    }
    fn institution_of(&self, serial: &Serial) -> String {
        let c = self.conn();
        let rec = store::certificate(&c, serial).unwrap().unwrap();
        store::institution(&c, rec.institution_id)
            .unwrap()
            .unwrap()
            .name
    }
}

fn mailra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .env_remove("MAILRA_DIR")
        .output()
        .unwrap()
}

fn ok_stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// `cert search ARGS --json`: the serials found, each line checked to be a
/// JSON object whose serial is a `0x`-hex string.
fn search_json(w: &World, args: &[&str]) -> Vec<String> {
    let mut a = vec!["cert", "search", "--dir", w.dir(), "--json"];
    a.extend_from_slice(args);
    let out = ok_stdout(&mailra(&a));
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = v["serial"].as_str().unwrap_or_else(|| panic!("{l}"));
            assert!(s.starts_with("0x"), "{l}");
            assert!(v["serial_decimal"].is_string(), "{l}");
            assert!(v["not_after"].as_str().unwrap().ends_with('Z'), "{l}");
            s.to_string()
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn set(v: &[&String]) -> Vec<String> {
    sorted(v.iter().map(|s| s.to_string()).collect())
}

fn jst_day(t: OffsetDateTime) -> String {
    t.to_offset(time::macros::offset!(+9)).date().to_string()
}

#[test]
fn cert_search_finds_by_each_filter_in_json_and_as_a_table() {
    let w = world();
    let dec = Serial::from_hex(w.ex_new.trim_start_matches("0x"))
        .unwrap()
        .to_decimal();
    let cases: Vec<(Vec<&str>, Vec<String>)> = vec![
        (vec!["--serial", &w.ex_new], set(&[&w.ex_new])),
        (vec!["--serial", &dec], set(&[&w.ex_new])),
        (vec!["--dn", "WWW.EXAMPLE"], set(&[&w.ex_old, &w.ex_new])),
        (vec!["--cn", "hanako suzuki"], set(&[&w.ex_client])),
        (
            vec!["--institution", "sample institute"],
            set(&[&w.sample_revoked, &w.sample_later]),
        ),
        (
            vec!["--institution", EX],
            set(&[&w.ex_old, &w.ex_new, &w.ex_client]),
        ),
        // The user's address, in another case than the form gave it.
        (vec!["--mail", "hanako@EXAMPLE.ac.jp"], set(&[&w.ex_client])),
        (
            vec!["--mail", "admin@sample-tech.ac.jp"],
            set(&[&w.sample_revoked, &w.sample_later]),
        ),
        (vec!["--mail", "admin@sample"], vec![]),
        (
            vec!["--profile", "11"],
            set(&[&w.sample_revoked, &w.sample_later]),
        ),
        (vec!["--kind", "client"], set(&[&w.ex_client])),
        (
            vec!["--status", "revoked"],
            set(&[&w.ex_old, &w.sample_revoked]),
        ),
        (
            vec!["--status", "valid"],
            set(&[&w.ex_new, &w.ex_client, &w.sample_later]),
        ),
        (vec!["--status", "expired"], vec![]),
        (
            vec!["--status", "valid", "--institution", "example"],
            set(&[&w.ex_new, &w.ex_client]),
        ),
    ];
    for (args, want) in cases {
        assert_eq!(sorted(search_json(w, &args)), want, "{args:?}");
    }

    // Expiry range: JST days, both ends included, from the stored notAfter.
    let certs = w.certs();
    let later = certs
        .iter()
        .find(|c| c.serial.to_string() == w.sample_later)
        .unwrap();
    let day = jst_day(later.not_after);
    let got = search_json(w, &["--expires-from", &day, "--expires-to", &day]);
    let want: Vec<String> = certs
        .iter()
        .filter(|c| jst_day(c.not_after) == day)
        .map(|c| c.serial.to_string())
        .collect();
    assert!(want.contains(&w.sample_later));
    assert_eq!(sorted(got), sorted(want));
    let before = jst_day(later.not_after - Duration::days(1));
    let got = search_json(w, &["--expires-to", &before]);
    assert!(!got.contains(&w.sample_later), "{got:?}");
    let want: Vec<String> = certs
        .iter()
        .filter(|c| jst_day(c.not_after) <= before)
        .map(|c| c.serial.to_string())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(sorted(got), sorted(want));

    // The table: a header, a line per certificate, the count.
    let out = ok_stdout(&mailra(&[
        "cert",
        "search",
        "--dir",
        w.dir(),
        "--institution",
        "sample",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("serial") && lines[0].contains("status"),
        "{out}"
    );
    for (serial, status) in [(&w.sample_revoked, "revoked"), (&w.sample_later, "valid")] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(serial.as_str()))
            .unwrap_or_else(|| panic!("{serial} missing:\n{out}"));
        assert_eq!(line.split_whitespace().nth(1), Some(status), "{line}");
        assert!(line.contains(SAMPLE), "{line}");
    }
    assert!(out.contains("2 certificate(s)"), "{out}");
    let none = ok_stdout(&mailra(&[
        "cert",
        "search",
        "--dir",
        w.dir(),
        "--dn",
        "no-such-host",
    ]));
    assert_eq!(none.trim(), "no certificate matches");

    // Bad words are refused with the reason, exit status 2.
    let bad = mailra(&["cert", "search", "--dir", w.dir(), "--serial", "12a"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a serial"));
}

#[test]
fn expired_is_judged_at_the_time_given_and_the_json_says_so() {
    let w = world();
    let conn = w.conn();
    let far = w.later + Duration::days(3 * 365);
    let q = |status| CertQuery {
        status: Some(status),
        at: Some(far),
        ..Default::default()
    };
    let expired = certsearch::search(&conn, &q(StatusFilter::Expired)).unwrap();
    assert_eq!(
        sorted(expired.iter().map(|c| c.serial.clone()).collect()),
        set(&[&w.ex_new, &w.ex_client, &w.sample_later])
    );
    assert!(expired.iter().all(|c| c.status == "expired"));
    assert!(
        certsearch::search(&conn, &q(StatusFilter::Valid))
            .unwrap()
            .is_empty()
    );
    // A revoked certificate stays revoked once expired.
    let revoked = certsearch::search(&conn, &q(StatusFilter::Revoked)).unwrap();
    assert!(revoked.iter().all(|c| c.status == "revoked"));
    assert_eq!(revoked.len(), 2);
    // The client certificate carries its user's address as given.
    let client = certsearch::search(
        &conn,
        &CertQuery {
            serial: Some(w.ex_client.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(client[0].user_mail.as_deref(), Some("Hanako@example.ac.jp"));
}

/// The TSV columns of a certificate as the store holds it.
fn expected_line(w: &World, c: &CertRecord) -> Vec<String> {
    let t = |t: OffsetDateTime| mailra::render::cert_export::jst_text(t);
    vec![
        c.serial.to_string(),
        c.serial.to_decimal(),
        match c.status {
            CertStatus::Valid => "valid".into(),
            CertStatus::Revoked => "revoked".into(),
        },
        c.profile.map(|p| p.id().to_string()).unwrap_or_default(),
        c.kind.as_str().into(),
        c.subject_dn.clone(),
        w.institution_of(&c.serial),
        t(c.not_before),
        t(c.not_after),
        c.admin_mail.clone(),
        c.user_mail.clone().unwrap_or_default(),
        c.renewed_from
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    ]
}

fn tsv_lines(text: &str) -> Vec<Vec<String>> {
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn cert_export_writes_shift_jis_utf8_and_xlsx_with_the_stored_values() {
    let w = world();
    let out = w.dir.path().join("export");
    std::fs::create_dir_all(&out).unwrap();
    let want: Vec<Vec<String>> = w
        .certs()
        .iter()
        .filter(|c| w.institution_of(&c.serial) == EX)
        .map(|c| expected_line(w, c))
        .collect();
    assert_eq!(want.len(), 3);

    // Shift_JIS by default.
    let sjis = out.join("ex.tsv");
    let o = mailra(&[
        "cert",
        "export",
        "--dir",
        w.dir(),
        "--institution",
        EX,
        "--format",
        "tsv",
        "-o",
        sjis.to_str().unwrap(),
    ]);
    assert!(ok_stdout(&o).contains("3 certificate(s) written"));
    let bytes = std::fs::read(&sjis).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "not UTF-8: the header is Japanese"
    );
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    let lines = tsv_lines(&text);
    assert!(
        lines[0][0].starts_with("シリアル番号") && lines[0][7].contains("JST"),
        "{:?}",
        lines[0]
    );
    assert_eq!(lines[1..].to_vec(), want);

    // UTF-8 on request: the same lines.
    let utf8 = out.join("ex-utf8.tsv");
    ok_stdout(&mailra(&[
        "cert",
        "export",
        "--dir",
        w.dir(),
        "--institution",
        EX,
        "--format",
        "tsv",
        "--encoding",
        "utf8",
        "-o",
        utf8.to_str().unwrap(),
    ]));
    let text = String::from_utf8(std::fs::read(&utf8).unwrap()).unwrap();
    assert_eq!(tsv_lines(&text)[1..].to_vec(), want);

    // xlsx: the same values, serials as text cells, times as date-times.
    let xlsx = out.join("all.xlsx");
    ok_stdout(&mailra(&[
        "cert",
        "export",
        "--dir",
        w.dir(),
        "--format",
        "xlsx",
        "-o",
        xlsx.to_str().unwrap(),
    ]));
    frozen_and_filtered(&xlsx, 1);
    let rows = sheet_rows(&xlsx, "証明書 certificates");
    let certs = w.certs();
    assert_eq!(rows.len(), certs.len() + 1);
    for c in &certs {
        let row = rows
            .iter()
            .find(|r| r[0] == Data::String(c.serial.to_string()))
            .unwrap_or_else(|| panic!("{} missing", c.serial));
        assert_eq!(
            row[1],
            Data::String(c.serial.to_decimal()),
            "decimal serial is text"
        );
        assert!(matches!(row[8], Data::DateTime(_)), "{:?}", row[8]);
        assert_eq!(row[5], Data::String(c.subject_dn.clone()));
        if let Some(old) = &c.renewed_from {
            assert_eq!(row[11], Data::String(old.to_string()));
        }
    }
}

#[test]
fn cert_export_refuses_an_unknown_format_and_writes_nothing_on_error() {
    let w = world();
    let path = w.dir.path().join("never.tsv");
    let o = mailra(&[
        "cert",
        "export",
        "--dir",
        w.dir(),
        "--format",
        "csv",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = mailra(&[
        "cert",
        "export",
        "--dir",
        w.dir(),
        "--format",
        "tsv",
        "--expires-from",
        "2030-01-02",
        "--expires-to",
        "2030-01-01",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("after --expires-to"));
    assert!(!path.exists());
}

fn sheet_rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = calamine::open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// Sheet `n` (1-based) keeps its header row in view and has a filter on it.
fn frozen_and_filtered(path: &Path, n: usize) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name(&format!("xl/worksheets/sheet{n}.xml")).unwrap(),
        &mut xml,
    )
    .unwrap();
    assert!(
        xml.contains(r#"ySplit="1""#) && xml.contains(r#"state="frozen""#),
        "sheet {n}: no frozen header"
    );
    assert!(
        xml.contains("<autoFilter ref=\"A1:"),
        "sheet {n}: no filter"
    );
}

#[path = "search_report/report.rs"]
mod report;
