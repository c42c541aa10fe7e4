//! The embedded default transport: lettre's file transport, which writes a
//! reply as an `.eml` file into the instance's outbox folder for the
//! operator to hand on. Which replies to write, and recording that they
//! were, is the workflow's business.

use std::path::Path;

use lettre::address::Envelope;
use lettre::{FileTransport, Transport};

/// Writes `raw` (from `from` to `to`) as one `.eml` file in `dir`, created
/// if missing; returns the file's id (its name without `.eml`) or why not.
pub fn write(dir: &Path, from: &str, to: &[String], raw: &[u8]) -> Result<String, String> {
    const BAD: &str = "bad sender or recipient address";
    let from = from.parse().map_err(|_| BAD.to_string())?;
    let to = to
        .iter()
        .map(|r| r.parse())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| BAD.to_string())?;
    let envelope = Envelope::new(Some(from), to).map_err(|_| BAD.to_string())?;
    std::fs::create_dir_all(dir).ok();
    FileTransport::new(dir)
        .send_raw(&envelope, raw)
        .map_err(|e| e.to_string())
}
