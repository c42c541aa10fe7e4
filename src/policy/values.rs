//! Value rules every form family shares: serial numbers as the forms write
//! them, mail addresses, revocation reasons. They live here, above the
//! families, so that a server row and a client row read the same value the
//! same way and say the same thing about it.

use openssl::bn::BigNum;

use crate::model::{RevocationReason, Serial};
use crate::policy::dn;

/// Mail fields (admin, user) of every form.
pub const MAX_MAIL_LEN: usize = 78;

/// Parses a serial as the forms write it: decimal, or hexadecimal with a `0x`
/// prefix (either case), at most `max` characters (50 in the server forms,
/// 32 in the client forms).
pub fn parse_serial_at_most(s: &str, max: usize) -> Result<Serial, String> {
    if s.is_empty() {
        return Err("is required".into());
    }
    let len = s.chars().count();
    if len > max {
        return Err(format!("is {len} characters, at most {max} allowed"));
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

/// A revocation reason field (5-3-3 and 5-4-3 field 5).
pub fn parse_reason(v: &str) -> Result<RevocationReason, String> {
    if v.is_empty() {
        return Err("is required (0, 1, 3, 4 or 5)".into());
    }
    v.parse::<u8>()
        .ok()
        .and_then(RevocationReason::from_code)
        .ok_or_else(|| {
            format!(
                "must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `{v}`"
            )
        })
}
