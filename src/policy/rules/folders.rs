//! What a rule may file into: IMAP folder paths (no INBOX, no Quarantine or
//! Maintenance, no `.` that Maildir++ would read as a separator) and IMAP
//! keywords (atoms, no system flags).

use super::{MAINTENANCE, QUARANTINE};

/// An IMAP folder path: names separated by `/`.
pub fn check_folder(f: &str) -> Result<(), String> {
    if f.is_empty() {
        return Err("an empty folder".into());
    }
    if f.starts_with('/') {
        return Err("starts with /: give the path from the top, e.g. \"Processed/Issued\"".into());
    }
    if f.chars().count() > 200 {
        return Err("longer than 200 characters".into());
    }
    if let Some(c) = f.chars().find(|c| c.is_control()) {
        return Err(format!("the control character {c:?} is not printable"));
    }
    if let Some(c) = f.chars().find(|c| matches!(c, '*' | '%' | '\\' | '"')) {
        return Err(format!("{c:?} is not allowed in a folder name"));
    }
    let segments: Vec<&str> = f.split('/').collect();
    for s in &segments {
        if s.is_empty() {
            return Err("an empty folder name between slashes".into());
        }
        if *s == "." || *s == ".." {
            return Err(format!("{s:?} is not a folder name"));
        }
        if s.contains('.') {
            return Err(
                "'.' is not allowed in a folder name (Maildir++ separates folders with it); use / for sub-folders"
                    .into(),
            );
        }
        if s.trim() != *s {
            return Err(format!("{s:?} begins or ends with a space"));
        }
    }
    if segments[0].eq_ignore_ascii_case("INBOX") {
        return Err("filing into INBOX would make the robot read the mail again".into());
    }
    if segments[0].eq_ignore_ascii_case(QUARANTINE) {
        return Err("Quarantine is reserved for mails that could not be processed at all".into());
    }
    if segments[0].eq_ignore_ascii_case(MAINTENANCE) {
        return Err("Maintenance is reserved for mails kept during maintenance mode".into());
    }
    Ok(())
}

/// An IMAP keyword: an atom (RFC 3501) that is not a system flag.
pub fn check_keyword(k: &str) -> Result<(), String> {
    if k.is_empty() {
        return Err("an empty keyword".into());
    }
    if k.starts_with('\\') {
        return Err(format!(
            "{k} is a system flag, not a keyword (\\Seen, \\Flagged, … cannot be set by rules)"
        ));
    }
    if k.len() > 64 {
        return Err(format!("{k:?} is longer than 64 characters"));
    }
    if let Some(c) = k
        .chars()
        .find(|c| !c.is_ascii_graphic() || "(){%*\"\\]".contains(*c))
    {
        return Err(format!(
            "{k:?}: {c:?} is not allowed in an IMAP keyword (letters, digits and -_.$ etc., no spaces)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_keywords() {
        for (f, ok) in [
            ("Processed/Issued", true),
            ("Review", true),
            ("Rejected/Bad Signature", true),
            ("", false),
            ("/Processed", false),
            ("Processed/", false),
            ("a..b", false),
            ("a.b", false),
            ("Quarantine", false),
            ("Maintenance", false),
            ("maintenance/x", false),
            ("inbox", false),
            ("A/*", false),
            ("A\tB", false),
            (" A", false),
        ] {
            assert_eq!(check_folder(f).is_ok(), ok, "{f:?}");
        }
        for (k, ok) in [
            ("mailra-issued", true),
            ("$Important", true),
            ("NonJunk", true),
            ("", false),
            ("\\Seen", false),
            ("a b", false),
            ("a(b", false),
            ("a]", false),
            ("日本", false),
        ] {
            assert_eq!(check_keyword(k).is_ok(), ok, "{k:?}");
        }
    }
}
