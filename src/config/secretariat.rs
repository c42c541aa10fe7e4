//! `[secretariat]`: the members of the secretariat who may command the
//! robot by signed mail (`addresses`) and the CA their signing certificates
//! chain to (`trust_anchor`). That CA is kept apart from the officers' CA:
//! a certificate the officer CA issued never makes a command mail, whatever
//! address it names. Not to be confused with `[robot] secretariat`, the
//! address copied on officers' replies.

use std::path::{Path, PathBuf};

use super::raw::RawSecretariat;

/// The checked `[secretariat]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secretariat {
    /// Lower-case, each once.
    pub addresses: Vec<String>,
    /// PEM: the secretariat CA certificate(s), the only anchors of command mails.
    pub trust_anchor: PathBuf,
}

impl Secretariat {
    /// Whether `addr` may command (compared without case).
    pub fn allows(&self, addr: &str) -> bool {
        self.addresses.iter().any(|a| a.eq_ignore_ascii_case(addr))
    }
}

/// Checks the section, pushing each problem (with file and key) to `problems`.
pub(super) fn check(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    raw: &RawSecretariat,
    robot_address: Option<&str>,
    officer_ca: &Path,
) -> Option<Secretariat> {
    let before = problems.len();
    let mut addresses: Vec<String> = Vec::new();
    match &raw.addresses {
        None => problems.push(format!("{f}: key secretariat.addresses: missing")),
        Some(list) if list.is_empty() => problems.push(format!(
            "{f}: key secretariat.addresses: empty (leave the [secretariat] section out to take no command mail)"
        )),
        Some(list) => {
            for (i, a) in list.iter().enumerate() {
                let key = format!("{f}: key secretariat.addresses[{i}]");
                let lower = a.trim().to_ascii_lowercase();
                if !crate::policy::is_mail_address(&lower) {
                    problems.push(format!("{key}: {a:?} is not a mail address"));
                } else if robot_address.is_some_and(|r| r.eq_ignore_ascii_case(&lower)) {
                    problems.push(format!("{key}: {a:?} is the robot's own address"));
                } else if !addresses.contains(&lower) {
                    addresses.push(lower);
                }
            }
        }
    }
    let trust_anchor = match &raw.trust_anchor {
        None => {
            problems.push(format!("{f}: key secretariat.trust_anchor: missing"));
            PathBuf::new()
        }
        Some(v) => {
            let p = dir.join(v);
            let key = format!("{f}: key secretariat.trust_anchor");
            match std::fs::read(&p) {
                Err(_) => problems.push(format!("{key}: file {} not found", p.display())),
                Ok(pem) => match openssl::x509::X509::stack_from_pem(&pem) {
                    Ok(certs) if !certs.is_empty() => {
                        if shares_a_certificate(&certs, officer_ca) {
                            problems.push(format!(
                                "{key}: {} holds an officer CA certificate; the secretariat's CA must be \
                                 a separate one (an officer must never be able to command)",
                                p.display()
                            ));
                        }
                    }
                    _ => problems.push(format!(
                        "{key}: file {} holds no PEM certificate",
                        p.display()
                    )),
                },
            }
            p
        }
    };
    (problems.len() == before).then_some(Secretariat {
        addresses,
        trust_anchor,
    })
}

/// Whether one of `certs` is also in the officer CA file.
fn shares_a_certificate(certs: &[openssl::x509::X509], officer_ca: &Path) -> bool {
    let Ok(pem) = std::fs::read(officer_ca) else {
        return false;
    };
    let officer = openssl::x509::X509::stack_from_pem(&pem).unwrap_or_default();
    let der = |c: &openssl::x509::X509| c.to_der().unwrap_or_default();
    certs
        .iter()
        .any(|c| officer.iter().any(|o| der(o) == der(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(dir: &Path, name: &str, cn: &str) -> String {
        let ca = crate::ca::new_ca(
            cn,
            "test",
            time::OffsetDateTime::now_utc(),
            30,
            crate::ca::KeyKind::P384,
        )
        .unwrap();
        std::fs::write(dir.join(name), ca.cert.to_pem().unwrap()).unwrap();
        name.to_string()
    }

    #[test]
    fn every_problem_of_the_section_is_reported_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let officer = pem(dir.path(), "officer-ca.pem", "officers");
        let sec = pem(dir.path(), "sec-ca.pem", "secretariat");
        std::fs::write(dir.path().join("junk.pem"), "nothing").unwrap();
        let officer_path = dir.path().join(&officer);
        let raw = |a: Option<Vec<&str>>, t: Option<&str>| RawSecretariat {
            addresses: a.map(|v| v.into_iter().map(str::to_string).collect()),
            trust_anchor: t.map(str::to_string),
        };
        let cases: Vec<(RawSecretariat, Vec<&str>)> = vec![
            (
                raw(
                    Some(vec!["Kanri@Sec.example.jp", "kanri@sec.example.jp"]),
                    Some(&sec),
                ),
                vec![],
            ),
            (
                raw(None, None),
                vec![
                    "secretariat.addresses: missing",
                    "secretariat.trust_anchor: missing",
                ],
            ),
            (
                raw(Some(vec![]), Some(&sec)),
                vec!["secretariat.addresses: empty"],
            ),
            (
                raw(Some(vec!["nobody", "ra@robot.jp"]), Some("absent.pem")),
                vec![
                    "addresses[0]: \"nobody\" is not a mail address",
                    "addresses[1]: \"ra@robot.jp\" is the robot's own address",
                    "absent.pem not found",
                ],
            ),
            (
                raw(Some(vec!["a@b.jp"]), Some("junk.pem")),
                vec!["holds no PEM certificate"],
            ),
            (
                raw(Some(vec!["a@b.jp"]), Some(&officer)),
                vec!["holds an officer CA certificate"],
            ),
        ];
        for (r, expected) in cases {
            let mut problems = vec![];
            let got = check(
                &mut problems,
                "mailra.toml",
                dir.path(),
                &r,
                Some("ra@robot.jp"),
                &officer_path,
            );
            assert_eq!(problems.len(), expected.len(), "{problems:?}");
            for (p, e) in problems.iter().zip(&expected) {
                assert!(p.starts_with("mailra.toml: key secretariat."), "{p}");
                assert!(p.contains(e), "{p} should say {e}");
            }
            if expected.is_empty() {
                let s = got.unwrap();
                assert_eq!(s.addresses, vec!["kanri@sec.example.jp"]);
                assert!(s.allows("KANRI@sec.example.jp") && !s.allows("other@sec.example.jp"));
            } else {
                assert!(got.is_none());
            }
        }
    }
}
