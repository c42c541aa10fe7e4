//! The client forms' fields (5-4-1/2/3): their names and limits, and the
//! value rules only these forms have (access PIN, P12 file name).

use crate::intake::application::CellRule::{self, Code, Free, Id};
use crate::model::FormKind;
use crate::policy::dn::{quote_chars, unique};

/// Fields per record of every client form.
pub const FIELDS: usize = 15;
/// Records per client-form file.
pub const MAX_RECORDS: usize = 99;
/// Records per client issuance or renewal file with download method 2 (P12一括).
pub const MAX_RECORDS_BUNDLE: usize = 1000;
/// Admin and user name and department fields (8, 9, 11, 13).
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_P12_NAME_LEN: usize = 64;
pub const MAX_COMMENT_LEN: usize = 128;
/// Field 4 of 5-4-2 and 5-4-3.
pub const MAX_SERIAL_LEN: usize = 32;
pub const MIN_PIN_LEN: usize = 6;
pub const MAX_PIN_LEN: usize = 36;
/// The symbols an officer's access PIN may contain besides letters and digits.
pub const PIN_SYMBOLS: &str = "!#$%&*+,-./:;=?@^_`|~(){}[]<>";
/// The symbols a P12 file name may contain besides letters, digits and space.
pub const P12_NAME_SYMBOLS: &str = "'(),-.=";

/// How each field of every client form takes a workbook cell that is not
/// text (`intake::sheet`): the profile ID (2), download method (3) and
/// reason code (5) are codes; the serial (4), the P12 file name (12, it may
/// be a number with leading zeros, such as a student number) and the access
/// PIN (15) identifiers that only a text cell carries intact; the rest free
/// text.
pub const CELL_RULES: [CellRule; FIELDS] = [
    Free,
    Code,
    Code,
    Id("serial"),
    Code,
    Free,
    Free,
    Free,
    Free,
    Free,
    Free,
    Id("P12 file name"),
    Free,
    Free,
    Id("PIN"),
];

/// English field names of the client forms (seed names translated).
pub(super) fn field_name(kind: Option<FormKind>, n: usize) -> &'static str {
    match (kind, n) {
        (_, 1) => "subject DN",
        (Some(FormKind::ClientRevoke) | None, 4) => "serial",
        (Some(FormKind::ClientRevoke) | None, 5) => "reason",
        (Some(FormKind::ClientRevoke) | None, 6) => "reason comment",
        (Some(FormKind::ClientRevoke), 10) => "new admin mail",
        (Some(FormKind::ClientRevoke), 14) => "new user mail",
        (Some(FormKind::ClientRevoke), _) => "unused",
        (_, 2) => "profile ID",
        (_, 3) => "download method",
        (Some(FormKind::ClientRenew), 4) => "serial",
        (_, 8) => "admin name",
        (_, 9) => "admin dept",
        (_, 10) => "admin mail",
        (_, 11) => "user name",
        (_, 12) => "P12 file name",
        (_, 13) => "user dept",
        (_, 14) => "user mail",
        (_, 15) => "access PIN",
        _ => "unused",
    }
}

/// Field 15: 6–36 half-width characters from letters, digits and [`PIN_SYMBOLS`]
/// (never space, `\`, `'` or `"`: they break when the PIN is typed or quoted).
pub fn check_pin(s: &str) -> Result<(), String> {
    let bad = unique(
        s.chars()
            .filter(|&c| !(c.is_ascii_alphanumeric() || PIN_SYMBOLS.contains(c))),
    );
    if !bad.is_empty() {
        return Err(format!(
            "may contain only half-width letters, digits and {PIN_SYMBOLS} (never space, \\, ' or \"), not {}",
            quote_chars(&bad)
        ));
    }
    let len = s.chars().count();
    if !(MIN_PIN_LEN..=MAX_PIN_LEN).contains(&len) {
        return Err(format!(
            "is {len} characters, {MIN_PIN_LEN} to {MAX_PIN_LEN} allowed"
        ));
    }
    Ok(())
}

/// Field 12 as written by the officer: at most 64 half-width letters, digits,
/// space and [`P12_NAME_SYMBOLS`].
pub fn check_p12_name(s: &str) -> Result<(), String> {
    let len = s.chars().count();
    if len > MAX_P12_NAME_LEN {
        return Err(format!(
            "is {len} characters, at most {MAX_P12_NAME_LEN} allowed"
        ));
    }
    let bad = unique(
        s.chars()
            .filter(|&c| !(c.is_ascii_alphanumeric() || c == ' ' || P12_NAME_SYMBOLS.contains(c))),
    );
    if !bad.is_empty() {
        return Err(format!(
            "may contain only half-width letters, digits, space and {P12_NAME_SYMBOLS}, not {}",
            quote_chars(&bad)
        ));
    }
    Ok(())
}

/// The P12 file name when field 12 is empty: the CN, with `/` and `:` (allowed
/// in a CN, but a directory separator in a ZIP entry and forbidden in Windows
/// file names) replaced by `_`.
pub fn default_p12_name(cn: &str) -> String {
    cn.replace(['/', ':'], "_")
}
