//! Registry import files: the secretariat's list of member institutions and
//! their registration officers, as exported from the registry it already
//! keeps (a spreadsheet saved as TSV or CSV), turned into typed rows.
//!
//! It exists so that a first deployment can register its existing officers
//! with their real registration dates in one step (the shipped rules hold the
//! requests of officers registered in the last days). Pure: bytes in, rows or
//! every error with its line out; whether a row agrees with the registry is
//! decided above (`ops::import`).
//!
//! # Format
//!
//! * Encoding: UTF-8 (with or without a byte-order mark), UTF-16 with a
//!   byte-order mark (Excel's "Unicode text"), or Shift_JIS; detected.
//! * Separator: a tab if the header line has one (TSV), else a comma (CSV).
//!   Fields may be quoted with `"` as spreadsheets do.
//! * The first line names the columns, in any order, in English or Japanese
//!   (case, spaces, `_` and `-` do not matter):
//!
//!   | column          | also accepted                                  | value |
//!   |-----------------|------------------------------------------------|-------|
//!   | `institution`   | `name`, `O`, `機関名`, `機関`                  | registered English name (O=) |
//!   | `st`            | `prefecture`, `都道府県`                       | ST= (romanised prefecture) |
//!   | `l`             | `locality`, `city`, `市区町村`                 | L= (romanised locality) |
//!   | `domains`       | `domain`, `ドメイン`                           | domains, separated by spaces, `;` or `,` |
//!   | `officer`       | `email`, `mail`, `担当者`, `メールアドレス`    | the officer's mail address |
//!   | `registered_on` | `registered`, `registration date`, `登録日`    | `YYYY-MM-DD` (or `YYYY/MM/DD`) |
//!   | `organization_identifier` | `org_id`, `corporate_number`, `法人番号`, `組織識別子` | the organizationIdentifier of its S/MIME certificates: `NTRJP-` + the 13-digit corporate number, or the bare number (read as `NTRJP-` + it) |
//!   | `p12_encryption` | `pkcs12_encryption`, `PKCS12暗号化`, `PKCS#12暗号化`, `P12暗号化` | `compatible` or `modern` (empty: the instance default) |
//!
//!   Only `institution` is required. One row per officer; a row without an
//!   officer registers the institution alone. ST, L, domains, the
//!   organizationIdentifier and the PKCS#12 encryption may be left blank on
//!   further rows of an institution already described.
//! * Blank lines are skipped.

use encoding_rs::{SHIFT_JIS, UTF_8};
use time::{Date, Month};

use crate::model::{P12Encryption, normalize_organization_identifier};

/// The columns of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Institution,
    St,
    L,
    Domains,
    Officer,
    RegisteredOn,
    OrganizationIdentifier,
    P12Encryption,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Institution,
        Column::St,
        Column::L,
        Column::Domains,
        Column::Officer,
        Column::RegisteredOn,
        Column::OrganizationIdentifier,
        Column::P12Encryption,
    ];

    /// What the value is called in messages.
    pub fn label(self) -> &'static str {
        match self {
            Column::Institution => "institution",
            Column::St => "ST",
            Column::L => "L",
            Column::Domains => "domains",
            Column::Officer => "officer",
            Column::RegisteredOn => "registration date",
            Column::OrganizationIdentifier => "organizationIdentifier",
            Column::P12Encryption => "PKCS#12 encryption",
        }
    }

    /// The column's English header name, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Column::Institution => "institution",
            Column::St => "st",
            Column::L => "l",
            Column::Domains => "domains",
            Column::Officer => "officer",
            Column::RegisteredOn => "registered_on",
            Column::OrganizationIdentifier => "organization_identifier",
            Column::P12Encryption => "p12_encryption",
        }
    }

    /// The column a header cell names, if any.
    pub fn from_header(h: &str) -> Option<Column> {
        let key: String = h
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '　'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "institution" | "institutionname" | "name" | "o" | "機関名" | "機関" | "所属機関" => {
                Column::Institution
            }
            "st" | "prefecture" | "stateorprovince" | "都道府県" => Column::St,
            "l" | "locality" | "city" | "市区町村" => Column::L,
            "domains" | "domain" | "ドメイン" | "ドメイン名" => Column::Domains,
            "officer"
            | "officeremail"
            | "officermail"
            | "email"
            | "mail"
            | "担当者"
            | "登録担当者"
            | "メールアドレス"
            | "担当者メールアドレス" => Column::Officer,
            "registeredon" | "registered" | "registrationdate" | "登録日" => {
                Column::RegisteredOn
            }
            "organizationidentifier"
            | "orgid"
            | "organizationid"
            | "corporatenumber"
            | "法人番号"
            | "組織識別子" => Column::OrganizationIdentifier,
            "p12encryption" | "pkcs12encryption" | "pkcs#12encryption" | "p12暗号化"
            | "pkcs12暗号化" | "pkcs#12暗号化" => Column::P12Encryption,
            _ => return None,
        })
    }
}

