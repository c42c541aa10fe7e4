//! Hostile workbooks through the sandboxed reader (`mailra read-workbook`
//! run as a child with memory and CPU limits): an .xls that aborts calamine
//! is one refused file, the parent survives children that abort, hang or
//! answer nonsense, and a mail carrying such a workbook with a good TSV still
//! has its TSV carried out and the workbook's refusal told to the officer.

mod support;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailra::intake::application::ReadError;
use mailra::intake::workbook::{Value, WorkbookError};
use mailra::kit::{self, mail::FileSpec};
use mailra::ra::Verdict;
use mailra::ra::workbook::{self, WorkbookReader};
use support::*;

fn reader() -> WorkbookReader {
    WorkbookReader::new(env!("CARGO_BIN_EXE_mailra").into())
}

/// One BIFF record.
fn rec(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend((data.len() as u16).to_le_bytes());
    r.extend(data);
    r
}

/// A BIFF8 Workbook stream: one sheet "Sheet1" whose DIMENSIONS record
/// declares `rows` × `cols`, holding the number 42 at A1; `extra` records go
/// into the workbook globals.
fn biff8(rows: u32, cols: u16, extra: &[Vec<u8>]) -> Vec<u8> {
    let bof = |dt: u16| {
        let mut d = vec![0x00, 0x06];
        d.extend(dt.to_le_bytes());
        d.extend([0u8; 12]);
        rec(0x0809, &d)
    };
    let name = b"Sheet1";
    let boundsheet = |pos: u32| {
        let mut d = pos.to_le_bytes().to_vec();
        d.extend([0, 0, name.len() as u8, 0]);
        d.extend(name);
        rec(0x0085, &d)
    };
    let mut globals = bof(0x0005);
    for r in extra {
        globals.extend(r);
    }
    let pos = (globals.len() + boundsheet(0).len() + 4) as u32;
    globals.extend(boundsheet(pos));
    globals.extend(rec(0x000A, &[]));
    let mut dims = 0u32.to_le_bytes().to_vec();
    dims.extend(rows.to_le_bytes());
    dims.extend(0u16.to_le_bytes());
    dims.extend(cols.to_le_bytes());
    dims.extend(0u16.to_le_bytes());
    let mut number = vec![0, 0, 0, 0, 0, 0];
    number.extend(42f64.to_le_bytes());
    let mut stream = globals;
    stream.extend(bof(0x0010));
    stream.extend(rec(0x0200, &dims));
    stream.extend(rec(0x0203, &number));
    stream.extend(rec(0x000A, &[]));
    stream
}

/// A Compound File holding `streams` (path, bytes) and empty `storages`.
fn cfb(streams: &[(&str, &[u8])], storages: &[&str]) -> Vec<u8> {
    let mut c = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    for s in storages {
        c.create_storage(s).unwrap();
    }
    for (path, bytes) in streams {
        c.create_stream(path).unwrap().write_all(bytes).unwrap();
    }
    c.flush().unwrap();
    c.into_inner().into_inner()
}

fn xls(rows: u32, cols: u16) -> Vec<u8> {
    cfb(&[("/Workbook", &biff8(rows, cols, &[]))], &[])
}

/// An .xls whose DIMENSIONS record declares the whole grid: calamine
/// reserves 1,048,576 × 16,384 cells in `Xls::new` and the process aborts.
fn xls_huge_dimensions() -> Vec<u8> {
    xls(1_048_576, 16_384)
}

/// An .xlsx encrypted with a password: a Compound File with an
/// `EncryptedPackage`.
fn encrypted_xlsx() -> Vec<u8> {
    cfb(
        &[
            ("/EncryptionInfo", b"\x04\x00\x04\x00\x40\x00\x00\x00"),
            ("/EncryptedPackage", &[7u8; 600]),
        ],
        &[],
    )
}

