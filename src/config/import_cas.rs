//! `[ca] import_cas`: CA certificates whose certificates
//! `mailra registry import-cert` accepts besides the instance's own issuing
//! CAs. The instance holds no key of theirs: revocations of their
//! certificates are recorded and exported (`mailra cert revoked --ca NAME`),
//! not put on a CRL. Each file is named by its stem (`pki/codesign-ca.pem`
//! is `codesign-ca`).

use std::path::{Path, PathBuf};

/// A CA configured for import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportCa {
    /// The file name without extension; what `cert revoked --ca` takes and
    /// the store records.
    pub name: String,
    /// PEM: the CA certificate, intermediates and root as needed.
    pub path: PathBuf,
}

/// Checks every entry, pushing each problem (with file and key) to `problems`.
pub(super) fn check(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    entries: &[String],
) -> Vec<ImportCa> {
    let mut out: Vec<ImportCa> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let key = format!("{f}: key ca.import_cas[{i}]");
        let path = dir.join(e);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.is_empty() || name == "rsa" || name == "ec" {
            problems.push(format!(
                "{key}: {e:?}: the file's name names the CA and must not be empty, \"rsa\" or \"ec\""
            ));
            continue;
        }
        if out.iter().any(|o| o.name == name) {
            problems.push(format!(
                "{key}: {e:?}: another entry is also named {name:?} (CAs are named by file name)"
            ));
            continue;
        }
        match std::fs::read(&path) {
            Err(_) => problems.push(format!("{key}: file {} not found", path.display())),
            Ok(pem) => match openssl::x509::X509::stack_from_pem(&pem) {
                Ok(certs) if !certs.is_empty() => {}
                _ => problems.push(format!(
                    "{key}: file {} holds no PEM certificate",
                    path.display()
                )),
            },
        }
        out.push(ImportCa { name, path });
    }
    out
}
