//! The zip pre-check of an .xlsx, before calamine sees it.
//!
//! calamine inflates parts as they are declared and sizes its tables by what
//! the file announces, so a small package can make it allocate gigabytes
//! (see `shared/notes/excel-untrusted.md`). Here every size comes from the
//! central directory — known even for parts written with a data descriptor,
//! as Java writers do — and the zip crate (≥ 9.0.1) fails a read past the
//! declared size, so what passes here bounds what calamine inflates.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{Budget, WorkbookError};

/// What the pre-check learned of the package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Package {
    /// It has a VBA project (`xl/vbaProject.bin`).
    pub has_macros: bool,
}

/// A part is a compression bomb only above this size (tiny parts compress
/// far beyond any sane ratio: an empty styles part).
const BOMB_FLOOR: u64 = 1 << 20;
/// How much of a shared-string part is inflated to find its `<sst>` tag.
const SST_HEAD: u64 = 64 << 10;
/// The shortest shared string `<si/>`, in bytes.
const MIN_SI: u64 = 5;
/// The shortest reference to a shared string in a sheet, `<c t="s"><v>0</v></c>`.
const MIN_REF: u64 = 21;

fn malformed(what: impl std::fmt::Display) -> WorkbookError {
    WorkbookError::Malformed(what.to_string())
}

/// Checks the package `bytes` against the budget.
pub(super) fn check(bytes: &[u8], budget: &Budget) -> Result<Package, WorkbookError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| malformed(format!("not a readable zip package ({e})")))?;
    if zip.len() > budget.max_parts {
        return Err(WorkbookError::Exceeds(format!(
            "{} parts in its package, more than {}",
            zip.len(),
            budget.max_parts
        )));
    }
    let mut package = Package::default();
    let mut total = 0u64;
    let mut shared_strings = Vec::new();
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(malformed)?;
        let name = part.name().map_err(malformed)?.to_string();
        if part.encrypted() {
            return Err(WorkbookError::Encrypted);
        }
        let (size, packed) = (part.size(), part.compressed_size());
        if size > budget.max_part_bytes {
            return Err(WorkbookError::Exceeds(format!(
                "its part {name} declares {} MB uncompressed, more than {} MB",
                size >> 20,
                budget.max_part_bytes >> 20
            )));
        }
        total = total.saturating_add(size);
        if total > budget.max_total_bytes {
            return Err(WorkbookError::Exceeds(format!(
                "its parts declare more than {} MB uncompressed",
                budget.max_total_bytes >> 20
            )));
        }
        if size > BOMB_FLOOR && size / packed.max(1) > budget.max_ratio {
            return Err(WorkbookError::Unsafe(format!(
                "its part {name} inflates {} times (a compression bomb)",
                size / packed.max(1)
            )));
        }
        let lower = name.to_ascii_lowercase();
        if lower.ends_with("vbaproject.bin") {
            package.has_macros = true;
        }
        if lower.ends_with("sharedstrings.xml") {
            shared_strings.push((i, name, size));
        }
    }
    for (i, name, size) in shared_strings {
        let part = zip.by_index(i).map_err(malformed)?;
        let mut head = Vec::new();
        part.take(SST_HEAD)
            .read_to_end(&mut head)
            .map_err(|e| malformed(format!("its part {name} cannot be read ({e})")))?;
        check_counts(&name, &head, size, total, budget)?;
    }
    Ok(package)
}

/// The counts a shared-string table announces in its `<sst>` tag, against
/// what its part and the package can hold: calamine reserves `uniqueCount`
/// strings before reading one.
fn check_counts(
    name: &str,
    head: &[u8],
    size: u64,
    total: u64,
    budget: &Budget,
) -> Result<(), WorkbookError> {
    let (unique, count) = sst_counts(head).map_err(|e| {
        malformed(format!(
            "its part {name} does not start a string table ({e})"
        ))
    })?;
    if let Some(n) = unique
        && (n > size / MIN_SI || n > budget.max_shared_strings)
    {
        return Err(WorkbookError::Unsafe(format!(
            "its part {name} announces {n} strings in {size} bytes"
        )));
    }
    if let Some(n) = count
        && n > total / MIN_REF
    {
        return Err(WorkbookError::Unsafe(format!(
            "its part {name} announces {n} uses of its strings in a package of {total} bytes"
        )));
    }
    Ok(())
}

