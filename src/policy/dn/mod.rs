//! Distinguished names of the forms: parsing field 1, the DN rules of 2-1-1
//! (server) and of 5-4-1 (client, in `client`), and comparing against a CSR's subject.
//!
//! Field 1 is written most-specific first (`CN=…,OU=…,O=…,L=…,ST=…,C=JP`). The O value may
//! itself contain commas and `=`, so a comma only separates components when it is followed
//! by a known attribute type and `=`; a value such as `O=Foo, C=Bar` is therefore read as
//! two components, which the rules then reject — an ambiguity no real institution name hits.
//! The CA and the test CSR builders build the X.509 subject with [`Dn::to_x509_name`], so
//! every issued subject goes through the same rules.

use openssl::x509::X509NameRef;
use thiserror::Error;

mod client;
pub use client::{MAX_CLIENT_CN_LEN, MAX_CLIENT_L_LEN, check_client};

use crate::model::Dn;

/// Attribute types the server forms allow, in field-1 order.
pub(super) const ORDER: [&str; 6] = ["CN", "OU", "O", "L", "ST", "C"];

/// Attribute types recognised (to split on and then reject) besides [`ORDER`].
const OTHER_TYPES: [&str; 17] = [
    "E",
    "EMAIL",
    "EMAILADDRESS",
    "S",
    "STREET",
    "DC",
    "UID",
    "SN",
    "SERIALNUMBER",
    "T",
    "TITLE",
    "GN",
    "GIVENNAME",
    "SURNAME",
    "POSTALCODE",
    "BUSINESSCATEGORY",
    "JURISDICTIONC",
];

pub const MAX_DN_LEN: usize = 250;
pub const MAX_O_LEN: usize = 64;
pub const MAX_CN_LEN: usize = 64;
pub const MAX_OU_LEN: usize = 64;
pub const MAX_ST_L_LEN: usize = 128;

/// A broken DN rule; its Display is the rule in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DnError {
    #[error("is required")]
    Empty,
    #[error("is {0} characters, at most {MAX_DN_LEN} allowed")]
    TooLongDn(usize),
    #[error("`{0}` is not of the form TYPE=value")]
    NoEquals(String),
    #[error("attribute type `{0}` is unknown; only CN, OU, O, L, ST and C are allowed")]
    UnknownType(String),
    #[error(
        "attribute {0} is not allowed in a server certificate DN (only CN, OU, O, L, ST and C)"
    )]
    Forbidden(String),
    #[error("{0}= is missing")]
    Missing(&'static str),
    #[error("{0}= appears more than once")]
    Duplicate(String),
    #[error("must be in the order CN,O,L,ST,C (OU allowed between CN and O), not {0}")]
    Order(String),
    #[error("{0}= is empty")]
    EmptyValue(String),
    #[error("{attr}= must not start or end with a space")]
    Spaces { attr: String },
    #[error("{attr}= is {len} characters, at most {max} allowed")]
    TooLong {
        attr: String,
        len: usize,
        max: usize,
    },
    #[error(
        "{attr}= may contain only half-width letters, digits, space and '(),-./:=, not {chars}"
    )]
    BadChars { attr: String, chars: String },
    #[error(
        "attribute {0} is not allowed in a client certificate DN (only CN, OU, O, L, ST and C)"
    )]
    ForbiddenClient(String),
    #[error(
        "must be in the order CN,OU,O,L,ST,C (OU may repeat or be left out, and one of L and ST may be left out), not {0}"
    )]
    ClientOrder(String),
    #[error("L= or ST= is missing: at least one of them is required")]
    NoLocality,
    #[error("CN= may contain only half-width letters, digits, space and '(),-./:=@_, not {0}")]
    BadCnChars(String),
    #[error("C= must be JP, not {0}")]
    Country(String),
    #[error("CN= {0}")]
    Cn(FqdnError),
    #[error("{attr}= must be the registered {what} `{expected}`, not `{found}`")]
    NotRegistered {
        attr: &'static str,
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("CN= {0} is not inside the institution's domains ({1})")]
    OutsideDomains(String, String),
    #[error(
        "the CSR's subject is in the order {0}; it must be C,ST,L,O,(OU),CN or exactly the reverse"
    )]
    CsrOrder(String),
    #[error("must equal the CSR's subject {0}")]
    CsrMismatch(String),
    #[error("the CSR's subject cannot be read: {0}")]
    CsrUnreadable(String),
}

