//! The embedded default inbox: a Maildir. New mail is read from `new/`;
//! after processing each mail is *filed*, never deleted: moved into the
//! Maildir++ folder the filing rules chose (`Processed/Issued` is
//! `.Processed.Issued`), so any mail client pointed at the Maildir shows the
//! robot's work.

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

/// The mails waiting in `new/` with the time each arrived (its file's
/// modification time, which the delivery sets), oldest name first; none when
/// the inbox was never made.
pub fn waiting(root: &Path) -> Result<Vec<(PathBuf, time::OffsetDateTime)>, MaildirError> {
    if !root.join("new").is_dir() {
        return Ok(Vec::new());
    }
    pending(root)?
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .map_err(err(&p))?;
            Ok((p, t.into()))
        })
        .collect()
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

/// The Maildir++ folder of an IMAP folder path: `Processed/Issued` →
/// `ROOT/.Processed.Issued` (the rules never put a `.` inside a name).
pub fn folder_dir(root: &Path, folder: &str) -> PathBuf {
    // Dovecot and Courier keep non-ASCII folder names in modified UTF-7 on
    // disk too, so a Maildir they serve shows the same folders.
    root.join(format!(".{}", super::folder_name(folder).replace('/', ".")))
}

/// The name of a mail without its Maildir info suffix (`:2,S`).
fn base_name(name: &str) -> &str {
    name.split(":2,").next().unwrap_or(name)
}

/// Moves a processed mail into the Maildir++ folder of `folder` (an IMAP
/// path), marked seen, creating the folder as needed.
pub fn file_into(root: &Path, mail: &Path, folder: &str) -> Result<PathBuf, MaildirError> {
    let dir = folder_dir(root, folder);
    ensure(&dir)?;
    let name = mail
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dest = dir.join("cur").join(format!("{}:2,S", base_name(&name)));
    std::fs::rename(mail, &dest).map_err(err(&dest))?;
    Ok(dest)
}

/// Moves a mail filed earlier under `name` from folder `from` to folder
/// `to` (a held mail after its review). None when it is not there (it came
/// from elsewhere, or someone moved it).
pub fn refile(
    root: &Path,
    name: &str,
    from: &str,
    to: &str,
) -> Result<Option<PathBuf>, MaildirError> {
    let cur = folder_dir(root, from).join("cur");
    let Ok(entries) = std::fs::read_dir(&cur) else {
        return Ok(None);
    };
    let wanted = base_name(name);
    for e in entries {
        let e = e.map_err(err(&cur))?;
        if base_name(&e.file_name().to_string_lossy()) == wanted {
            return file_into(root, &e.path(), to).map(Some);
        }
    }
    Ok(None)
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
        let filed = file_into(d.path(), &p[0], "Rejected/Unsigned").unwrap();
        assert_eq!(std::fs::read(&filed).unwrap(), b"one");
        assert!(filed.ends_with(".Rejected.Unsigned/cur/1-a:2,S"));
        assert_eq!(pending(d.path()).unwrap().len(), 1);
        // Moved on later (a held mail after review), still not lost.
        let moved = refile(d.path(), "1-a", "Rejected/Unsigned", "Review")
            .unwrap()
            .unwrap();
        assert!(moved.ends_with(".Review/cur/1-a:2,S"));
        assert_eq!(std::fs::read(&moved).unwrap(), b"one");
        assert_eq!(
            refile(d.path(), "1-a", "Rejected/Unsigned", "X").unwrap(),
            None
        );
    }
}
