//! The server forms' fields: their names and limits (the value rules every
//! family shares are in `policy::values`).

use crate::intake::application::CellRule::{self, Code, Free, Id};
use crate::model::{FormKind, RowError, Serial};
use crate::policy::values;
pub use crate::policy::values::{MAX_MAIL_LEN, check_mail};

/// Fields per record of every server form.
pub const FIELDS: usize = 13;
/// Records per server-form file.
pub const MAX_RECORDS: usize = 99;
pub const MAX_CSR_LEN: usize = 2048;
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_SOFTWARE_LEN: usize = 128;
pub const MAX_COMMENT_LEN: usize = 128;
pub const MAX_SERIAL_LEN: usize = 50;
pub const MAX_DNS_NAMES: usize = 8;
pub const MAX_DNS_FIELD_LEN: usize = 250;

/// How each field of every server form takes a workbook cell that is not
/// text (`intake::sheet`): the profile ID (2) and the reason code (5) are
/// codes, the serial (4, in renewal and revocation alike) an identifier that
/// only a text cell carries intact, the rest free text (a number in a field
/// that must stay empty is then refused by the form's own rule).
pub const CELL_RULES: [CellRule; FIELDS] = [
    Free,
    Code,
    Free,
    Id("serial"),
    Code,
    Free,
    Free,
    Free,
    Free,
    Free,
    Free,
    Free,
    Free,
];

/// English field names of the server forms (seed names translated).
pub(super) fn field_name(kind: Option<FormKind>, n: usize) -> &'static str {
    match (kind, n) {
        (_, 1) => "subject DN",
        (Some(FormKind::ServerRevoke), 4) => "serial",
        (Some(FormKind::ServerRevoke), 5) => "reason",
        (Some(FormKind::ServerRevoke), 6) => "reason comment",
        (Some(FormKind::ServerRevoke), 10) => "admin mail",
        (Some(FormKind::ServerRevoke), _) => "unused",
        (_, 2) => "profile ID",
        (Some(FormKind::ServerRenew) | None, 4) => "serial",
        (None, 5) => "reason",
        (None, 6) => "reason comment",
        (_, 7) => "CSR",
        (_, 8) => "admin name",
        (_, 9) => "admin dept",
        (_, 10) => "admin mail",
        (_, 11) => "admin FQDN",
        (_, 12) => "software",
        (_, 13) => "dNSName",
        _ => "unused",
    }
}

pub(super) fn err(
    line: usize,
    kind: Option<FormKind>,
    n: usize,
    rule: impl Into<String>,
) -> RowError {
    RowError {
        line,
        field: Some(n),
        field_name: field_name(kind, n),
        rule: rule.into(),
        ..Default::default()
    }
}

/// Parses a serial as the server forms write it: decimal, or hexadecimal with a
/// `0x` prefix, at most [`MAX_SERIAL_LEN`] characters.
pub fn parse_serial(s: &str) -> Result<Serial, String> {
    values::parse_serial_at_most(s, MAX_SERIAL_LEN)
}