/// `uniqueCount` and `count` of the first element, which must be `<sst>`.
/// A count that is not a number is `u64::MAX` (calamine ignores it, but no
/// writer makes one).
fn sst_counts(head: &[u8]) -> Result<(Option<u64>, Option<u64>), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(head);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                if e.local_name().as_ref() != "sst" {
                    return Err("its first element is not <sst>".into());
                }
                let mut counts = (None, None);
                for a in e.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let n = a.value.trim().parse::<u64>().ok().unwrap_or(u64::MAX);
                    match a.key.local_name().as_ref() {
                        "uniqueCount" => counts.0 = Some(n),
                        "count" => counts.1 = Some(n),
                        _ => {}
                    }
                }
                return Ok(counts);
            }
            Ok(Event::Eof) => return Err("no <sst> element at its start".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    /// A zip of `(name, content, stored?)` parts.
    fn package(parts: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content, stored) in parts {
            let method = if *stored {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            w.start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            w.write_all(content).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn sst(attrs: &str) -> Vec<u8> {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" {attrs}><si><t>a</t></si><si><t>b</t></si></sst>"#
        )
        .into_bytes()
    }

    #[test]
    fn packages_checked_before_calamine() {
        let zeros = vec![b'0'; 4 << 20];
        let many: Vec<(String, Vec<u8>)> = (0..1001).map(|i| (format!("p{i}"), vec![])).collect();
        let many: Vec<(&str, &[u8], bool)> = many
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice(), true))
            .collect();
        let big = vec![b'x'; (33 << 20) as usize];
        let cases: Vec<(&str, Vec<u8>, Result<Package, &str>)> = vec![
            (
                "plain parts",
                package(&[
                    ("xl/workbook.xml", b"<workbook/>", false),
                    (
                        "xl/sharedStrings.xml",
                        &sst(r#"count="2" uniqueCount="2""#),
                        false,
                    ),
                ]),
                Ok(Package::default()),
            ),
            (
                "macros",
                package(&[("xl/vbaProject.bin", b"\x01\x02", true)]),
                Ok(Package { has_macros: true }),
            ),
            (
                "zip bomb: 4 MB of zeros",
                package(&[("xl/sharedStrings.xml", &zeros, false)]),
                Err("inflates"),
            ),
            ("too many parts", package(&many), Err("1001 parts")),
            (
                "one part too large",
                package(&[("xl/worksheets/sheet1.xml", &big, true)]),
                Err("declares 33 MB"),
            ),
            (
                "uniqueCount 10^12",
                package(&[(
                    "xl/sharedStrings.xml",
                    &sst(r#"count="2" uniqueCount="1000000000000""#),
                    false,
                )]),
                Err("announces 1000000000000 strings"),
            ),
            (
                "uniqueCount not a number",
                package(&[("xl/sharedStrings.xml", &sst(r#"uniqueCount="-1""#), false)]),
                Err("announces 18446744073709551615 strings"),
            ),
            (
                "count 10^12",
                package(&[(
                    "xl/sharedStrings.xml",
                    &sst(r#"count="1000000000000" uniqueCount="2""#),
                    false,
                )]),
                Err("announces 1000000000000 uses"),
            ),
            (
                "a string table that is not one",
                package(&[("xl/sharedStrings.xml", b"<html/>", false)]),
                Err("does not start a string table"),
            ),
            (
                "not a zip",
                b"PK\x03\x04garbage".to_vec(),
                Err("not a readable zip"),
            ),
        ];
        for (what, bytes, expected) in cases {
            let got = check(&bytes, &Budget::default());
            match expected {
                Ok(p) => assert_eq!(got, Ok(p), "{what}"),
                Err(text) => {
                    let e = got.expect_err(what).to_string();
                    assert!(e.contains(text), "{what}: {e}");
                }
            }
        }
    }

    #[test]
    fn two_parts_each_allowed_but_too_large_together() {
        let part = vec![b'x'; (30 << 20) as usize];
        let bytes = package(&[("a", &part, true), ("b", &part, true), ("c", &part, true)]);
        let e = check(&bytes, &Budget::default()).unwrap_err();
        assert_eq!(
            e,
            WorkbookError::Exceeds("its parts declare more than 64 MB uncompressed".into())
        );
    }
}
