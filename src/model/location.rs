//! Where in a file a row error is: a TSV line and field, or a sheet cell
//! (`Sheet1!G7`), written the way the officer reads it in the file's own
//! program. A leaf so that [`super::RowError`] can print either form.

/// The A1-style name of a 0-based position: `cell_name(6, 6)` is `G7`.
pub fn cell_name(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col as u64 + 1;
    while c > 0 {
        letters.push(char::from(b'A' + ((c - 1) % 26) as u8));
        c = (c - 1) / 26;
    }
    letters.reverse();
    let letters: String = letters.into_iter().collect();
    format!("{letters}{}", row as u64 + 1)
}

/// A sheet name as Excel writes it in a reference: as is when it is made of
/// letters, digits, `_` and `.` and does not start with a digit, otherwise
/// quoted (`'My list'`, an apostrophe doubled).
pub fn sheet_ref(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    if plain {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RowError;

    #[test]
    fn cell_names() {
        let cases = [
            ((0, 0), "A1"),
            ((6, 6), "G7"),
            ((0, 25), "Z1"),
            ((0, 26), "AA1"),
            ((0, 701), "ZZ1"),
            ((0, 702), "AAA1"),
            ((1_048_575, 16_383), "XFD1048576"),
        ];
        for ((r, c), name) in cases {
            assert_eq!(cell_name(r, c), name);
        }
    }

    #[test]
    fn sheet_refs() {
        let cases = [
            ("Sheet1", "Sheet1"),
            ("申請一覧", "申請一覧"),
            ("My list", "'My list'"),
            ("2026", "'2026'"),
            ("Example (記入例)", "'Example (記入例)'"),
            ("Bob's", "'Bob''s'"),
        ];
        for (name, r) in cases {
            assert_eq!(sheet_ref(name), r);
        }
    }

    #[test]
    fn row_errors_read_as_the_officer_finds_them() {
        let e = |line, field: Option<usize>, sheet: Option<&str>| RowError {
            line,
            field,
            field_name: "admin name",
            rule: "is too long".into(),
            sheet: sheet.map(str::to_string),
        };
        let cases = [
            // A TSV file: line and field, exactly as before sheets existed.
            (
                e(7, Some(8), None),
                "line 7: field 8 (admin name): is too long",
            ),
            (e(7, None, None), "line 7: is too long"),
            (e(0, None, None), "file: is too long"),
            // A sheet: the cell, or the row.
            (
                e(7, Some(7), Some("Sheet1")),
                "Sheet1!G7 (admin name): is too long",
            ),
            (e(7, None, Some("Sheet1")), "Sheet1 row 7: is too long"),
            (e(0, None, Some("Sheet1")), "file: is too long"),
            (
                e(12, Some(15), Some("My list")),
                "'My list'!O12 (admin name): is too long",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
    }
}
