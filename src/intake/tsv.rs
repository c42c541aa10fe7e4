//! Shift_JIS TSV decoding into records.
//!
//! Officers' application files are tab-separated Shift_JIS text (SPEC §4, seed 5-1/5-2).
//! This module turns their raw bytes into lines of string fields and enforces only the
//! rules common to every TSV form: the encoding, the JIS X 0208 + JIS X 0201 character
//! range, line endings, the field count and the record limit. Form-specific rules live in
//! `policy`. It never panics, whatever the bytes.
//!
//! Splitting happens on the raw bytes: in Shift_JIS the tab (0x09), LF (0x0A) and CR (0x0D)
//! never occur as the second byte of a double-byte character, so this is safe and lets
//! every problem be reported with its line and field.

use encoding_rs::SHIFT_JIS;
use thiserror::Error;

use super::record::{Record, Table};
use crate::model::RowError;

/// Field name used for TSV-level errors; the TSV layer does not know the form's columns.
const FIELD_NAME: &str = "text";

/// One non-empty line as read, before the form (and so its field count) is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub line: usize,
    /// The decoded fields; a field that did not decode is empty here.
    pub fields: Vec<String>,
    /// The fields that did not decode; the line is unusable if any.
    pub errors: Vec<RowError>,
}

/// A decoded file: its non-empty lines and the empty lines skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lines {
    pub lines: Vec<Line>,
    pub warnings: Vec<RowError>,
}

/// The TSV rules a file can break; rendered into [`RowError::rule`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TsvError {
    #[error("the file is UTF-8 (it starts with a UTF-8 byte-order mark); save it as Shift_JIS")]
    Utf8Bom,
    #[error("the file is UTF-16; save it as Shift_JIS")]
    Utf16,
    #[error(
        "the file looks like UTF-8 (its Japanese text is valid UTF-8, not Shift_JIS); save it as Shift_JIS"
    )]
    LooksUtf8,
    #[error("the file contains no application rows")]
    Empty,
    #[error("the file has {found} records; at most {max} are allowed per file")]
    TooManyRecords { found: usize, max: usize },
    #[error("bytes {bytes} at character {pos} are not valid Shift_JIS")]
    NotShiftJis { bytes: String, pos: usize },
    #[error(
        "character {ch} ({bytes}) is a Windows-31J extension outside JIS X 0208; replace it with a JIS X 0208 character"
    )]
    Extension { ch: String, bytes: String },
    #[error(
        "character {ch} ({bytes}) is a user-defined character; replace it with a JIS X 0208 character"
    )]
    UserDefined { ch: String, bytes: String },
    #[error("control character {0} is not allowed")]
    Control(String),
    #[error(
        "character {ch} (U+{code:04X}) cannot be written in Shift_JIS; replace it with a JIS X 0208 character"
    )]
    NotInShiftJis { ch: char, code: u32 },
    #[error(
        "the row has {found} fields, {expected} expected; fields {first} to {found} are not empty"
    )]
    TooManyFields {
        found: usize,
        expected: usize,
        first: usize,
    },
}

/// Decodes and splits a TSV file, then fits it to a form's field count and
/// record limit ([`read`], then [`fit`]).
pub fn parse(
    bytes: &[u8],
    fields_per_record: usize,
    max_records: usize,
) -> Result<Table, Vec<RowError>> {
    let lines = read(bytes).map_err(|e| vec![file_error(e)])?;
    fit(&lines, fields_per_record, max_records)
}

/// Decodes and splits a TSV file into lines of fields. The whole file is
/// refused only for what no line could survive: the wrong encoding, or no
/// line at all. Each field's own problems stay with its [`Line`].
///
/// Empty lines in the middle are skipped with a warning; empty lines at the
/// end are ignored.
pub fn read(bytes: &[u8]) -> Result<Lines, TsvError> {
    if let Some(e) = wrong_encoding(bytes) {
        return Err(e);
    }
    let mut lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    while lines.last().is_some_and(|l| is_blank(l)) {
        lines.pop();
    }

    let mut out = Lines::default();
    for (i, raw) in lines.iter().enumerate() {
        let line = i + 1;
        if is_blank(raw) {
            out.warnings.push(RowError {
                line,
                field: None,
                field_name: "",
                rule: "empty line skipped".into(),
                ..Default::default()
            });
            continue;
        }
        let mut fields = Vec::new();
        let mut errors = Vec::new();
        for (j, raw_field) in raw.split(|&b| b == b'\t').enumerate() {
            match decode_field(raw_field) {
                Ok(s) => fields.push(s),
                Err(e) => {
                    errors.push(RowError {
                        line,
                        field: Some(j + 1),
                        field_name: FIELD_NAME,
                        rule: e.to_string(),
                        ..Default::default()
                    });
                    fields.push(String::new());
                }
            }
        }
        out.lines.push(Line {
            line,
            fields,
            errors,
        });
    }
    if out.lines.is_empty() {
        return Err(TsvError::Empty);
    }
    Ok(out)
}

