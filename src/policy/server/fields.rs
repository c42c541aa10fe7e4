//! The server forms' fields: their names and limits, and the value rules
//! other forms share (serial syntax, mail syntax).

use openssl::bn::BigNum;

use crate::model::{FormKind, RowError, Serial};
use crate::policy::dn;

/// Fields per record of every server form.
pub const FIELDS: usize = 13;
/// Records per server-form file.
pub const MAX_RECORDS: usize = 99;
pub const MAX_CSR_LEN: usize = 2048;
pub const MAX_MAIL_LEN: usize = 78;
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_SOFTWARE_LEN: usize = 128;
pub const MAX_COMMENT_LEN: usize = 128;
pub const MAX_SERIAL_LEN: usize = 50;
pub const MAX_DNS_NAMES: usize = 8;
pub const MAX_DNS_FIELD_LEN: usize = 250;

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
    }
}

/// Parses a serial as the forms write it: decimal, or hexadecimal with a `0x` prefix.
pub fn parse_serial(s: &str) -> Result<Serial, String> {
    if s.is_empty() {
        return Err("is required".into());
    }
    let len = s.chars().count();
    if len > MAX_SERIAL_LEN {
        return Err(format!(
            "is {len} characters, at most {MAX_SERIAL_LEN} allowed"
        ));
    }
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    if let Some(h) = hex {
        if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()) {
            let h = if h.len() % 2 == 1 {
                format!("0{h}")
            } else {
                h.to_string()
            };
            if let Ok(b) = hex::decode(h) {
                return Ok(Serial::from_bytes(&b));
            }
        }
    } else if s.chars().all(|c| c.is_ascii_digit())
        && let Ok(bn) = BigNum::from_dec_str(s)
    {
        return Ok(Serial::from_bytes(&bn.to_vec()));
    }
    let hint = if hex.is_none() && s.chars().all(|c| c.is_ascii_hexdigit()) {
        " (hexadecimal needs the 0x prefix)"
    } else {
        ""
    };
    Err(format!(
        "must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `{s}`{hint}"
    ))
}

/// Half-width mail address syntax, at most 78 characters.
pub fn check_mail(s: &str) -> Result<(), String> {
    let len = s.chars().count();
    if len > MAX_MAIL_LEN {
        return Err(format!(
            "is {len} characters, at most {MAX_MAIL_LEN} allowed"
        ));
    }
    if !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be half-width, without spaces".into());
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(format!("`{s}` is not a mail address (no @)"));
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok || dn::check_fqdn(domain, 255).is_err() {
        return Err(format!("`{s}` is not a valid mail address"));
    }
    Ok(())
}
