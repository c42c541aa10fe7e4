//! The embedded default inbox: a Maildir. New mail is read from `new/`;
//! after processing each mail is *filed*, never deleted: moved into a
//! Maildir++ folder named after its verdict (`.Processed`, `.Rejected`, …),
//! so any mail client pointed at the Maildir shows the robot's work.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("maildir {path}: {source}")]
pub struct MaildirError {
    pub path: String,
    pub source: std::io::Error,
}

fn err(path: &Path) -> impl FnOnce(std::io::Error) -> MaildirError + '_ {
    move |source| MaildirError {
        path: path.display().to_string(),
        source,
    }
}

/// Creates `new/`, `cur/` and `tmp/` if missing.
pub fn ensure(root: &Path) -> Result<(), MaildirError> {
    for d in ["new", "cur", "tmp"] {
        let p = root.join(d);
        std::fs::create_dir_all(&p).map_err(err(&p))?;
    }
    Ok(())
}

/// The mails waiting in `new/`, oldest name first (Maildir names start with the time).
pub fn pending(root: &Path) -> Result<Vec<PathBuf>, MaildirError> {
    let new = root.join("new");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&new).map_err(err(&new))? {
        let e = e.map_err(err(&new))?;
        if e.file_type().map(|t| t.is_file()).unwrap_or(false)
            && !e.file_name().to_string_lossy().starts_with('.')
        {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Delivers a message into `new/` the Maildir way (write to tmp, rename).
pub fn deliver(root: &Path, name: &str, raw: &[u8]) -> Result<PathBuf, MaildirError> {
    ensure(root)?;
    let tmp = root.join("tmp").join(name);
    std::fs::write(&tmp, raw).map_err(err(&tmp))?;
    let dest = root.join("new").join(name);
    std::fs::rename(&tmp, &dest).map_err(err(&dest))?;
    Ok(dest)
}

/// Moves a processed mail into the Maildir++ folder `.{folder}` as seen.
pub fn file_into(root: &Path, mail: &Path, folder: &str) -> Result<PathBuf, MaildirError> {
    let dir = root.join(format!(".{folder}"));
    ensure(&dir)?;
    let name = mail
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or(&name).to_string();
    let dest = dir.join("cur").join(format!("{base}:2,S"));
    std::fs::rename(mail, &dest).map_err(err(&dest))?;
    Ok(dest)
}

/// The folder a verdict files into.
pub fn folder_for(verdict: &str) -> &'static str {
    match verdict {
        "accepted" | "partial" => "Processed",
        "checked" => "Checked",
        "invalid" => "Invalid",
        "rejected" => "Rejected",
        "duplicate" => "Duplicate",
        "ignored" => "Ignored",
        _ => "Quarantine",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_mail_is_pending_then_filed_not_lost() {
        let d = tempfile::tempdir().unwrap();
        deliver(d.path(), "2-b", b"two").unwrap();
        deliver(d.path(), "1-a", b"one").unwrap();
        let p = pending(d.path()).unwrap();
        assert_eq!(
            p.iter()
                .map(|p| p.file_name().unwrap().to_str().unwrap())
                .collect::<Vec<_>>(),
            ["1-a", "2-b"]
        );
        let filed = file_into(d.path(), &p[0], folder_for("rejected")).unwrap();
        assert_eq!(std::fs::read(&filed).unwrap(), b"one");
        assert!(filed.ends_with(".Rejected/cur/1-a:2,S"));
        assert_eq!(pending(d.path()).unwrap().len(), 1);
    }
}