/// Fits decoded lines to a form: `fields_per_record` fields each, at most
/// `max_records` records. Every error of every line is collected.
///
/// Leniency (each produces a warning, never silently): a row with fewer fields
/// gets empty trailing fields (if a middle field was dropped instead, the form
/// rules will see shifted values and report them); a row with extra fields
/// that are all empty is trimmed.
pub fn fit(
    lines: &Lines,
    fields_per_record: usize,
    max_records: usize,
) -> Result<Table, Vec<RowError>> {
    let mut out = Table::default();
    let mut errors = Vec::new();
    for Line {
        line,
        fields,
        errors: bad,
    } in &lines.lines
    {
        let line = *line;
        let mut fields = fields.clone();
        let mut ok = bad.is_empty();
        errors.extend(bad.iter().cloned());
        let found = fields.len();
        if found < fields_per_record {
            out.warnings.push(RowError {
                line,
                field: None,
                field_name: "",
                rule: format!(
                    "the row has {found} fields, {fields_per_record} expected; the missing trailing fields were taken as empty (write a tab for every empty field)"
                ),
                ..Default::default()
            });
            fields.resize(fields_per_record, String::new());
        } else if found > fields_per_record {
            if fields[fields_per_record..]
                .iter()
                .all(|f| f.trim().is_empty())
            {
                out.warnings.push(RowError {
                    line,
                    field: None,
                    field_name: "",
                    rule: format!(
                        "the row has {found} fields, {fields_per_record} expected; the extra empty fields were ignored"
                    ),
                    ..Default::default()
                });
                fields.truncate(fields_per_record);
            } else {
                ok = false;
                errors.push(RowError {
                    line,
                    field: None,
                    field_name: "",
                    rule: TsvError::TooManyFields {
                        found,
                        expected: fields_per_record,
                        first: fields_per_record + 1,
                    }
                    .to_string(),
                    ..Default::default()
                });
            }
        }
        if ok {
            out.records.push(Record { line, fields });
        }
    }

    // In line order, the empty lines skipped among the fitted rows.
    out.warnings.extend(lines.warnings.iter().cloned());
    out.warnings.sort_by_key(|w| w.line);
    let rows = lines.lines.len();
    if rows > max_records {
        errors.insert(
            0,
            file_error(TsvError::TooManyRecords {
                found: rows,
                max: max_records,
            }),
        );
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn file_error(e: TsvError) -> RowError {
    RowError {
        line: 0,
        field: None,
        field_name: "",
        rule: e.to_string(),
        ..Default::default()
    }
}

/// Checks text that did not come as Shift_JIS bytes (a workbook cell) by the
/// same character rules as a TSV field: it must be writable in Shift_JIS,
/// within JIS X 0208 + JIS X 0201, without control characters (a tab or a
/// line break inside a cell included).
pub fn check_text(s: &str) -> Result<(), TsvError> {
    let mut bytes = Vec::with_capacity(s.len());
    for ch in s.chars() {
        if ch == '\t' {
            return Err(TsvError::Control(hex_bytes(b"\t")));
        }
        let mut buf = [0u8; 4];
        let (b, _, unmappable) = SHIFT_JIS.encode(ch.encode_utf8(&mut buf));
        if unmappable {
            return Err(TsvError::NotInShiftJis {
                ch,
                code: ch as u32,
            });
        }
        bytes.extend_from_slice(&b);
    }
    decode_field(&bytes).map(|_| ())
}

/// A line of nothing but tabs and spaces carries no data (spreadsheets export those).
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| b == b'\t' || b == b' ')
}

