//! Reply texts from the templates in `templates/` (built in; an instance may
//! override any of them with a folder of its own).

pub mod annotated;
pub mod bundle;
pub mod cert_export;
pub mod client_notices;
pub mod codesign_notice;
pub mod listing;
pub mod notices;
pub mod reminders;
pub mod renewal_file;
pub mod report;
pub mod table;
pub mod views;
pub mod xlsx_forms;

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

const BUILT_IN: &[(&str, &str)] = &[
    (
        "officer_result",
        include_str!("../../templates/officer_result.txt"),
    ),
    ("rejected", include_str!("../../templates/rejected.txt")),
    ("duplicate", include_str!("../../templates/duplicate.txt")),
    ("held", include_str!("../../templates/held.txt")),
    ("command", include_str!("../../templates/command.txt")),
    (
        "server_issued",
        include_str!("../../templates/server_issued.txt"),
    ),
    (
        "server_revoked",
        include_str!("../../templates/server_revoked.txt"),
    ),
    (
        "renewal_reminder",
        include_str!("../../templates/renewal_reminder.txt"),
    ),
    (
        "expiry_digest",
        include_str!("../../templates/expiry_digest.txt"),
    ),
    ("client_p12", include_str!("../../templates/client_p12.txt")),
    (
        "client_bundle",
        include_str!("../../templates/client_bundle.txt"),
    ),
    ("client_pin", include_str!("../../templates/client_pin.txt")),
    (
        "client_pin_list",
        include_str!("../../templates/client_pin_list.txt"),
    ),
    (
        "client_revoked",
        include_str!("../../templates/client_revoked.txt"),
    ),
    (
        "codesign_revoked",
        include_str!("../../templates/codesign_revoked.txt"),
    ),
    (
        "maintenance",
        include_str!("../../templates/maintenance.txt"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {source}")]
    Template {
        name: String,
        source: minijinja::Error,
    },
    #[error("template {name}: the first line must be `Subject: …` followed by an empty line")]
    NoSubject { name: String },
    #[error("template folder {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub struct Renderer {
    env: Environment<'static>,
}

/// A rendered mail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub subject: String,
    pub body: String,
}

impl Renderer {
    /// Built-in templates, overridden by `NAME.txt` files of `dir` if given.
    /// Every template is compiled here, so a broken override fails at start-up.
    pub fn new(dir: Option<&Path>) -> Result<Renderer, RenderError> {
        let mut env = Environment::new();
        for (name, built_in) in BUILT_IN {
            let text = match dir.map(|d| d.join(format!("{name}.txt"))) {
                Some(p) if p.is_file() => {
                    std::fs::read_to_string(&p).map_err(|source| RenderError::Io {
                        path: p.display().to_string(),
                        source,
                    })?
                }
                _ => built_in.to_string(),
            };
            if !text.starts_with("Subject: ") {
                return Err(RenderError::NoSubject {
                    name: name.to_string(),
                });
            }
            env.add_template_owned(name.to_string(), text)
                .map_err(|source| RenderError::Template {
                    name: name.to_string(),
                    source,
                })?;
        }
        Ok(Renderer { env })
    }

    pub fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<Text, RenderError> {
        let err = |source| RenderError::Template {
            name: name.to_string(),
            source,
        };
        let out = self
            .env
            .get_template(name)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(ctx))))
            .map_err(err)?;
        let (first, rest) = out
            .split_once('\n')
            .ok_or_else(|| RenderError::NoSubject { name: name.into() })?;
        let subject = first.trim_start_matches("Subject: ").trim().to_string();
        let body = rest.strip_prefix('\n').unwrap_or(rest);
        Ok(Text {
            subject,
            body: tidy(body),
        })
    }
}

/// Collapses runs of more than one empty line that template conditionals leave.
fn tidy(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut empty = 0;
    for line in body.lines() {
        if line.trim().is_empty() {
            empty += 1;
            if empty > 1 {
                continue;
            }
        } else {
            empty = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_render_with_subject_and_both_languages() {
        let r = Renderer::new(None).unwrap();
        let t = r
            .render(
                "rejected",
                &minijinja::context! { check => "signature", check_ja => "署名", reason => "bad", received => "now", robot => "ra@x.jp" },
            )
            .unwrap();
        assert_eq!(
            t.subject,
            "申請メール不受理 / Application mail not accepted (signature)"
        );
        assert!(t.body.contains("理由: 署名") && t.body.contains("Check failed: signature"));
        assert!(!t.body.contains("\n\n\n"));
    }

    #[test]
    fn the_review_texts_render() {
        let r = Renderer::new(None).unwrap();
        let t = r
            .render(
                "rejected",
                &minijinja::context! { check => "review", check_ja => "事務局による確認", reason => "not confirmed", received => "now", robot => "ra@x.jp" },
            )
            .unwrap();
        assert!(
            t.body.contains("事務局で申請内容を確認した結果"),
            "{}",
            t.body
        );
        assert!(t.body.contains("Decided by: the secretariat"), "{}", t.body);
        assert!(
            !t.body.contains("Check failed") && !t.body.contains("再送"),
            "{}",
            t.body
        );
        let t = r
            .render(
                "held",
                &minijinja::context! { officer => "o@x.jp", received => "now", signer => "o@x.jp", message_id => "m", files => Vec::<String>::new(), notes => Vec::<String>::new(), robot => "ra@x.jp" },
            )
            .unwrap();
        assert_eq!(
            t.subject,
            "申請受付(事務局確認待ち) / Application received and held for review"
        );
        assert!(t.body.contains("held for the secretariat's review"));
        assert!(!t.body.contains("\n\n\n"));
    }

    #[test]
    fn the_maintenance_notice_renders_with_and_without_an_end() {
        let r = Renderer::new(None).unwrap();
        let facts = notices::MailFacts {
            received_at: time::macros::datetime!(2026-12-01 00:00 UTC),
            signer: "o@x.jp",
            message_id: Some("<m@x.jp>"),
            robot: "ra@x.jp",
        };
        let end = time::macros::datetime!(2026-12-01 09:30 UTC);
        for (until, shown) in [(Some(end), true), (None, false)] {
            let view =
                notices::MaintenanceNotice::new(&facts, "o@x.jp", "鍵更新 / key renewal", until);
            let t = r.render("maintenance", &view).unwrap();
            assert!(t.subject.contains("maintenance"), "{}", t.subject);
            assert!(t.body.contains("鍵更新 / key renewal") && t.body.contains("o@x.jp 様"));
            assert_eq!(
                t.body.contains("終了予定: 2026-12-01 18:30:00 JST"),
                shown,
                "{}",
                t.body
            );
            assert_eq!(
                t.body.contains("Expected end: 2026-12-01 18:30:00 JST"),
                shown
            );
            assert!(!t.body.contains("\n\n\n"));
        }
    }

    #[test]
    fn a_broken_override_fails_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("duplicate.txt"), "Subject: x\n\n{% if %}").unwrap();
        assert!(matches!(
            Renderer::new(Some(dir.path())),
            Err(RenderError::Template { .. })
        ));
        std::fs::write(dir.path().join("duplicate.txt"), "no subject line").unwrap();
        assert!(matches!(
            Renderer::new(Some(dir.path())),
            Err(RenderError::NoSubject { .. })
        ));
    }
}
