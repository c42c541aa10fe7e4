//! The files `mailra cert export` writes: a certificate search as TSV
//! (Shift_JIS, as the service's files are, or UTF-8) or as an xlsx listing.
//!
//! One column set for both (`COLUMNS`). A TSV must round-trip: a value a
//! TSV line cannot hold (a tab or line break) or, in Shift_JIS, a character
//! that encoding lacks is refused with an error naming the certificate and
//! the column, never replaced — a substituted `?` in a subject DN would be a
//! silently different DN in the secretariat's records.

use rust_xlsxwriter::{DocProperties, Workbook, XlsxError};
use time::OffsetDateTime;

use super::listing::{self, Cell, Column, col};

/// One certificate as exported.
#[derive(Debug, Clone)]
pub struct ExportRow {
    /// `0x`-hex, as the forms accept it.
    pub serial: String,
    pub serial_decimal: String,
    /// `valid`, `revoked` or `expired`.
    pub status: &'static str,
    pub profile: Option<u8>,
    pub kind: &'static str,
    pub subject: String,
    pub institution: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub admin_mail: String,
    pub user_mail: Option<String>,
    /// The serial (`0x`-hex) of the certificate this one renewed.
    pub renewed_from: Option<String>,
}

/// The columns, in order (TSV header row and xlsx header alike).
pub const COLUMNS: [Column; 12] = [
    col("シリアル番号 serial (hex)", 26.0),
    col("シリアル番号 serial (decimal)", 28.0),
    col("状態 status", 10.0),
    col("プロファイル profile", 12.0),
    col("種別 kind", 10.0),
    col("サブジェクトDN subject DN", 60.0),
    col("機関 institution", 30.0),
    col("有効期間開始 notBefore (JST)", 21.0),
    col("有効期間満了 notAfter (JST)", 21.0),
    col("管理者メール admin mail", 30.0),
    col("利用者メール user mail", 30.0),
    col("更新元 renewed from", 26.0),
];

/// The text encoding of a TSV export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// Shift_JIS as Windows writes it (Windows-31J, with the NEC and IBM
    /// extensions: encoding_rs's WHATWG Shift_JIS), like the service's own files.
    #[default]
    ShiftJis,
    Utf8,
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A character Shift_JIS has no code for.
    #[error(
        "certificate {serial}: {column} {value:?} contains {ch:?} (U+{code:04X}), which Shift_JIS cannot hold; nothing was written (export with --encoding utf8 or --format xlsx)",
        code = *ch as u32
    )]
    NotShiftJis {
        serial: String,
        column: &'static str,
        value: String,
        ch: char,
    },
    /// A tab or line break, which would split the TSV line.
    #[error(
        "certificate {serial}: {column} {value:?} contains a tab or line break, which a TSV line cannot hold; nothing was written (export with --format xlsx)"
    )]
    Control {
        serial: String,
        column: &'static str,
        value: String,
    },
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// A time as the TSV writes it: Japan time, `YYYY-MM-DD HH:MM:SS` (the
/// header says JST).
pub fn jst_text(t: OffsetDateTime) -> String {
    t.to_offset(time::macros::offset!(+9))
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

fn fields(r: &ExportRow) -> [String; 12] {
    [
        r.serial.clone(),
        r.serial_decimal.clone(),
        r.status.to_string(),
        r.profile.map(|p| p.to_string()).unwrap_or_default(),
        r.kind.to_string(),
        r.subject.clone(),
        r.institution.clone(),
        jst_text(r.not_before),
        jst_text(r.not_after),
        r.admin_mail.clone(),
        r.user_mail.clone().unwrap_or_default(),
        r.renewed_from.clone().unwrap_or_default(),
    ]
}

/// The TSV file: a header row, then a line per certificate; CRLF line ends.
pub fn tsv(rows: &[ExportRow], encoding: TextEncoding) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    let put = |line: &str, out: &mut Vec<u8>| match encoding {
        TextEncoding::Utf8 => out.extend_from_slice(line.as_bytes()),
        TextEncoding::ShiftJis => {
            // Checked cell by cell below; the header is ours.
            let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(line);
            out.extend_from_slice(&bytes);
        }
    };
    let head: Vec<&str> = COLUMNS.iter().map(|c| c.head).collect();
    put(&format!("{}\r\n", head.join("\t")), &mut out);
    for r in rows {
        let values = fields(r);
        for (value, column) in values.iter().zip(COLUMNS.iter()) {
            check(&r.serial, column.head, value, encoding)?;
        }
        put(&format!("{}\r\n", values.join("\t")), &mut out);
    }
    Ok(out)
}

