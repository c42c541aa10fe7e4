//! Blank Excel workbooks for the six TSV forms and the code-signing
//! revocation form (`mailra forms template`; the latter in `codesign`).
//!
//! Officers keep their lists in Excel; a workbook whose first sheet has the
//! TSV form's columns in the TSV form's order (13 or 15) maps 1:1 onto TSV
//! rows. This module builds such a workbook: a header row in Japanese and
//! English, every column formatted as text so IDs (serials, profile IDs, PINs,
//! download methods) stay as typed, drop-downs for the coded fields, the
//! header frozen, and a second sheet with one filled example row. Pure: it
//! returns the bytes of the .xlsx.

use rust_xlsxwriter::{
    Color, DataValidation, Format, FormatAlign, FormatBorder, IgnoreError, Workbook, Worksheet,
    XlsxError,
};

use crate::model::{DownloadMethod, FormFamily, FormKind, Profile, RevocationReason};

/// The name of the second sheet (Excel forbids `/` in sheet names).
pub const EXAMPLE_SHEET: &str = "Example (記入例)";

/// Rows of the first sheet that carry the drop-downs (below the header): the
/// largest file a form accepts (1000 records, client method 2).
pub const DATA_ROWS: u32 = 1000;

/// Which drop-down a column carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Free text (or a column that must stay empty).
    None,
    /// Profile IDs of the form's family.
    Profile,
    /// Download methods mailra accepts (1 and 2; 3 is refused).
    DownloadMethod,
    /// Revocation reason codes (0, 1, 3, 4, 5).
    Reason,
}

/// One column of a form: its labels, width and drop-down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub ja: &'static str,
    pub en: &'static str,
    /// Width in Excel character units.
    pub width: f64,
    pub choice: Choice,
}

impl Column {
    /// The header cell: `"サブジェクトDN / Subject DN"`.
    pub fn label(&self) -> String {
        format!("{} / {}", self.ja, self.en)
    }
    /// A column the form wants empty.
    pub fn is_unused(&self) -> bool {
        self.en == EMPTY.en
    }
}

const fn col(ja: &'static str, en: &'static str, width: f64, choice: Choice) -> Column {
    Column {
        ja,
        en,
        width,
        choice,
    }
}

const EMPTY: Column = col("（空欄）", "(leave empty)", 9.0, Choice::None);
const DN: Column = col("サブジェクトDN", "Subject DN", 60.0, Choice::None);
const PROFILE: Column = col("プロファイルID", "Profile ID", 14.0, Choice::Profile);
const METHOD: Column = col(
    "ダウンロード方法",
    "Download method",
    16.0,
    Choice::DownloadMethod,
);
const SERIAL: Column = col("シリアル番号", "Serial number", 24.0, Choice::None);
const REASON: Column = col("失効理由", "Revocation reason", 14.0, Choice::Reason);
const COMMENT: Column = col("失効理由コメント", "Reason comment", 30.0, Choice::None);
const CSR: Column = col("CSR", "CSR (PEM body on one line)", 40.0, Choice::None);
const ADMIN_NAME: Column = col("管理者氏名", "Admin name", 16.0, Choice::None);
const ADMIN_DEPT: Column = col("管理者所属", "Admin department", 24.0, Choice::None);
const ADMIN_MAIL: Column = col("管理者メールアドレス", "Admin mail", 30.0, Choice::None);
const NEW_ADMIN_MAIL: Column = col(
    "新管理者メールアドレス",
    "New admin mail (if changed)",
    30.0,
    Choice::None,
);
const FQDN: Column = col("管理者FQDN", "Admin FQDN (= CN)", 24.0, Choice::None);
const SOFTWARE: Column = col(
    "ソフトウェア名・バージョン",
    "Software name and version",
    24.0,
    Choice::None,
);
const DNS_NAMES: Column = col("dNSName", "dNSName (subjectAltName)", 40.0, Choice::None);
const USER_NAME: Column = col("利用者氏名", "User name", 16.0, Choice::None);
const P12_NAME: Column = col("P12ファイル名", "P12 file name", 20.0, Choice::None);
const USER_DEPT: Column = col("利用者所属", "User department", 24.0, Choice::None);
const USER_MAIL: Column = col("利用者メールアドレス", "User mail", 30.0, Choice::None);
const NEW_USER_MAIL: Column = col(
    "新利用者メールアドレス",
    "New user mail (if changed)",
    30.0,
    Choice::None,
);
const PIN: Column = col("アクセスPIN", "Access PIN", 16.0, Choice::None);

pub mod codesign;

