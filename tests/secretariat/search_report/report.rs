//! `mailra report` on the instance of `search_report`: the four sheets,
//! their rows and the summary's counts against the store, the range and
//! `--institution`, and `ops::report::build`'s progress.

use super::*;

fn sheet_names(path: &Path) -> Vec<String> {
    let wb: Xlsx<_> = calamine::open_workbook(path).unwrap();
    wb.sheet_names()
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("not a text cell: {other:?}"),
    }
}

/// Runs `mailra report` and reads the workbook back.
fn report(w: &World, from: &str, to: &str, extra: &[&str]) -> (String, std::path::PathBuf) {
    let path = w
        .dir
        .path()
        .join(format!("report-{from}-{to}-{}.xlsx", extra.len()));
    let mut a = vec![
        "report",
        "--dir",
        w.dir(),
        "--from",
        from,
        "--to",
        to,
        "-o",
        path.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    (ok_stdout(&mailra(&a)), path)
}

/// Counts per institution from the store: (issued, renewed, revoked) in `[from, until)`.
fn store_counts(
    w: &World,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> std::collections::BTreeMap<String, (u64, u64, u64)> {
    let mut m = std::collections::BTreeMap::<String, (u64, u64, u64)>::new();
    let inside = |t: OffsetDateTime| from <= t && t < until;
    for c in w.certs() {
        if c.imported_at.is_none() && inside(c.issued_at) {
            let e = m.entry(w.institution_of(&c.serial)).or_default();
            if c.renewed_from.is_some() {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
    }
    for r in w.revocations() {
        if inside(r.revoked_at) {
            m.entry(w.institution_of(&r.serial)).or_default().2 += 1;
        }
    }
    m
}

fn jst_midnight(day: &str) -> OffsetDateTime {
    let d = certsearch::date_arg(day).unwrap();
    d.midnight().assume_offset(time::macros::offset!(+9))
}

/// The summary's counts per institution (the total line checked against the rows).
fn summary_counts(path: &Path) -> std::collections::BTreeMap<String, (u64, u64, u64)> {
    let rows = sheet_rows(path, "集計 summary");
    let n = |d: &Data| match d {
        Data::Float(f) => *f as u64,
        other => panic!("not a count: {other:?}"),
    };
    let mut m = std::collections::BTreeMap::<String, (u64, u64, u64)>::new();
    let mut sum = (0, 0, 0);
    let (last, body) = rows[1..].split_last().unwrap();
    for r in body {
        assert!(
            matches!(r[1], Data::String(_)),
            "profile is text: {:?}",
            r[1]
        );
        let e = m.entry(text(&r[0])).or_default();
        let c = (n(&r[3]), n(&r[4]), n(&r[5]));
        *e = (e.0 + c.0, e.1 + c.1, e.2 + c.2);
        sum = (sum.0 + c.0, sum.1 + c.1, sum.2 + c.2);
    }
    assert_eq!(text(&last[0]), "合計 total");
    assert_eq!((n(&last[3]), n(&last[4]), n(&last[5])), sum);
    m.retain(|_, c| *c != (0, 0, 0));
    m
}

#[test]
fn report_sheets_and_summary_match_the_store_and_the_range() {
    let w = world();
    let (from, to) = (
        jst_day(w.t0 - Duration::days(1)),
        jst_day(w.t0 + Duration::days(1)),
    );
    let (out, path) = report(w, &from, &to, &[]);
    assert_eq!(
        sheet_names(&path),
        [
            "集計 summary",
            "発行 issued",
            "更新 renewed",
            "失効 revoked"
        ]
    );
    for n in 1..=4 {
        frozen_and_filtered(&path, n);
    }

    let until = jst_midnight(&to) + Duration::days(1);
    let want = store_counts(w, jst_midnight(&from), until);
    assert_eq!(summary_counts(&path), want);
    let total = |i: usize| -> u64 { want.values().map(|c| [c.0, c.1, c.2][i]).sum() };
    // Both institutions, and something on every sheet.
    assert_eq!(want.len(), 2);
    assert!((0..3).all(|i| total(i) > 0));
    let counts = format!(
        "issued {}, renewed {}, revoked {}",
        total(0),
        total(1),
        total(2)
    );
    assert!(out.contains(&counts), "{out}");
    assert!(out.contains(path.to_str().unwrap()), "{out}");

    // Issued: renews nothing; the certificate of 10 days later is outside.
    let issued = sheet_rows(&path, "発行 issued");
    assert!(text(&issued[0][6]).contains("(JST)"), "{:?}", issued[0]);
    assert_eq!(issued.len() as u64 - 1, total(0));
    let serials: Vec<String> = issued[1..].iter().map(|r| text(&r[0])).collect();
    assert_eq!(
        sorted(serials),
        set(&[&w.ex_old, &w.ex_client, &w.sample_revoked])
    );
    for r in &issued[1..] {
        assert!(matches!(r[6], Data::DateTime(_)), "issued at: {:?}", r[6]);
        assert!(
            matches!(r[1], Data::String(_)),
            "decimal serial: {:?}",
            r[1]
        );
    }

    // Renewed: the new serial and the old one it renews.
    let renewed = sheet_rows(&path, "更新 renewed");
    assert_eq!(renewed.len() as u64 - 1, total(1));
    assert_eq!(
        (text(&renewed[1][0]), text(&renewed[1][1])),
        (w.ex_new.clone(), w.ex_old.clone())
    );

    // Revoked: when, why, whose.
    let revoked = sheet_rows(&path, "失効 revoked");
    assert_eq!(revoked.len() as u64 - 1, total(2));
    let sample = revoked[1..]
        .iter()
        .find(|r| text(&r[0]) == w.sample_revoked)
        .unwrap();
    assert!(matches!(sample[2], Data::DateTime(_)), "{:?}", sample[2]);
    assert_eq!(
        (text(&sample[3]), text(&sample[4]), text(&sample[5])),
        ("5".into(), "cessationOfOperation".into(), SAMPLE.into())
    );

    // A range that holds only the later day holds only the later certificate.
    let day = jst_day(w.later);
    let (_, path) = report(w, &day, &day, &[]);
    let issued = sheet_rows(&path, "発行 issued");
    assert_eq!(issued.len(), 2);
    assert_eq!(text(&issued[1][0]), w.sample_later);
    assert_eq!(sheet_rows(&path, "失効 revoked").len(), 1, "header only");
    assert_eq!(
        summary_counts(&path),
        store_counts(
            w,
            jst_midnight(&day),
            jst_midnight(&day) + Duration::days(1)
        )
    );
}

#[test]
fn report_build_tells_its_progress_up_to_the_last_row() {
    let w = world();
    let spec = mailra::ops::report::ReportSpec {
        from: w.t0.date() - Duration::days(1),
        to: w.later.date() + Duration::days(1),
        institution: None,
    };
    let mut calls = Vec::new();
    let r = mailra::ops::report::build(&w.conn(), &spec, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    let rows = (r.issued + r.renewed + r.revoked) as u64;
    let (done, total) = *calls.last().unwrap();
    assert_eq!(done, total);
    // Every certificate row, plus the summary's lines.
    assert!(total > rows, "{calls:?}");
    assert!(calls.windows(2).all(|p| p[1].0 == p[0].0 + 1), "{calls:?}");
    assert_eq!(
        r.file_name,
        format!("report-{}-{}.xlsx", spec.from, spec.to)
    );
    assert!(r.xlsx.starts_with(b"PK"));
}

#[test]
fn report_for_one_institution_holds_only_its_certificates() {
    let w = world();
    let (from, to) = (jst_day(w.t0), jst_day(w.later));
    let (out, path) = report(w, &from, &to, &["--institution", SAMPLE]);
    let counts = summary_counts(&path);
    let all = store_counts(
        w,
        jst_midnight(&from),
        jst_midnight(&to) + Duration::days(1),
    );
    assert_eq!(all.len(), 2, "the range holds both institutions");
    assert_eq!(counts.keys().collect::<Vec<_>>(), [SAMPLE]);
    assert_eq!(counts[SAMPLE], all[SAMPLE]);
    let (i, r, v) = all[SAMPLE];
    let said = format!("issued {i}, renewed {r}, revoked {v}");
    assert!(out.contains(&said), "{out}");
    for sheet in ["発行 issued", "更新 renewed", "失効 revoked"] {
        let rows = sheet_rows(&path, sheet);
        let col = if sheet == "失効 revoked" {
            5
        } else if sheet == "更新 renewed" {
            3
        } else {
            2
        };
        for r in &rows[1..] {
            assert_eq!(text(&r[col]), SAMPLE, "{sheet}: {r:?}");
        }
    }
    // An unknown institution (names are exact here), or a range the wrong
    // way round, is refused and nothing is written.
    let never = w.dir.path().join("never.xlsx");
    for (args, why) in [
        (
            [
                "--institution",
                "Sample",
                "--from",
                "2030-01-01",
                "--to",
                "2030-01-02",
            ],
            "no institution named \"Sample\"",
        ),
        (
            [
                "--institution",
                SAMPLE,
                "--from",
                "2030-01-02",
                "--to",
                "2030-01-01",
            ],
            "--from 2030-01-02 is after --to 2030-01-01",
        ),
    ] {
        let mut a = vec!["report", "--dir", w.dir(), "-o", never.to_str().unwrap()];
        a.extend(args);
        let o = mailra(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{a:?}: {err}");
    }
    assert!(!never.exists());
}
