//! The files that carry generated keys to people (SPEC 5-5, 5-6): the ZIP
//! bundle of download method 2 (P12一括) with its certificate-information
//! file, and the access-PIN files. The seeds name the files but their column
//! lists are cut off; these are mailra's, documented here and in the README.
//!
//! Every text file is TSV, **Shift_JIS** (Windows-31J, as Excel on Japanese
//! Windows reads it), CRLF line ends, one line per certificate, no header
//! line. A character Shift_JIS cannot hold, or a tab or line break inside a
//! field, is an error ([`BundleError`]), never a silent `?`.
//!
//! `client.txt` (in each ZIP, the certificates of that ZIP):
//!
//! | # | column |
//! |---|---|
//! | 1 | serial number, hex (`0x…`, as the forms accept it) |
//! | 2 | serial number, decimal |
//! | 3 | subject DN (`CN=…,OU=…,O=…,L=…,ST=…,C=…`) |
//! | 4 | profile ID (5, 7, 13, 14, 15, 16) |
//! | 5 | notBefore, JST, `YYYY/MM/DD HH:MM:SS` |
//! | 6 | notAfter, JST, `YYYY/MM/DD HH:MM:SS` |
//! | 7 | user mail (empty when the row gave none) |
//! | 8 | P12 file name in the ZIP (`<name>.p12`) |
//!
//! `clientAllPin.txt` (method 2, mailed to the officer, never with the ZIP)
//! and `clientPin.txt` (method 1, one line) have the same columns:
//!
//! | # | column |
//! |---|---|
//! | 1 | P12 file name (`<name>.p12`) |
//! | 2 | serial number, hex (`0x…`) |
//! | 3 | CN |
//! | 4 | access PIN |
//!
//! A bundle too big for one mail (default maximum 20 MB per message, see
//! [`SplitLimit`]) is split into numbered, self-describing parts
//! (`client-bundle-1of3.zip`…): each a complete ZIP with its own P12s, its
//! own `client.txt` listing exactly those, and a ZIP comment saying which
//! part it is; [`part_index`] lists them for the notices.

use std::io::Write as _;

use serde::Serialize;
use time::OffsetDateTime;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::model::{Profile, Serial};

/// The certificate-information file in every bundle.
pub const CLIENT_TXT: &str = "client.txt";
/// The PIN list of a method-2 file.
pub const CLIENT_ALL_PIN_TXT: &str = "clientAllPin.txt";
/// The PIN file of one method-1 certificate.
pub const CLIENT_PIN_TXT: &str = "clientPin.txt";
/// The default maximum size of one mail (bytes, everything included).
pub const DEFAULT_MAX_MESSAGE: usize = 20_000_000;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{file} line {line}: {ch:?} (U+{:04X}) cannot be written in Shift_JIS", *.ch as u32)]
    NotShiftJis {
        file: &'static str,
        line: usize,
        ch: char,
    },
    #[error("{file} line {line}: a tab or line break in {field}")]
    Separator {
        file: &'static str,
        line: usize,
        field: &'static str,
    },
    #[error("bad P12 file name {0:?}")]
    BadName(String),
    #[error("two certificates would be the same file in the ZIP: {first:?} and {second:?}")]
    Collision { first: String, second: String },
    #[error("{name}.p12 ({size} bytes) does not fit in a mail of at most {max} bytes, even alone")]
    TooBig {
        name: String,
        size: usize,
        max: usize,
    },
    #[error("a bundle needs at least one certificate")]
    Empty,
    #[error("writing the ZIP: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// One certificate as `client.txt` describes it.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// The P12 file name without `.p12` (field 12, or the CN).
    pub p12_name: String,
    pub serial: Serial,
    pub subject_dn: String,
    pub profile: Profile,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Empty when the row gave none.
    pub user_mail: String,
}

/// A certificate of a bundle with its PKCS#12.
#[derive(Debug, Clone)]
pub struct BundleEntry {
    pub info: CertInfo,
    pub p12: Vec<u8>,
}

/// One line of a PIN file.
#[derive(Debug, Clone)]
pub struct PinLine {
    /// Without `.p12`.
    pub p12_name: String,
    pub serial: Serial,
    pub cn: String,
    pub pin: String,
}

/// Which PIN file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFile {
    /// Method 1: `clientPin.txt`, one certificate.
    Each,
    /// Method 2: `clientAllPin.txt`, every certificate of the file.
    All,
}

impl PinFile {
    pub fn file_name(self) -> &'static str {
        match self {
            PinFile::Each => CLIENT_PIN_TXT,
            PinFile::All => CLIENT_ALL_PIN_TXT,
        }
    }
}