#[test]
fn an_ordinary_xls_is_read_in_the_child() {
    let wb = reader().read(&xls(1, 1)).unwrap().unwrap();
    assert!(!wb.has_macros);
    assert_eq!(wb.sheets.len(), 1);
    assert_eq!(wb.sheets[0].name, "Sheet1");
    assert_eq!(wb.sheets[0].cells.len(), 1);
    assert_eq!(
        wb.sheets[0].cells[0].value,
        Value::Number {
            value: 42.0,
            format: None
        }
    );
    let wb = reader()
        .read(&kit::workbooks::ordinary().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(wb.sheets[0].name, "申請");
}

#[test]
fn hostile_workbooks_are_refused_by_the_child_in_bounded_time() {
    let mut garbled = xls(1, 1);
    garbled.truncate(700);
    let filepass = rec(0x002F, &[1, 0, 1, 0, 0, 0]);
    type Kind = fn(&WorkbookError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Kind, &str)> = vec![
        (
            "an .xls with a patched DIMENSIONS record",
            xls_huge_dimensions(),
            |e| matches!(e, WorkbookError::Unsafe(_)),
            "could not be read safely: reading it needed more memory than allowed",
        ),
        (
            "an encrypted .xlsx",
            encrypted_xlsx(),
            |e| *e == WorkbookError::Encrypted,
            "encrypted or password-protected",
        ),
        (
            "an .xls with a password (FILEPASS)",
            cfb(&[("/Workbook", &biff8(1, 1, &[filepass]))], &[]),
            |e| *e == WorkbookError::Encrypted,
            "encrypted or password-protected",
        ),
        (
            "a truncated Compound File",
            garbled,
            |e| matches!(e, WorkbookError::Malformed(_)),
            "damaged",
        ),
        (
            "cells at A1 and XFD1048576",
            kit::workbooks::far_cells(),
            |e| matches!(e, WorkbookError::Exceeds(_)),
            "XFD1048576",
        ),
        (
            "sharedStrings uniqueCount 10^12",
            kit::workbooks::huge_unique_count(),
            |e| matches!(e, WorkbookError::Unsafe(_)),
            "announces 1000000000000 strings",
        ),
        (
            "a zip bomb",
            kit::workbooks::zip_bomb(30),
            |e| matches!(e, WorkbookError::Unsafe(_)),
            "compression bomb",
        ),
        (
            "random bytes named .xlsx",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            |e| *e == WorkbookError::NotAWorkbook,
            "not an Excel workbook",
        ),
    ];
    for (what, bytes, kind, reason) in cases {
        let started = Instant::now();
        let e = reader().read(&bytes).unwrap().expect_err(what);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{what}: {:?}",
            started.elapsed()
        );
        assert!(kind(&e), "{what}: {e:?}");
        assert!(e.to_string().contains(reason), "{what}: {e}");
    }
}

#[test]
fn macros_refuse_the_workbook() {
    let cases = [
        ("an .xlsm with a VBA project", kit::workbooks::with_macros()),
        (
            "an .xls with VBA storage",
            cfb(&[("/Workbook", &biff8(1, 1, &[]))], &["/_VBA_PROJECT_CUR"]),
        ),
    ];
    for (what, bytes) in cases {
        let got = workbook::records(&reader(), "list.xlsm", &bytes).unwrap();
        assert_eq!(
            got.unwrap_err(),
            ReadError::Workbook(WorkbookError::Macros),
            "{what}"
        );
    }
}

/// A stand-in for the reader executable: a shell script.
fn script(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("reader.sh");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn the_parent_survives_a_child_that_aborts_hangs_or_answers_nonsense() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = kit::workbooks::ordinary().unwrap();
    let cases = [
        ("aborts", "kill -ABRT $$", "needed more memory than allowed"),
        ("is killed", "kill -KILL $$", "needed more processing time"),
        ("crashes", "kill -SEGV $$", "the reader crashed on it"),
        (
            "exits non-zero",
            "cat >/dev/null; exit 3",
            "the reader failed on it",
        ),
        (
            "answers nonsense",
            "cat >/dev/null; echo '{\"Ok\": 12}'",
            "not understood",
        ),
        ("hangs", "exec sleep 30", "took longer than 1 s"),
        (
            "answers too much",
            "cat >/dev/null; exec head -c 5000000 /dev/zero",
            "larger than 1 MB",
        ),
    ];
    for (what, body, reason) in cases {
        let r = WorkbookReader {
            exe: script(dir.path(), body),
            timeout: Duration::from_secs(1),
            max_answer_bytes: 1 << 20,
            ..reader()
        };
        let started = Instant::now();
        let e = r.read(&bytes).unwrap().expect_err(what);
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        assert!(matches!(e, WorkbookError::Unsafe(_)), "{what}: {e:?}");
        assert!(e.to_string().contains(reason), "{what}: {e}");
    }
    // A reader that cannot be started is the operator's problem, not a
    // refusal told to the officer.
    let r = WorkbookReader::new(dir.path().join("no-such-exe"));
    assert!(r.read(&bytes).is_err());
}

#[test]
fn the_real_child_stops_at_its_memory_limit() {
    // The same ordinary workbook, once with room and once with 16 MiB of
    // address space: the child cannot read it, and says so by dying, never
    // by a wrong answer. The child sets its limit after it has started, so
    // the workbook must need more memory than the heap already holds: an
    // ordinary sheet of 2000 rows of long text (a few MiB of strings, well
    // within the reading budget). A tiny workbook sometimes fit in the
    // heap's slack and was read (CI failure of stop 14).
    let cell = "申請者の所属部局名と長い説明文".repeat(8);
    let row = [cell.as_str(); 8].join("\t");
    let tsv = vec![row.as_str(); 2000].join("\n");
    let bytes = kit::workbooks::form_sheet("申請", None, &tsv, &[]).unwrap();
    assert!(reader().read(&bytes).unwrap().is_ok());
    let tiny = WorkbookReader {
        memory_mb: 16,
        ..reader()
    };
    let e = tiny.read(&bytes).unwrap().unwrap_err();
    assert!(matches!(e, WorkbookError::Unsafe(_)), "{e:?}");
}

