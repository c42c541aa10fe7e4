//! What a file is, by its first bytes: the name an officer gave it (or a
//! forger chose) decides nothing.

use super::WorkbookError;

/// The container a workbook comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A zip package (`PK\x03\x04`): .xlsx or .xlsm.
    Zip,
    /// A Compound File Binary (`D0 CF 11 E0 A1 B1 1A E1`): an .xls, or an
    /// OOXML workbook encrypted with a password (its `EncryptedPackage`).
    Cfb,
}

const ZIP: &[u8] = b"PK\x03\x04";
const CFB: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The container of `bytes`, or `NotAWorkbook`.
pub fn sniff(bytes: &[u8]) -> Result<Container, WorkbookError> {
    if bytes.starts_with(ZIP) {
        Ok(Container::Zip)
    } else if bytes.starts_with(CFB) {
        Ok(Container::Cfb)
    } else {
        Err(WorkbookError::NotAWorkbook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_by_magic_bytes() {
        let cases: Vec<(&[u8], Result<Container, WorkbookError>)> = vec![
            (b"PK\x03\x04rest", Ok(Container::Zip)),
            (
                &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
                Ok(Container::Cfb),
            ),
            // An empty zip (end of central directory only) holds no workbook.
            (b"PK\x05\x06", Err(WorkbookError::NotAWorkbook)),
            (b"PK\x03", Err(WorkbookError::NotAWorkbook)),
            (&[0xD0, 0xCF, 0x11, 0xE0], Err(WorkbookError::NotAWorkbook)),
            (b"a\tb\tc\n", Err(WorkbookError::NotAWorkbook)),
            (b"%PDF-1.7", Err(WorkbookError::NotAWorkbook)),
            (b"", Err(WorkbookError::NotAWorkbook)),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff(bytes), expected, "{bytes:?}");
        }
    }
}