/// A time as the TSV files show it: JST, `YYYY/MM/DD HH:MM:SS`.
pub fn tsv_time(t: OffsetDateTime) -> String {
    t.to_offset(time::macros::offset!(+9))
        .format(time::macros::format_description!(
            "[year]/[month]/[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// One TSV line (CRLF) of `fields`, in Shift_JIS.
fn sjis_line(
    file: &'static str,
    line: usize,
    fields: &[(&'static str, &str)],
) -> Result<Vec<u8>, BundleError> {
    let mut text = String::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        if value.contains(['\t', '\r', '\n']) {
            return Err(BundleError::Separator {
                file,
                line,
                field: name,
            });
        }
        if i > 0 {
            text.push('\t');
        }
        text.push_str(value);
    }
    text.push_str("\r\n");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    if unmappable {
        let mut buf = [0u8; 4];
        let ch = text
            .chars()
            .find(|c| encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2)
            .unwrap_or('\u{FFFD}');
        return Err(BundleError::NotShiftJis { file, line, ch });
    }
    Ok(bytes.into_owned())
}

fn client_line(line: usize, c: &CertInfo) -> Result<Vec<u8>, BundleError> {
    let profile = c.profile.id().to_string();
    let p12 = format!("{}.p12", c.p12_name);
    sjis_line(
        CLIENT_TXT,
        line,
        &[
            ("the serial", &c.serial.to_string()),
            ("the serial", &c.serial.to_decimal()),
            ("the subject DN", &c.subject_dn),
            ("the profile", &profile),
            ("notBefore", &tsv_time(c.not_before)),
            ("notAfter", &tsv_time(c.not_after)),
            ("the user mail", &c.user_mail),
            ("the P12 file name", &p12),
        ],
    )
}

/// `client.txt` for these certificates.
pub fn client_txt<'a>(
    certs: impl IntoIterator<Item = &'a CertInfo>,
) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::new();
    for (i, c) in certs.into_iter().enumerate() {
        out.extend(client_line(i + 1, c)?);
    }
    Ok(out)
}

/// A PIN file (`clientPin.txt` or `clientAllPin.txt`) for these lines.
pub fn pin_file(which: PinFile, lines: &[PinLine]) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let p12 = format!("{}.p12", l.p12_name);
        out.extend(sjis_line(
            which.file_name(),
            i + 1,
            &[
                ("the P12 file name", &p12),
                ("the serial", &l.serial.to_string()),
                ("the CN", &l.cn),
                ("the PIN", &l.pin),
            ],
        )?);
    }
    Ok(out)
}

/// Refuses names that are no plain file name, and two certificates that
/// would be one file where names are compared without case (Windows, macOS).
fn check_names(entries: &[BundleEntry]) -> Result<(), BundleError> {
    let mut seen: std::collections::HashMap<String, &str> = Default::default();
    for e in entries {
        let n = e.info.p12_name.as_str();
        if n.is_empty()
            || n.trim() != n
            || n.starts_with('.')
            || n.chars()
                .any(|c| c.is_control() || "/\\:*?\"<>|".contains(c))
        {
            return Err(BundleError::BadName(n.to_string()));
        }
        if let Some(first) = seen.insert(n.to_lowercase(), n) {
            return Err(BundleError::Collision {
                first: format!("{first}.p12"),
                second: format!("{n}.p12"),
            });
        }
    }
    Ok(())
}

fn zip_time(t: OffsetDateTime) -> DateTime {
    let t = t.to_offset(time::macros::offset!(+9));
    DateTime::from_date_and_time(
        t.year().clamp(1980, 2107) as u16,
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default()
}

/// One ZIP: the P12s (deflated) and their `client.txt`, files dated `at`.
pub fn bundle_zip(
    entries: &[BundleEntry],
    at: OffsetDateTime,
    comment: &str,
) -> Result<Vec<u8>, BundleError> {
    if entries.is_empty() {
        return Err(BundleError::Empty);
    }
    check_names(entries)?;
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip_time(at))
        .unix_permissions(0o600);
    let mut z = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for e in entries {
        z.start_file(format!("{}.p12", e.info.p12_name), opts)?;
        z.write_all(&e.p12).map_err(zip::result::ZipError::from)?;
    }
    z.start_file(CLIENT_TXT, opts)?;
    z.write_all(&client_txt(entries.iter().map(|e| &e.info))?)
        .map_err(zip::result::ZipError::from)?;
    z.set_comment(comment)?;
    Ok(z.finish()?.into_inner())
}

/// How big a mail may be, and what besides the ZIP goes into it.
#[derive(Debug, Clone, Copy)]
pub struct SplitLimit {
    /// The largest message the mail system accepts, everything included.
    pub max_message_bytes: usize,
    /// Room kept for what is not the ZIP: header fields, the notice's text
    /// (which lists the part's certificates: ~300 bytes each, so the
    /// default 1 MiB holds a 1000-row list), the signature and its chain.
    pub reserve_bytes: usize,
    /// How many certificates the mail is encrypted to (0: not encrypted).
    pub encrypted_to: usize,
}

impl Default for SplitLimit {
    fn default() -> Self {
        SplitLimit {
            max_message_bytes: DEFAULT_MAX_MESSAGE,
            reserve_bytes: 1024 * 1024,
            encrypted_to: 0,
        }
    }
}