/// The columns of a form, in the TSV form's order (SPEC §4); none for the
/// code-signing form (labelled fields, not columns: see [`codesign`]).
pub fn columns(kind: FormKind) -> Vec<Column> {
    let e = EMPTY;
    match kind {
        FormKind::CodeSignRevoke => Vec::new(),
        FormKind::ServerIssue => vec![
            DN, PROFILE, e, e, e, e, CSR, ADMIN_NAME, ADMIN_DEPT, ADMIN_MAIL, FQDN, SOFTWARE,
            DNS_NAMES,
        ],
        FormKind::ServerRenew => vec![
            DN, PROFILE, e, SERIAL, e, e, CSR, ADMIN_NAME, ADMIN_DEPT, ADMIN_MAIL, FQDN, SOFTWARE,
            DNS_NAMES,
        ],
        FormKind::ServerRevoke => vec![
            DN,
            e,
            e,
            SERIAL,
            REASON,
            COMMENT,
            e,
            e,
            e,
            NEW_ADMIN_MAIL,
            e,
            e,
            e,
        ],
        FormKind::ClientIssue => vec![
            DN, PROFILE, METHOD, e, e, e, e, ADMIN_NAME, ADMIN_DEPT, ADMIN_MAIL, USER_NAME,
            P12_NAME, USER_DEPT, USER_MAIL, PIN,
        ],
        FormKind::ClientRenew => vec![
            DN, PROFILE, METHOD, SERIAL, e, e, e, ADMIN_NAME, ADMIN_DEPT, ADMIN_MAIL, USER_NAME,
            P12_NAME, USER_DEPT, USER_MAIL, PIN,
        ],
        FormKind::ClientRevoke => vec![
            DN,
            e,
            e,
            SERIAL,
            REASON,
            COMMENT,
            e,
            e,
            e,
            NEW_ADMIN_MAIL,
            e,
            e,
            e,
            NEW_USER_MAIL,
            e,
        ],
    }
}

/// The values a column's drop-down offers.
pub fn choices(family: FormFamily, choice: Choice) -> Vec<String> {
    match choice {
        Choice::None => Vec::new(),
        Choice::Profile => Profile::ALL
            .into_iter()
            .filter(|p| p.family() == family)
            .map(|p| p.id().to_string())
            .collect(),
        Choice::DownloadMethod => [DownloadMethod::P12Each, DownloadMethod::P12Bundle]
            .into_iter()
            .map(|m| m.code().to_string())
            .collect(),
        Choice::Reason => RevocationReason::ALL
            .into_iter()
            .map(|r| r.code().to_string())
            .collect(),
    }
}

const DN_EXAMPLE_SERVER: &str =
    "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";
const CSR_EXAMPLE: &str = "(PEM body of the CSR on one line / CSRのPEM本文を1行で)";
const DN_EXAMPLE_CLIENT: &str = "CN=KOKURITSU HANAKO,OU=12345678,OU=Faculty of Informatics,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

/// One filled row of a form, as valid as a row without a real CSR can be.
pub fn example(kind: FormKind) -> Vec<&'static str> {
    let admin = [
        "国立　太郎",
        "学術基盤推進部基盤企画課",
        "taro.kokuritsu@example.ac.jp",
    ];
    let server = |serial: &'static str| {
        let mut row = vec![DN_EXAMPLE_SERVER, "3", "", serial, "", "", CSR_EXAMPLE];
        row.extend(admin);
        row.extend([
            "www.example.ac.jp",
            "Apache httpd 2.4",
            "dNSName=www.example.ac.jp,dNSName=web.example.ac.jp",
        ]);
        row
    };
    let client = |serial: &'static str| {
        let mut row = vec![DN_EXAMPLE_CLIENT, "13", "2", serial, "", "", ""];
        row.extend(admin);
        row.extend([
            "国立　花子",
            "",
            "情報学部",
            "hanako.kokuritsu@example.ac.jp",
            "0012aB#x",
        ]);
        row
    };
    let revoke = |n: usize, comment: &'static str| {
        let mut row = vec![""; n];
        row[3] = "0x0A1B2C3D4E5F";
        row[4] = "4";
        row[5] = comment;
        row
    };
    match kind {
        FormKind::CodeSignRevoke => Vec::new(),
        FormKind::ServerIssue => server(""),
        FormKind::ServerRenew => server("0x112210E261FEC92B"),
        FormKind::ServerRevoke => {
            let mut row = revoke(13, "証明書更新のため");
            row[0] = DN_EXAMPLE_SERVER;
            row
        }
        FormKind::ClientIssue => client(""),
        FormKind::ClientRenew => client("0x112210E261FEC92B"),
        FormKind::ClientRevoke => {
            let mut row = revoke(15, "所属変更のため");
            row[0] = DN_EXAMPLE_CLIENT;
            row[13] = "hanako.kokuritsu@alumni.example.ac.jp";
            row
        }
    }
}

