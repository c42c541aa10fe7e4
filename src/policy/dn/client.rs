//! The DN rules of the client forms (5-4-1/2/3 field 1): `CN,OU…,O,L,ST,C`
//! with OU repeatable (a student number and a department, say, so that two
//! people of the same name get different DNs), one of L and ST optional, and
//! a CN that is a person's name or, for S/MIME, a mail address.

use super::{DnError, MAX_DN_LEN, MAX_O_LEN, MAX_OU_LEN, MAX_ST_L_LEN, ORDER, check_text, types};
use super::{quote_chars, unique};
use crate::model::Dn;

/// CN length: X.509's upper bound for commonName (OpenSSL refuses longer).
pub const MAX_CLIENT_CN_LEN: usize = 64;
/// L length in the client forms.
pub const MAX_CLIENT_L_LEN: usize = 64;

/// The 5-4-1 DN rules on a parsed field-1 DN, independent of the institution
/// (whose O, ST and L [`super::check_registered`] checks). Every broken rule.
pub fn check_client(dn: &Dn) -> Vec<DnError> {
    let mut errs = Vec::new();
    for (ty, _) in &dn.0 {
        if !ORDER.contains(&ty.as_str()) {
            errs.push(DnError::ForbiddenClient(ty.clone()));
        }
    }
    for ty in ["CN", "O", "L", "ST", "C"] {
        let n = dn.0.iter().filter(|(a, _)| a == ty).count();
        if n > 1 {
            errs.push(DnError::Duplicate(ty.to_string()));
        } else if n == 0 && matches!(ty, "CN" | "O" | "C") {
            errs.push(DnError::Missing(ty));
        }
    }
    if dn.get("L").is_none() && dn.get("ST").is_none() {
        errs.push(DnError::NoLocality);
    }
    if errs.is_empty() {
        let rank: Vec<usize> =
            dn.0.iter()
                .filter_map(|(a, _)| ORDER.iter().position(|o| o == a))
                .collect();
        if rank.windows(2).any(|w| w[0] > w[1]) {
            errs.push(DnError::ClientOrder(types(dn)));
        }
    }
    let total: usize = dn.to_string().chars().count();
    if total > MAX_DN_LEN {
        errs.push(DnError::TooLongDn(total));
    }
    for (ty, v) in &dn.0 {
        if v.is_empty() {
            errs.push(DnError::EmptyValue(ty.clone()));
            continue;
        }
        match ty.as_str() {
            "CN" => errs.extend(check_cn(v)),
            "C" if v != "JP" => errs.push(DnError::Country(v.clone())),
            "O" => errs.extend(check_text(ty, v, MAX_O_LEN)),
            "OU" => errs.extend(check_text(ty, v, MAX_OU_LEN)),
            "L" => errs.extend(check_text(ty, v, MAX_CLIENT_L_LEN)),
            "ST" => errs.extend(check_text(ty, v, MAX_ST_L_LEN)),
            _ => {}
        }
    }
    errs
}

/// CN: half-width letters, digits, space and `'(),-./:=@_`, at most 64.
fn check_cn(v: &str) -> Vec<DnError> {
    let mut errs = Vec::new();
    let len = v.chars().count();
    if len > MAX_CLIENT_CN_LEN {
        errs.push(DnError::TooLong {
            attr: "CN".into(),
            len,
            max: MAX_CLIENT_CN_LEN,
        });
    }
    let bad = unique(
        v.chars()
            .filter(|&c| !(c.is_ascii_alphanumeric() || "'(),-./:=@_ ".contains(c))),
    );
    if !bad.is_empty() {
        errs.push(DnError::BadCnChars(quote_chars(&bad)));
    }
    if v.starts_with(' ') || v.ends_with(' ') {
        errs.push(DnError::Spaces { attr: "CN".into() });
    }
    errs
}