/// base64 with a CRLF after every 76 characters: 57 bytes become 78.
fn base64_size(n: usize) -> usize {
    n.div_ceil(57) * 78
}

impl SplitLimit {
    /// The size of a mail carrying a ZIP of `zip_len` bytes, at most.
    pub fn message_size(&self, zip_len: usize) -> usize {
        let signed = self.reserve_bytes + base64_size(zip_len);
        if self.encrypted_to == 0 {
            signed
        } else {
            // The signed entity, encrypted (a block of padding, the
            // recipient infos), in base64 once more.
            base64_size(signed + 16 + 64 + self.encrypted_to * 600) + 300
        }
    }

    /// The largest ZIP that fits.
    pub fn max_zip(&self) -> usize {
        let (mut lo, mut hi) = (0usize, self.max_message_bytes);
        if self.message_size(0) > self.max_message_bytes {
            return 0;
        }
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.message_size(mid) <= self.max_message_bytes {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }
}

/// One part of a bundle, a complete ZIP.
#[derive(Debug, Clone)]
pub struct BundlePart {
    /// 1-based.
    pub number: usize,
    pub of: usize,
    /// `client-bundle.zip`, or `client-bundle-2of3.zip` when split.
    pub file_name: String,
    pub zip: Vec<u8>,
    /// The P12 files it holds (with `.p12`), in `client.txt` order.
    pub p12_files: Vec<String>,
}

/// An upper bound of what `entry` adds to a ZIP: deflate may grow
/// incompressible data (a P12 is encrypted) by a little; a local header and
/// a central-directory record, each with the name; its `client.txt` line.
fn entry_bound(e: &BundleEntry, line: usize) -> Result<usize, BundleError> {
    let name = e.info.p12_name.len() + 4;
    let txt = client_line(line, &e.info)?.len();
    Ok(e.p12.len() + e.p12.len() / 100 + 64 + 30 + 46 + 2 * (name + 36) + 2 * txt)
}

/// The fixed part of a ZIP: `client.txt`'s headers, the end record, the comment.
const ZIP_FIXED: usize = 2 * (30 + 46 + 10 + 64) + 22 + 200;

/// The bundle of `entries`, in as many parts as the mail size needs (one
/// when it fits), in order; every P12 in exactly one part.
pub fn bundle_parts(
    entries: &[BundleEntry],
    limit: &SplitLimit,
    at: OffsetDateTime,
) -> Result<Vec<BundlePart>, BundleError> {
    if entries.is_empty() {
        return Err(BundleError::Empty);
    }
    check_names(entries)?;
    let max_zip = limit.max_zip();
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let (mut start, mut size) = (0, ZIP_FIXED);
    for (i, e) in entries.iter().enumerate() {
        let add = entry_bound(e, i - start + 1)?;
        if ZIP_FIXED + add > max_zip {
            return Err(BundleError::TooBig {
                name: e.info.p12_name.clone(),
                size: e.p12.len(),
                max: limit.max_message_bytes,
            });
        }
        if size + add > max_zip {
            ranges.push(start..i);
            (start, size) = (i, ZIP_FIXED);
        }
        size += add;
    }
    ranges.push(start..entries.len());
    let of = ranges.len();
    ranges
        .into_iter()
        .enumerate()
        .map(|(k, r)| {
            let number = k + 1;
            let file_name = if of == 1 {
                "client-bundle.zip".to_string()
            } else {
                format!("client-bundle-{number}of{of}.zip")
            };
            let part = &entries[r.clone()];
            let comment = format!(
                "mailra client-certificate bundle, part {number} of {of}: certificates {}-{} of {}",
                r.start + 1,
                r.end,
                entries.len()
            );
            let zip = bundle_zip(part, at, &comment)?;
            debug_assert!(zip.len() <= max_zip, "the bound is an upper bound");
            Ok(BundlePart {
                number,
                of,
                file_name,
                zip,
                p12_files: part
                    .iter()
                    .map(|e| format!("{}.p12", e.info.p12_name))
                    .collect(),
            })
        })
        .collect()
}

/// One part as the notices list it.
#[derive(Debug, Clone, Serialize)]
pub struct PartIndex {
    pub number: usize,
    pub of: usize,
    pub file_name: String,
    pub count: usize,
    pub first: String,
    pub last: String,
    /// The ZIP's size in bytes.
    pub size: usize,
}

/// Every part of a bundle, for the notices ("part 2 of 3: bob.p12 … zoe.p12").
pub fn part_index(parts: &[BundlePart]) -> Vec<PartIndex> {
    parts
        .iter()
        .map(|p| PartIndex {
            number: p.number,
            of: p.of,
            file_name: p.file_name.clone(),
            count: p.p12_files.len(),
            first: p.p12_files.first().cloned().unwrap_or_default(),
            last: p.p12_files.last().cloned().unwrap_or_default(),
            size: p.zip.len(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