#[test]
fn a_hostile_workbook_is_refused_and_the_rest_of_the_mail_is_carried_out() {
    let mut f = Fixture::new();
    let files = [
        FileSpec {
            name: "list.xls".into(),
            data: xls_huge_dimensions(),
        },
        FileSpec {
            name: "application.tsv".into(),
            data: kit::forms::sjis(&issue_tsv("www.example.ac.jp")),
        },
    ];
    let raw =
        kit::mail::application_mail(&f.o1, O1, kit::ROBOT, "発行", &files, false, now()).unwrap();
    let o = f.process(&raw);
    assert_eq!(o.issued.len(), 1, "the TSV is carried out: {o:?}");
    assert_eq!(o.verdict, Verdict::Partial, "{o:?}");
    let texts: Vec<String> = f
        .replies()
        .iter()
        .map(|(_, raw)| text_of(raw).replace("\r\n", "\n"))
        .collect();
    assert!(
        texts.iter().any(|t| t.contains(
            "* File list.xls (form not recognised): NOT executed: 1 error(s)\n  \
             file: the workbook could not be read safely: reading it needed more memory than allowed"
        )),
        "the officer is told why the workbook was refused: {texts:#?}"
    );
    // The robot carries on: the next mail is processed as usual.
    let o = f.process(&f.mail(&f.o1, O1, "発行", &issue_tsv("mail.example.ac.jp")));
    assert_eq!(o.issued.len(), 1, "{o:?}");
}

/// The parent holds the child's answer to the budget again: a child that
/// went wrong (or was made to) cannot hand the robot more cells, farther
/// cells or more merged areas than the reader itself would have read.
#[test]
fn the_parent_holds_the_childs_answer_to_the_budget() {
    use mailra::intake::workbook::{Budget, Cell, Sheet, Workbook};
    let sheet = |cells: Vec<Cell>, merged: usize| Workbook {
        sheets: vec![Sheet {
            name: "Sheet1".into(),
            visible: true,
            cells,
            merged: vec![(0, 0, 0, 1); merged],
        }],
        has_macros: false,
    };
    let cell = |row, col| Cell {
        row,
        col,
        value: Value::Text("x".into()),
    };
    let json = |a: &Result<Workbook, WorkbookError>| serde_json::to_vec(a).unwrap();
    let b = Budget::default();
    let ok = sheet(vec![cell(0, 0), cell(4999, 63)], 3);
    let cases: Vec<(Vec<u8>, Result<(), &str>)> = vec![
        (json(&Ok(ok.clone())), Ok(())),
        (
            json(&Ok(sheet(vec![cell(5000, 0)], 0))),
            Err("outside the first 5000 rows"),
        ),
        (
            json(&Ok(sheet(vec![cell(0, 64)], 0))),
            Err("outside the first 5000 rows and 64 columns"),
        ),
        (
            json(&Ok(sheet(vec![], b.max_merged + 1))),
            Err("more than 1000 merged areas"),
        ),
        (
            json(&Ok(sheet(
                (0..=b.max_cells as u32)
                    .map(|i| cell(i % 5000, i / 5000))
                    .collect(),
                0,
            ))),
            Err("more than 100000 non-empty cells"),
        ),
        (json(&Err(WorkbookError::Macros)), Err("contains macros")),
        (b"{\"Ok\":".to_vec(), Err("answer was not understood")),
        (b"\x00\xff".to_vec(), Err("answer was not understood")),
    ];
    for (out, want) in cases {
        let got = workbook::decode(&out, &b);
        match (got, want) {
            (Ok(wb), Ok(())) => assert_eq!(wb, ok),
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e} / {w}"),
            (got, want) => panic!("{got:?} / {want:?}"),
        }
    }
}

/// Regression (found by the `workbook_read` fuzz target): a package whose
/// merged-cell reference overflows calamine 0.38's column arithmetic made it
/// panic (with overflow checks on, as in the test and fuzz builds). The
/// reader now tells the officer the file could not be read safely, in
/// process and through the child, instead of failing.
#[test]
fn a_merged_cell_reference_that_overflows_calamine_is_refused_not_a_crash() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz/calamine-merge-ref-overflow.xlsx"),
    )
    .unwrap();
    let budget = mailra::intake::workbook::Budget::default();
    match mailra::intake::workbook::read(&bytes, &budget) {
        Err(WorkbookError::Unsafe(why)) => {
            assert!(why.contains("the reader stopped on it"), "{why}")
        }
        other => panic!("in process: {other:?}"),
    }
    match reader().read(&bytes).unwrap() {
        Err(WorkbookError::Unsafe(why)) => {
            assert!(why.contains("the reader stopped on it"), "{why}")
        }
        other => panic!("through the child: {other:?}"),
    }
}