/// Recognises files saved in the wrong encoding, which would otherwise decode as
/// mojibake or fail with confusing per-line errors.
fn wrong_encoding(bytes: &[u8]) -> Option<TsvError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Some(TsvError::Utf8Bom);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Some(TsvError::Utf16);
    }
    // Real Japanese Shift_JIS text is practically never valid UTF-8 as well.
    if !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
        return Some(TsvError::LooksUtf8);
    }
    None
}

fn hex_bytes(b: &[u8]) -> String {
    format!("0x{}", hex::encode_upper(b))
}

/// Checks the raw bytes of one field for characters outside JIS X 0208 + JIS X 0201,
/// then decodes it.
fn decode_field(raw: &[u8]) -> Result<String, TsvError> {
    let mut i = 0;
    let mut chars = 0;
    while i < raw.len() {
        chars += 1;
        let b = raw[i];
        let double = matches!(b, 0x81..=0x9F | 0xE0..=0xFC);
        let len = if double { 2 } else { 1 };
        let end = (i + len).min(raw.len());
        let seq = &raw[i..end];
        // encoding_rs passes 0x80 through as U+0080; Windows-31J leaves it unassigned.
        let decoded = SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(seq)
            .filter(|_| seq.len() == len && b != 0x80);
        let Some(ch) = decoded else {
            return Err(TsvError::NotShiftJis {
                bytes: hex_bytes(seq),
                pos: chars,
            });
        };
        match b {
            0x87 | 0xED | 0xEE | 0xFA..=0xFC => {
                return Err(TsvError::Extension {
                    ch: ch.into_owned(),
                    bytes: hex_bytes(seq),
                });
            }
            0xF0..=0xF9 => {
                return Err(TsvError::UserDefined {
                    ch: ch.into_owned(),
                    bytes: hex_bytes(seq),
                });
            }
            0x00..=0x1F | 0x7F if b != b'\t' => {
                return Err(TsvError::Control(hex_bytes(seq)));
            }
            _ => {}
        }
        i = end;
    }
    // Every piece decoded on its own, so the whole decodes too.
    Ok(SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(raw)
        .map(|c| c.into_owned())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sjis(s: &str) -> Vec<u8> {
        let (b, _, bad) = SHIFT_JIS.encode(s);
        assert!(!bad, "test text must be encodable");
        b.into_owned()
    }

    fn rules(r: &Result<Table, Vec<RowError>>) -> Vec<String> {
        match r {
            Ok(f) => f.warnings.iter().map(|w| format!("W {w}")).collect(),
            Err(e) => e.iter().map(|e| format!("E {e}")).collect(),
        }
    }

    #[test]
    fn decodes_records() {
        type Expected<'a> = Vec<(usize, Vec<&'a str>)>;
        let cases: Vec<(Vec<u8>, Expected)> = vec![
            (b"a\tb\tc\r\n".to_vec(), vec![(1, vec!["a", "b", "c"])]),
            (
                b"a\tb\tc\nd\te\tf".to_vec(),
                vec![(1, vec!["a", "b", "c"]), (2, vec!["d", "e", "f"])],
            ),
            (
                sjis("国立　太郎\t\tｱｲｳ\r\n\r\n\n"),
                vec![(1, vec!["国立　太郎", "", "ｱｲｳ"])],
            ),
        ];
        for (input, expected) in cases {
            let f = parse(&input, 3, 99).expect("valid");
            let got: Vec<(usize, Vec<&str>)> = f
                .records
                .iter()
                .map(|r| (r.line, r.fields.iter().map(String::as_str).collect()))
                .collect();
            assert_eq!(got, expected, "{input:?}");
            assert!(f.warnings.is_empty());
        }
    }

    #[test]
    fn second_byte_0x5c_is_not_a_separator_problem() {
        // 表 is 0x95 0x5C: the trail byte is an ASCII backslash.
        let f = parse(&sjis("表\tx\ty\n"), 3, 99).unwrap();
        assert_eq!(f.records[0].fields, vec!["表", "x", "y"]);
    }

    #[test]
    fn errors_and_warnings() {
        let cases: Vec<(Vec<u8>, Vec<&str>)> = vec![
            (
                b"a\tb\n\nc\td\te\n".to_vec(),
                vec![
                    "W line 1: the row has 2 fields, 3 expected; the missing trailing fields were taken as empty (write a tab for every empty field)",
                    "W line 2: empty line skipped",
                ],
            ),
            (
                b"a\tb\tc\t\t\n".to_vec(),
                vec![
                    "W line 1: the row has 5 fields, 3 expected; the extra empty fields were ignored",
                ],
            ),
            (
                b"a\tb\tc\td\n".to_vec(),
                vec!["E line 1: the row has 4 fields, 3 expected; fields 4 to 4 are not empty"],
            ),
            (
                b"a\t\x82\tc\n".to_vec(),
                vec!["E line 1: field 2 (text): bytes 0x82 at character 1 are not valid Shift_JIS"],
            ),
            (
                b"x\ty\tab\x85\x40\n".to_vec(),
                vec![
                    "E line 1: field 3 (text): bytes 0x8540 at character 3 are not valid Shift_JIS",
                ],
            ),
            (
                b"a\tb\tc\n\x87\x40\t\t\n".to_vec(),
                vec![
                    "E line 2: field 1 (text): character \u{2460} (0x8740) is a Windows-31J extension outside JIS X 0208; replace it with a JIS X 0208 character",
                ],
            ),
            (
                b"a\t\xFA\x40\tc\n".to_vec(),
                vec![
                    "E line 1: field 2 (text): character \u{2170} (0xFA40) is a Windows-31J extension outside JIS X 0208; replace it with a JIS X 0208 character",
                ],
            ),
            (
                b"a\t\xED\x40\tc\n".to_vec(),
                vec![
                    "E line 1: field 2 (text): character \u{7e8a} (0xED40) is a Windows-31J extension outside JIS X 0208; replace it with a JIS X 0208 character",
                ],
            ),
            (
                b"a\t\xF0\x40\tc\n".to_vec(),
                vec![
                    "E line 1: field 2 (text): character \u{e000} (0xF040) is a user-defined character; replace it with a JIS X 0208 character",
                ],
            ),
            (
                b"a\tb\tc\x80\n".to_vec(),
                vec!["E line 1: field 3 (text): bytes 0x80 at character 2 are not valid Shift_JIS"],
            ),
            (
                b"a\tb\x01\tc\n".to_vec(),
                vec!["E line 1: field 2 (text): control character 0x01 is not allowed"],
            ),
            (
                "国立\t\t\n".as_bytes().to_vec(),
                vec![
                    "E file: the file looks like UTF-8 (its Japanese text is valid UTF-8, not Shift_JIS); save it as Shift_JIS",
                ],
            ),
            (
                b"\xEF\xBB\xBFa\tb\tc\n".to_vec(),
                vec![
                    "E file: the file is UTF-8 (it starts with a UTF-8 byte-order mark); save it as Shift_JIS",
                ],
            ),
            (
                b"\xFF\xFEa\0".to_vec(),
                vec!["E file: the file is UTF-16; save it as Shift_JIS"],
            ),
            (
                b"\r\n\t\t\n".to_vec(),
                vec!["E file: the file contains no application rows"],
            ),
            (
                b"a\tb\tc\na\tb\tc\na\tb\tc\n".to_vec(),
                vec!["E file: the file has 3 records; at most 2 are allowed per file"],
            ),
        ];
        for (input, expected) in cases {
            let got = rules(&parse(&input, 3, 2));
            assert_eq!(got, expected, "{input:?}");
        }
    }

    #[test]
    fn text_of_other_origins_by_the_same_rules() {
        let cases = [
            ("国立　太郎 ｱｲｳ abc", Ok(())),
            (
                "\u{2460}",
                Err(
                    "character \u{2460} (0x8740) is a Windows-31J extension outside JIS X 0208; replace it with a JIS X 0208 character",
                ),
            ),
            (
                "\u{1F600}",
                Err(
                    "character \u{1F600} (U+1F600) cannot be written in Shift_JIS; replace it with a JIS X 0208 character",
                ),
            ),
            ("a\nb", Err("control character 0x0A is not allowed")),
            ("a\tb", Err("control character 0x09 is not allowed")),
        ];
        for (text, expected) in cases {
            let got = check_text(text).map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_string), "{text:?}");
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let alphabet: &[u8] = b"\t\r\n a\x81\x87\x9f\xe0\xed\xfc\xff\x40\x5c\x80";
        for _ in 0..2000 {
            let len = rng.gen_range(0..40);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let r = parse(&input, 3, 5);
            if let Ok(f) = r {
                assert!(f.records.iter().all(|r| r.fields.len() == 3));
            }
        }
    }
}