/// What is wrong with a host name (CN, field 11, dNSName).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FqdnError {
    #[error("is empty")]
    Empty,
    #[error("is {len} characters, at most {max} allowed")]
    TooLong { len: usize, max: usize },
    #[error("may contain only half-width letters, digits, '.' and '-', not {0}")]
    BadChars(String),
    #[error("must not start or end with '.' or '-'")]
    Edge,
    #[error("has an empty label (\"..\")")]
    EmptyLabel,
    #[error("has a label longer than 63 characters")]
    LongLabel,
    #[error("has a label starting or ending with '-'")]
    LabelHyphen,
    #[error("must be a fully qualified domain name (with a '.')")]
    NotQualified,
}

/// Splits a field-1 string into components. Attribute types are matched
/// case-insensitively and normalised to upper case (`CN`, `OU`, …).
pub fn parse(s: &str) -> Result<Dn, DnError> {
    if s.trim().is_empty() {
        return Err(DnError::Empty);
    }
    let len = s.chars().count();
    if len > MAX_DN_LEN {
        return Err(DnError::TooLongDn(len));
    }
    let mut starts = vec![0];
    for (i, c) in s.char_indices() {
        if c == ',' && attr_at(&s[i + 1..]).is_some() {
            starts.push(i + 1);
        }
    }
    let mut parts = Vec::with_capacity(starts.len());
    for (k, &st) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(s.len(), |&n| n - 1);
        let comp = &s[st..end];
        let Some((ty, value)) = comp.split_once('=') else {
            return Err(DnError::NoEquals(comp.to_string()));
        };
        let ty = ty.trim().to_ascii_uppercase();
        if !ORDER.contains(&ty.as_str()) && !OTHER_TYPES.contains(&ty.as_str()) {
            return Err(DnError::UnknownType(ty));
        }
        parts.push((ty, value.to_string()));
    }
    Ok(Dn(parts))
}

/// If `rest` starts with `[spaces]TYPE[spaces]=` for a recognised type, that type.
fn attr_at(rest: &str) -> Option<&str> {
    let t = rest.trim_start_matches(' ');
    let (ty, _) = t.split_once('=')?;
    let ty = ty.trim_end_matches(' ');
    let up = ty.to_ascii_uppercase();
    (ORDER.contains(&up.as_str()) || OTHER_TYPES.contains(&up.as_str())).then_some(ty)
}

/// The 2-1-1 rules on a parsed field-1 DN, independent of the institution.
/// Returns every broken rule.
pub fn check_server(dn: &Dn) -> Vec<DnError> {
    let mut errs = Vec::new();
    for (ty, _) in &dn.0 {
        if !ORDER.contains(&ty.as_str()) {
            errs.push(DnError::Forbidden(ty.clone()));
        }
    }
    for ty in ORDER {
        let n = dn.0.iter().filter(|(a, _)| a == ty).count();
        if n > 1 {
            errs.push(DnError::Duplicate(ty.to_string()));
        } else if n == 0 && ty != "OU" {
            errs.push(DnError::Missing(ty));
        }
    }
    if errs.is_empty() {
        let rank: Vec<usize> =
            dn.0.iter()
                .filter_map(|(a, _)| ORDER.iter().position(|o| o == a))
                .collect();
        if rank.windows(2).any(|w| w[0] > w[1]) {
            errs.push(DnError::Order(types(dn)));
        }
    }
    for (ty, v) in &dn.0 {
        if v.is_empty() {
            errs.push(DnError::EmptyValue(ty.clone()));
            continue;
        }
        match ty.as_str() {
            "CN" => {
                if let Err(e) = check_fqdn(v, MAX_CN_LEN) {
                    errs.push(DnError::Cn(e));
                }
            }
            "C" if v != "JP" => errs.push(DnError::Country(v.clone())),
            "O" | "OU" | "L" | "ST" => {
                let max = match ty.as_str() {
                    "O" => MAX_O_LEN,
                    "OU" => MAX_OU_LEN,
                    _ => MAX_ST_L_LEN,
                };
                errs.extend(check_text(ty, v, max));
            }
            _ => {}
        }
    }
    errs
}

