//! The organizationIdentifier (2.5.4.97) an institution's S/MIME
//! certificates carry: the CA/B Forum S/MIME BRs make S/MIME certificates
//! organization-validated, and SMBR §7.1.4.2.2 (d) gives the value's syntax.
//! For a Japanese institution it is `NTRJP-` and its 13-digit corporate
//! number (法人番号).
//!
//! It lives in `policy` (pure, below `ca` and `ops`) so that the CA's builder
//! and the registry check the same syntax: the CA before it signs
//! ([`check_organization_identifier`]); the registry, more strictly, before it
//! stores a value ([`check_registered`]: a Japanese corporate number must
//! have its 13 digits and a right check digit, so that a mistyped number is
//! caught when it is registered, not found in a certificate later).

/// Checks the syntax of an SMBR §7.1.4.2.2 (d) organizationIdentifier:
/// a registration scheme (`NTR`, `VAT`, `PSD`, `LEI`, `GOV`, `INT`), an ISO
/// 3166 country code (or `XG` for LEI), optionally `+` and a state code of up
/// to three letters or digits, then `-` and the registration reference,
/// e.g. `NTRJP-1234567890123`. Returns why not.
pub fn check_organization_identifier(s: &str) -> Result<(), String> {
    let (head, reference) = s
        .split_once('-')
        .ok_or("needs `-` and the registration reference, e.g. NTRJP-1234567890123")?;
    if reference.is_empty() || !reference.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the registration reference after `-` must be printable ASCII".into());
    }
    let (scheme, rest) = head.split_at_checked(3).ok_or("too short")?;
    if !["NTR", "VAT", "PSD", "LEI", "GOV", "INT"].contains(&scheme) {
        return Err(format!(
            "scheme {scheme:?} is not one of NTR, VAT, PSD, LEI, GOV, INT"
        ));
    }
    let (country, sp) = match rest.split_once('+') {
        Some((c, sp)) => (c, Some(sp)),
        None => (rest, None),
    };
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "country {country:?} must be two upper-case letters (ISO 3166)"
        ));
    }
    if let Some(sp) = sp
        && (sp.is_empty() || sp.len() > 3 || !sp.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(format!(
            "state code {sp:?} must be 1 to 3 letters or digits"
        ));
    }
    Ok(())
}

/// The check digit (the first digit) a Japanese corporate number's other
/// twelve digits call for: 9 − (Σ digitₙ × (1 if n is odd, else 2)) mod 9,
/// n counted from the last digit (国税庁, 法人番号の指定等に関する省令).
fn corporate_number_check_digit(base: &[u8; 12]) -> u8 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 2 })
        .sum();
    // 9 − (0..=8) is 1..=9: always one digit.
    b'0' + 9 - (sum % 9) as u8
}

/// Checks a value before the registry stores it: the SMBR syntax
/// ([`check_organization_identifier`]) and, for `NTRJP-`, a Japanese
/// corporate number: 13 digits with a right check digit. Returns why not,
/// in words the secretariat can act on.
pub fn check_registered(s: &str) -> Result<(), String> {
    check_organization_identifier(s).map_err(|why| {
        format!("{s:?} is not an organizationIdentifier ({why}); for a Japanese institution give NTRJP- and its 13-digit corporate number (法人番号), e.g. NTRJP-9234567890123")
    })?;
    let Some(number) = s.strip_prefix("NTRJP-") else {
        return Ok(());
    };
    let Ok(digits) = <&[u8; 13]>::try_from(number.as_bytes()) else {
        return Err(format!(
            "{s:?}: a corporate number (法人番号) has 13 digits, not {}",
            number.chars().count()
        ));
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!(
            "{s:?}: a corporate number (法人番号) has digits only"
        ));
    }
    let base: &[u8; 12] = digits[1..].try_into().expect("12 of 13");
    let check = corporate_number_check_digit(base);
    if digits[0] != check {
        return Err(format!(
            "{s:?}: {number} is not a corporate number (法人番号): its check digit (the first) should be {} for the other 12 digits; check the number against the National Tax Agency's 法人番号公表サイト",
            check as char
        ));
    }
    Ok(())
}

/// The value to store for what the secretariat wrote (a bare corporate
/// number gets `NTRJP-`); in `model` so that the import file's parser
/// (`intake`, below policy) reads it the same way.
pub use crate::model::normalize_organization_identifier as normalize;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_identifier_syntax() {
        for (s, ok) in [
            ("NTRJP-1234567890123", true),
            ("GOVJP-1000012010001", true),
            ("NTRUS+CA-12345", true),
            ("LEIXG-5493001KJTIIGC8Y1R12", true),
            ("VATDE-123456789", true),
            ("NTRJP1234567890123", false),
            ("NTRJP-", false),
            ("XYZJP-123", false),
            ("NTRjp-123", false),
            ("NTRJPN-123", false),
            ("NTRJP+ABCD-1", false),
            ("NTRJP-12 34", false),
            ("", false),
        ] {
            assert_eq!(check_organization_identifier(s).is_ok(), ok, "{s}");
        }
    }

    #[test]
    fn registered_values() {
        for (s, expected) in [
            // Real corporate numbers (国税庁, 法務省) and the fixtures'.
            ("NTRJP-7000012050002", Ok(())),
            ("NTRJP-1010001000006", Ok(())),
            ("NTRJP-9234567890123", Ok(())),
            ("NTRJP-8234567890124", Ok(())),
            // Other schemes: the SMBR syntax only.
            ("VATDE-123456789", Ok(())),
            (
                "NTRJP-1234567890123",
                Err(
                    "\"NTRJP-1234567890123\": 1234567890123 is not a corporate number (法人番号): its check digit (the first) should be 9 for the other 12 digits; check the number against the National Tax Agency's 法人番号公表サイト",
                ),
            ),
            (
                "NTRJP-123456789012",
                Err("\"NTRJP-123456789012\": a corporate number (法人番号) has 13 digits, not 12"),
            ),
            (
                "NTRJP-923456789012X",
                Err("\"NTRJP-923456789012X\": a corporate number (法人番号) has digits only"),
            ),
            (
                "1234",
                Err(
                    "\"1234\" is not an organizationIdentifier (needs `-` and the registration reference, e.g. NTRJP-1234567890123); for a Japanese institution give NTRJP- and its 13-digit corporate number (法人番号), e.g. NTRJP-9234567890123",
                ),
            ),
        ] {
            assert_eq!(check_registered(s), expected.map_err(String::from), "{s}");
        }
    }

    #[test]
    fn normalized_values() {
        for (s, expected) in [
            ("9234567890123", "NTRJP-9234567890123"),
            (" ９２３４５６７８９０１２３ ", "NTRJP-9234567890123"),
            ("NTRJP-9234567890123", "NTRJP-9234567890123"),
            ("923456789012", "923456789012"),
            ("VATDE-123456789", "VATDE-123456789"),
        ] {
            assert_eq!(normalize(s), expected, "{s:?}");
        }
    }
}