/// Notes under the example row.
fn notes(kind: FormKind) -> Vec<&'static str> {
    let mut notes = vec![
        "1行に1件。列の順序はTSV様式と同じです。（空欄）の列は空のままにしてください。 / One record per row, the columns in the TSV form's order; leave the (leave empty) columns empty.",
        "シリアル番号・プロファイルID・PINなどは文字列として入力してください（先頭の0や長い数字が変わらないように）。 / Type serials, profile IDs and PINs as text, so Excel keeps leading zeros and long numbers.",
    ];
    if columns(kind).contains(&METHOD) {
        notes.push(
            "ダウンロード方法3（ブラウザ個別）は受け付けません。 / Download method 3 (browser) is not accepted.",
        );
    }
    notes
}

/// The blank workbook of a form: the form sheet (header only) and the
/// example sheet. Returns the bytes of the .xlsx file.
pub fn template(kind: FormKind) -> Result<Vec<u8>, XlsxError> {
    if kind == FormKind::CodeSignRevoke {
        return codesign::template();
    }
    filled(kind, &[])
}

/// The form's workbook with `rows` (each the record's fields in the form's
/// column order) filled in below the header, every value a text cell: how
/// the sample workbooks in `samples/` are made. Not for the code-signing
/// form, which is no table of rows.
pub fn filled(kind: FormKind, rows: &[Vec<String>]) -> Result<Vec<u8>, XlsxError> {
    let cols = columns(kind);
    let last = (cols.len() - 1) as u16;
    // Built-in format 49 is Excel's own "Text" (`@`).
    let text = Format::new().set_num_format_index(49);
    let header = text
        .clone()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_border_bottom(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xDDEBF7));
    let header_unused = header.clone().set_background_color(Color::RGB(0xE7E6E6));

    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(kind.code())?;
    write_header(ws, &cols, &text, &header, &header_unused)?;
    ws.set_freeze_panes(1, 0)?;
    for (c, column) in cols.iter().enumerate() {
        let list = choices(kind.family(), column.choice);
        if list.is_empty() {
            continue;
        }
        let v = DataValidation::new()
            .allow_list_strings(&list)?
            .set_input_title(column.ja)?
            .set_input_message(format!("{} / {}", list.join(", "), column.en))?
            .set_error_title(column.label())?
            .set_error_message(format!(
                "{} のいずれか / one of {}",
                list.join(", "),
                list.join(", ")
            ))?;
        ws.add_data_validation(1, c as u16, DATA_ROWS, c as u16, &v)?;
    }
    for (r, fields) in rows.iter().enumerate() {
        for (c, value) in fields.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            ws.write_string_with_format(1 + r as u32, c as u16, value, &text)?;
        }
    }
    ws.ignore_error_range(0, 0, DATA_ROWS, last, IgnoreError::NumberStoredAsText)?;

    let ex = wb.add_worksheet();
    ex.set_name(EXAMPLE_SHEET)?;
    write_header(ex, &cols, &text, &header, &header_unused)?;
    ex.set_freeze_panes(1, 0)?;
    for (c, value) in example(kind).into_iter().enumerate() {
        ex.write_string_with_format(1, c as u16, value, &text)?;
    }
    for (i, note) in notes(kind).into_iter().enumerate() {
        ex.write_string(3 + i as u32, 0, note)?;
    }
    ex.ignore_error_range(0, 0, 2, last, IgnoreError::NumberStoredAsText)?;

    wb.save_to_buffer()
}

fn write_header(
    ws: &mut Worksheet,
    cols: &[Column],
    text: &Format,
    header: &Format,
    header_unused: &Format,
) -> Result<(), XlsxError> {
    for (c, column) in cols.iter().enumerate() {
        let c = c as u16;
        ws.set_column_width(c, column.width)?;
        ws.set_column_format(c, text)?;
        let f = if column.is_unused() {
            header_unused
        } else {
            header
        };
        ws.write_string_with_format(0, c, column.label(), f)?;
    }
    ws.set_row_height(0, 45)?;
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_support {
    use std::io::{Cursor, Read};

    /// The XML of the `n`th worksheet of an .xlsx.
    pub fn sheet_xml(bytes: &[u8], n: usize) -> String {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        zip.by_name(&format!("xl/worksheets/sheet{n}.xml"))
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        xml
    }
}