/// Refuses a value the TSV line cannot carry faithfully.
fn check(
    serial: &str,
    column: &'static str,
    value: &str,
    encoding: TextEncoding,
) -> Result<(), ExportError> {
    if value.contains(['\t', '\r', '\n']) {
        return Err(ExportError::Control {
            serial: serial.into(),
            column,
            value: value.into(),
        });
    }
    if encoding == TextEncoding::ShiftJis
        && let Some(ch) = first_not_shift_jis(value)
    {
        return Err(ExportError::NotShiftJis {
            serial: serial.into(),
            column,
            value: value.into(),
            ch,
        });
    }
    Ok(())
}

/// The first character of `s` Shift_JIS has no code for.
pub fn first_not_shift_jis(s: &str) -> Option<char> {
    let (_, _, lossy) = encoding_rs::SHIFT_JIS.encode(s);
    if !lossy {
        return None;
    }
    let mut buf = [0u8; 4];
    s.chars()
        .find(|c| encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2)
}

/// The xlsx file: one sheet, the same columns, serials and profiles as
/// text, times as JST date-times; frozen header, autofilter.
pub fn xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, ExportError> {
    let f = listing::Formats::new();
    let mut wb = Workbook::new();
    wb.set_properties(&DocProperties::new().set_title("mailra cert export"));
    let ws = wb.add_worksheet();
    ws.set_name("証明書 certificates")?;
    let cells = rows.iter().map(|r| {
        vec![
            Cell::id(&r.serial),
            Cell::id(&r.serial_decimal),
            Cell::text(r.status),
            Cell::opt_id(r.profile.map(|p| p.to_string())),
            Cell::text(r.kind),
            Cell::text(&r.subject),
            Cell::text(&r.institution),
            Cell::Time(r.not_before),
            Cell::Time(r.not_after),
            Cell::text(&r.admin_mail),
            Cell::opt(r.user_mail.as_deref()),
            Cell::opt_id(r.renewed_from.as_deref()),
        ]
    });
    listing::sheet(ws, &COLUMNS, cells, &f, &mut || {})?;
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn row(subject: &str) -> ExportRow {
        ExportRow {
            serial: "0x0A".into(),
            serial_decimal: "10".into(),
            status: "valid",
            profile: Some(3),
            kind: "server",
            subject: subject.into(),
            institution: "国立大学".into(),
            not_before: datetime!(2026-04-01 00:00 UTC),
            not_after: datetime!(2027-04-30 15:00 UTC),
            admin_mail: "a@example.ac.jp".into(),
            user_mail: None,
            renewed_from: None,
        }
    }

    #[test]
    fn shift_jis_refuses_what_it_cannot_hold() {
        for (subject, refused) in [
            ("CN=www.example.ac.jp,O=国立大学", None),
            // Shift_JIS as Windows writes it (encoding_rs: WHATWG, i.e.
            // Windows-31J) has the IBM extensions.
            ("CN=髙橋", None),
            ("CN=José", Some('é')),
            ("CN=🙂 smile", Some('🙂')),
            ("CN=ｶﾅ①", None),
        ] {
            let got = tsv(&[row(subject)], TextEncoding::ShiftJis);
            match refused {
                None => {
                    let bytes = got.unwrap();
                    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
                    assert!(!bad, "{subject}");
                    assert!(text.contains(subject), "{subject}: {text}");
                }
                Some(ch) => match got {
                    Err(ExportError::NotShiftJis {
                        ch: c,
                        serial,
                        column,
                        ..
                    }) => {
                        assert_eq!((c, serial.as_str()), (ch, "0x0A"), "{subject}");
                        assert!(column.contains("subject"), "{column}");
                    }
                    other => panic!("{subject}: {other:?}"),
                },
            }
            // UTF-8 holds every one of them.
            let utf8 = tsv(&[row(subject)], TextEncoding::Utf8).unwrap();
            assert!(String::from_utf8(utf8).unwrap().contains(subject));
        }
    }

    #[test]
    fn a_tab_or_line_break_in_a_value_is_refused() {
        for (subject, refused) in [("CN=a\tb", true), ("CN=a\nb", true), ("CN=a b", false)] {
            let got = tsv(&[row(subject)], TextEncoding::Utf8);
            assert_eq!(
                matches!(got, Err(ExportError::Control { .. })),
                refused,
                "{subject:?}"
            );
        }
    }

    #[test]
    fn times_are_japan_time() {
        let bytes = tsv(&[row("CN=x")], TextEncoding::Utf8).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let line = text.lines().nth(1).unwrap();
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), COLUMNS.len());
        assert_eq!((f[7], f[8]), ("2026-04-01 09:00:00", "2027-05-01 00:00:00"));
    }
}