/// One data row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line number in the file.
    pub line: usize,
    pub institution: String,
    pub st: Option<String>,
    pub l: Option<String>,
    /// Lower case, without a trailing dot, each once.
    pub domains: Vec<String>,
    /// Lower case.
    pub officer: Option<String>,
    pub registered_on: Option<Date>,
    /// As written, except that a bare 13-digit corporate number reads as
    /// `NTRJP-` + it ([`normalize_organization_identifier`]); whether it is
    /// valid is checked above.
    pub organization_identifier: Option<String>,
    pub p12_encryption: Option<P12Encryption>,
}

/// A problem with one line (and column) of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", column.map(|c| format!(", {}", c.name())).unwrap_or_default())]
pub struct ImportError {
    pub line: usize,
    pub column: Option<Column>,
    pub message: String,
}

impl ImportError {
    pub fn new(line: usize, column: Option<Column>, message: impl Into<String>) -> Self {
        ImportError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Parses a whole file: its rows, or every error found.
pub fn parse(bytes: &[u8]) -> Result<Vec<Row>, Vec<ImportError>> {
    let (rows, errors) = read(bytes);
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Parses as much as can be: the well-formed rows and every error, so that
/// the caller can check the rows further and report everything at once.
pub fn read(bytes: &[u8]) -> (Vec<Row>, Vec<ImportError>) {
    let text = match decode(bytes) {
        Ok(t) => t,
        Err(e) => return (Vec::new(), e),
    };
    // csv counts a CRLF's line at the next record; plain LF keeps lines right.
    let text = text.replace("\r\n", "\n");
    let header_line = text.lines().find(|l| !l.trim().is_empty());
    let delimiter = if header_line.is_some_and(|l| l.contains('\t')) {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut columns: Option<Vec<Option<Column>>> = None;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(ImportError::new(line, None, format!("unreadable: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| {
            // A record's position is where reading began, before the blank
            // lines csv skips.
            let blank = text.as_bytes()[p.byte() as usize..]
                .iter()
                .take_while(|b| **b == b'\n')
                .count();
            p.line() as usize + blank
        });
        if record.iter().all(str::is_empty) {
            continue;
        }
        match &columns {
            None => match header(&record, line) {
                Ok(c) => columns = Some(c),
                Err(e) => return (Vec::new(), e),
            },
            Some(cols) => {
                let (r, e) = row(cols, &record, line);
                // A row with a bad field is kept (without that field) so that
                // the checks above it can report its other problems too.
                if let Some(r) = r {
                    rows.push(r);
                }
                errors.extend(e);
            }
        }
    }
    if columns.is_none() {
        errors.push(ImportError::new(1, None, "the file is empty"));
    } else if rows.is_empty() && errors.is_empty() {
        errors.push(ImportError::new(
            1,
            None,
            "the file has a header but no rows",
        ));
    }
    (rows, errors)
}

/// Decodes the file to text: UTF-8 (BOM or not), UTF-16 with a BOM, else
/// Shift_JIS; every line that is neither is an error.
fn decode(bytes: &[u8]) -> Result<String, Vec<ImportError>> {
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_with_bom_removal(bytes);
        if !had_errors {
            return Ok(text.into_owned());
        }
        if enc != UTF_8 {
            return Err(vec![ImportError::new(
                1,
                None,
                format!("the file starts as {} but is not", enc.name()),
            )]);
        }
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // In Shift_JIS, LF never occurs inside a double-byte character.
    let mut out = String::new();
    let mut errors = Vec::new();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        match SHIFT_JIS.decode_without_bom_handling_and_without_replacement(line) {
            Some(s) => out.push_str(&s),
            None => errors.push(ImportError::new(
                i + 1,
                None,
                "the text is neither UTF-8 nor Shift_JIS; save the file as UTF-8 or Shift_JIS",
            )),
        }
        out.push('\n');
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn header(
    record: &csv::StringRecord,
    line: usize,
) -> Result<Vec<Option<Column>>, Vec<ImportError>> {
    let mut errors = Vec::new();
    let mut cols = Vec::new();
    for cell in record.iter() {
        if cell.is_empty() {
            cols.push(None);
            continue;
        }
        match Column::from_header(cell) {
            Some(c) if cols.contains(&Some(c)) => errors.push(ImportError::new(
                line,
                Some(c),
                format!("column {cell:?} appears twice"),
            )),
            Some(c) => cols.push(Some(c)),
            None => errors.push(ImportError::new(
                line,
                None,
                format!(
                    "unknown column {cell:?}; the first line names the columns: {}",
                    Column::ALL.map(Column::name).join(", ")
                ),
            )),
        }
    }
    if errors.is_empty() && !cols.contains(&Some(Column::Institution)) {
        errors.push(ImportError::new(
            line,
            None,
            "the first line must name the columns, among them \"institution\"",
        ));
    }
    if errors.is_empty() {
        Ok(cols)
    } else {
        Err(errors)
    }
}

/// A data row (None without an institution) and its errors.
fn row(
    cols: &[Option<Column>],
    record: &csv::StringRecord,
    line: usize,
) -> (Option<Row>, Vec<ImportError>) {
    let mut errors = Vec::new();
    let mut r = Row {
        line,
        institution: String::new(),
        st: None,
        l: None,
        domains: Vec::new(),
        officer: None,
        registered_on: None,
        organization_identifier: None,
        p12_encryption: None,
    };
    for (i, value) in record.iter().enumerate() {
        let Some(col) = cols.get(i).copied() else {
            if !value.is_empty() {
                errors.push(ImportError::new(
                    line,
                    None,
                    format!(
                        "field {} ({value:?}) has no column in the first line",
                        i + 1
                    ),
                ));
            }
            continue;
        };
        let Some(col) = col else { continue };
        if value.is_empty() {
            continue;
        }
        match col {
            Column::Institution => r.institution = value.to_string(),
            Column::St => r.st = Some(value.to_string()),
            Column::L => r.l = Some(value.to_string()),
            Column::Domains => {
                for d in value.split(|c: char| c.is_whitespace() || c == ';' || c == ',') {
                    let d = d.trim_end_matches('.').to_ascii_lowercase();
                    if !d.is_empty() && !r.domains.contains(&d) {
                        r.domains.push(d);
                    }
                }
            }
            Column::Officer => r.officer = Some(value.to_ascii_lowercase()),
            Column::RegisteredOn => match parse_date(value) {
                Some(d) => r.registered_on = Some(d),
                None => errors.push(ImportError::new(
                    line,
                    Some(col),
                    format!("{value:?} is not a date (YYYY-MM-DD)"),
                )),
            },
            Column::OrganizationIdentifier => {
                r.organization_identifier = Some(normalize_organization_identifier(value));
            }
            Column::P12Encryption => match value.to_ascii_lowercase().parse() {
                Ok(e) => r.p12_encryption = Some(e),
                Err(_) => errors.push(ImportError::new(
                    line,
                    Some(col),
                    format!(
                        "{value:?} is not a PKCS#12 encryption: compatible or modern (leave it empty for the instance default)"
                    ),
                )),
            },
        }
    }
    let has_institution = !r.institution.is_empty();
    if !has_institution {
        errors.push(ImportError::new(
            line,
            Some(Column::Institution),
            "the institution is missing",
        ));
    }
    if r.officer.is_none() && r.registered_on.is_some() {
        errors.push(ImportError::new(
            line,
            Some(Column::RegisteredOn),
            "a registration date without an officer",
        ));
    }
    (has_institution.then_some(r), errors)
}

/// `YYYY-MM-DD` or `YYYY/MM/DD` (month and day may have one digit, as
/// spreadsheets write them).
pub fn parse_date(s: &str) -> Option<Date> {
    let parts: Vec<&str> = s.split(['-', '/']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let digits = |p: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2)) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

#[cfg(test)]
mod tests;