/// The rules tying the DN to the institution's registration: O, ST, L verbatim and
/// the CN inside one of its domains.
pub fn check_institution(
    dn: &Dn,
    name: &str,
    st: &str,
    l: &str,
    domains: &[String],
) -> Vec<DnError> {
    let mut errs = check_registered(dn, name, st, l);
    if let Some(cn) = dn.cn()
        && check_fqdn(cn, MAX_CN_LEN).is_ok()
        && !in_domains(cn, domains)
    {
        errs.push(DnError::OutsideDomains(cn.to_string(), domains.join(", ")));
    }
    errs
}

/// O, ST and L, where the DN has them, equal to the institution's registered
/// values (every family; a client DN may leave out one of L and ST).
pub fn check_registered(dn: &Dn, name: &str, st: &str, l: &str) -> Vec<DnError> {
    let mut errs = Vec::new();
    for (attr, what, expected) in [
        ("O", "institution name", name),
        ("ST", "prefecture", st),
        ("L", "locality", l),
    ] {
        if let Some(found) = dn.get(attr)
            && found != expected
        {
            errs.push(DnError::NotRegistered {
                attr,
                what,
                expected: expected.to_string(),
                found: found.to_string(),
            });
        }
    }
    errs
}

/// True if `host` equals or is below one of `domains` (case-insensitive).
pub fn in_domains(host: &str, domains: &[String]) -> bool {
    let h = host.to_ascii_lowercase();
    domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        h == d || h.strip_suffix(&d).is_some_and(|p| p.ends_with('.'))
    })
}

pub(super) fn check_text(ty: &str, v: &str, max: usize) -> Vec<DnError> {
    let mut errs = Vec::new();
    let len = v.chars().count();
    if len > max {
        errs.push(DnError::TooLong {
            attr: ty.to_string(),
            len,
            max,
        });
    }
    let bad: String = unique(
        v.chars()
            .filter(|&c| !(c.is_ascii_alphanumeric() || "'(),-./:= ".contains(c))),
    );
    if !bad.is_empty() {
        errs.push(DnError::BadChars {
            attr: ty.to_string(),
            chars: quote_chars(&bad),
        });
    }
    if v.starts_with(' ') || v.ends_with(' ') {
        errs.push(DnError::Spaces {
            attr: ty.to_string(),
        });
    }
    errs
}

pub(crate) fn unique(it: impl Iterator<Item = char>) -> String {
    let mut s = String::new();
    for c in it {
        if !s.contains(c) {
            s.push(c);
        }
    }
    s
}

pub(crate) fn quote_chars(s: &str) -> String {
    s.chars()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Host-name syntax of the forms: half-width letters, digits, `.` and `-`, not starting
/// or ending with `.` or `-`, no empty labels, at least two labels.
pub fn check_fqdn(s: &str, max: usize) -> Result<(), FqdnError> {
    if s.is_empty() {
        return Err(FqdnError::Empty);
    }
    let len = s.chars().count();
    if len > max {
        return Err(FqdnError::TooLong { len, max });
    }
    let bad = unique(
        s.chars()
            .filter(|&c| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')),
    );
    if !bad.is_empty() {
        return Err(FqdnError::BadChars(quote_chars(&bad)));
    }
    if s.starts_with(['.', '-']) || s.ends_with(['.', '-']) {
        return Err(FqdnError::Edge);
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err(FqdnError::EmptyLabel);
        }
        if label.len() > 63 {
            return Err(FqdnError::LongLabel);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(FqdnError::LabelHyphen);
        }
    }
    if !s.contains('.') {
        return Err(FqdnError::NotQualified);
    }
    Ok(())
}

pub(super) fn types(dn: &Dn) -> String {
    dn.0.iter()
        .map(|(a, _)| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks a CSR subject against field 1: the same components in the same order as
/// field 1 (CN first) or exactly reversed (C first, the usual X.509 order).
pub fn check_csr_subject(field1: &Dn, csr: &X509NameRef) -> Result<(), DnError> {
    let got = Dn::from_x509_name(csr).map_err(|e| DnError::CsrUnreadable(e.to_string()))?;
    let reversed: Vec<_> = got.0.iter().rev().cloned().collect();
    if got == *field1 || reversed == field1.0 {
        return Ok(());
    }
    let mut a = got.0.clone();
    let mut b = field1.0.clone();
    a.sort();
    b.sort();
    if a == b {
        Err(DnError::CsrOrder(types(&got)))
    } else {
        Err(DnError::CsrMismatch(Dn(reversed).to_string()))
    }
}

#[cfg(test)]
mod tests;
