//! Commands by signed mail (issue 11): what a secretariat member's command
//! mail does, line by line, in the style of debbugs' control@ server. The
//! workflow (`ra::command`) has already checked that the mail is one (its
//! signature, signer and chain) and hands the signed text here; every
//! command runs the same operation as the command line.
//!
//! The body is read line by line: blank lines and quoted (`>`) lines are
//! skipped; reading stops at a signature separator (`--`) or a line
//! `thanks`, `quit`, `stop` or `以上`, and after [`MAX_LINES`] commands.
//! Each command is echoed as `> line` followed by its result; an unknown or
//! malformed line is reported as such and the following lines are still
//! done. [`parse`] is pure (text in, commands out); [`MailCommands`] runs
//! them.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::intake::registry::parse_date;
use crate::ra::command::{Attachment, Commands, Transcript};
use crate::ra::{Env, Outcome};
use crate::store;

use super::{applications, certsearch, maintenance, report, status};

/// The most command lines one mail may carry; the rest is not read.
pub const MAX_LINES: usize = 100;
/// The most certificates a `cert search` lists in the transcript.
pub const MAX_LISTED: usize = 50;
/// The content type of the report's workbook.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One command of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `approve ID`: carry a held application out.
    Approve(i64),
    /// `reject ID reason…`: refuse a held application, telling the officer why.
    Reject { id: i64, reason: String },
    /// `maintenance on [--until TIME] message…`.
    MaintenanceOn {
        until: Option<OffsetDateTime>,
        message: String,
    },
    /// `maintenance off`.
    MaintenanceOff,
    /// `status`.
    Status,
    /// `cert search WORDS…`: the words as `mailra cert search` takes them.
    CertSearch(Vec<String>),
    /// `report FROM TO [--institution NAME]`: JST calendar days.
    Report {
        from: Date,
        to: Date,
        institution: Option<String>,
    },
}

/// The commands of a mail body: each line as written, with its command or
/// why it is not one; `truncated` when lines were left unread past the limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub lines: Vec<(String, Result<Command, String>)>,
    pub truncated: bool,
}

const USAGE: &str = "commands: approve ID | reject ID REASON | maintenance on [--until TIME] MESSAGE | \
                     maintenance off | status | cert search … | report FROM TO [--institution NAME]";

/// Reads a body into its command lines (blank and quoted lines skipped,
/// reading stops at `--`, `thanks`, `quit`, `stop`, `以上`, or the limit).
pub fn parse(body: &str) -> Script {
    let mut script = Script::default();
    for raw in body.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('>') {
            continue;
        }
        if raw.trim_end() == "--" || is_stop(line) {
            break;
        }
        if script.lines.len() == MAX_LINES {
            script.truncated = true;
            break;
        }
        script.lines.push((clip(line), parse_line(line)));
    }
    script
}

fn is_stop(line: &str) -> bool {
    let l = line.trim_end_matches(['.', '。', '!']).to_lowercase();
    matches!(
        l.as_str(),
        "thanks" | "thank you" | "quit" | "stop" | "以上"
    )
}

/// A line as echoed: at most 200 characters.
fn clip(line: &str) -> String {
    if line.chars().count() <= 200 {
        return line.to_string();
    }
    format!("{}…", line.chars().take(200).collect::<String>())
}

/// One command line (not blank, not quoted) into its command.
pub fn parse_line(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Err("empty line".into());
    };
    let rest = &words[1..];
    match first.to_ascii_lowercase().as_str() {
        "approve" => match rest {
            [id] => Ok(Command::Approve(mail_id(id)?)),
            _ => Err("usage: approve ID".into()),
        },
        "reject" => match rest {
            [] => Err("usage: reject ID REASON".into()),
            [id, reason @ ..] => {
                let id = mail_id(id)?;
                if reason.is_empty() {
                    return Err("reject needs a reason for the officer: reject ID REASON".into());
                }
                Ok(Command::Reject {
                    id,
                    reason: reason.join(" "),
                })
            }
        },
        "maintenance" => match rest {
            [on, more @ ..] if on.eq_ignore_ascii_case("on") => maintenance_on(more),
            [off] if off.eq_ignore_ascii_case("off") => Ok(Command::MaintenanceOff),
            _ => Err("usage: maintenance on [--until TIME] MESSAGE | maintenance off".into()),
        },
        "status" => match rest {
            [] => Ok(Command::Status),
            _ => Err("usage: status (no arguments)".into()),
        },
        "cert" => match rest {
            [search, words @ ..] if search.eq_ignore_ascii_case("search") => Ok(
                Command::CertSearch(words.iter().map(|w| w.to_string()).collect()),
            ),
            _ => Err("usage: cert search …".into()),
        },
        "report" => report_spec(rest),
        _ => Err(format!("unknown command {first:?} ({USAGE})")),
    }
}

/// A mail's number, as `review list` shows it (`123` or `#123`).
fn mail_id(word: &str) -> Result<i64, String> {
    word.trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{word:?} is not an application ID (the mail number)"))
}

fn maintenance_on(words: &[&str]) -> Result<Command, String> {
    let (until, message) = match words {
        [flag, time, message @ ..] if *flag == "--until" => (Some(parse_time(time)?), message),
        [flag] if *flag == "--until" => return Err("--until needs a time".into()),
        message => (None, message),
    };
    if message.is_empty() {
        return Err("maintenance on needs the message officers are told".into());
    }
    Ok(Command::MaintenanceOn {
        until,
        message: message.join(" "),
    })
}

/// RFC 3339 (`2026-12-01T09:00:00+09:00`), or `YYYY-MM-DDTHH:MM` in JST.
fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(s, fmt)
        .map(|t| t.assume_offset(time::macros::offset!(+9)))
        .map_err(|_| {
            format!("{s:?} is not a time (2026-12-01T09:00 in JST, or RFC 3339 with an offset)")
        })
}

fn report_spec(words: &[&str]) -> Result<Command, String> {
    let usage = || "usage: report FROM TO [--institution NAME] (dates as YYYY-MM-DD)".to_string();
    let [from, to, more @ ..] = words else {
        return Err(usage());
    };
    let date = |w: &str| parse_date(w).ok_or_else(|| format!("{w:?} is not a date (YYYY-MM-DD)"));
    let (from, to) = (date(from)?, date(to)?);
    if to < from {
        return Err(format!("the range ends ({to}) before it starts ({from})"));
    }
    let institution = match more {
        [] => None,
        [flag, name @ ..] if *flag == "--institution" && !name.is_empty() => Some(name.join(" ")),
        _ => return Err(usage()),
    };
    Ok(Command::Report {
        from,
        to,
        institution,
    })
}

/// The operations layer's [`Commands`]: what `ra::command` obeys.
pub struct MailCommands;

impl Commands for MailCommands {
    fn obey(&self, env: &mut Env, body: &str, actor: &str, now: OffsetDateTime) -> Transcript {
        let script = parse(body);
        let mut t = Transcript::default();
        if script.lines.is_empty() {
            t.text.push_str("No command found in the signed text.\n");
        }
        for (line, cmd) in script.lines {
            let result = match cmd {
                Ok(c) => run(env, c, actor, now, &mut t.attachments),
                Err(why) => Err(format!("not done: {why}")),
            };
            let text = match &result {
                Ok(s) => s.clone(),
                Err(e) => e.clone(),
            };
            let first = text.lines().next().unwrap_or_default();
            let detail = format!(
                "{line} → {}",
                if result.is_ok() {
                    first.to_string()
                } else {
                    format!("failed: {first}")
                }
            );
            if let Err(e) = store::audit(&env.conn, now, actor, "mail-command", None, None, &detail)
            {
                tracing::error!(error = %e, "auditing a mail command");
            }
            t.text
                .push_str(&format!("> {line}\n{}\n\n", text.trim_end()));
        }
        if script.truncated {
            t.text.push_str(&format!(
                "More than {MAX_LINES} command lines: the rest of the mail was not read.\n"
            ));
        }
        t
    }
}

/// Runs one command; its result text, or the error told in the transcript.
fn run(
    env: &mut Env,
    cmd: Command,
    actor: &str,
    now: OffsetDateTime,
    files: &mut Vec<Attachment>,
) -> Result<String, String> {
    let failed = |e: super::OpsError| format!("error: {e}");
    match cmd {
        Command::Approve(id) => applications::approve(env, id, actor, now)
            .map(|o| format!("approved: {}", outcome(&o)))
            .map_err(failed),
        Command::Reject { id, reason } => applications::reject(env, id, &reason, actor, now)
            .map(|o| format!("rejected: {}", outcome(&o)))
            .map_err(failed),
        Command::MaintenanceOn { until, message } => {
            maintenance::on(&env.conn, &message, until, actor, now)
                .map(|s| s.to_string())
                .map_err(failed)
        }
        Command::MaintenanceOff => maintenance::off(&env.conn, actor, now)
            .map(|s| s.to_string())
            .map_err(failed),
        Command::Status => status::status(env, now)
            .map(|s| s.to_string())
            .map_err(failed),
        Command::CertSearch(words) => {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let q = certsearch::CertQuery::from_words(&words).map_err(|e| format!("error: {e}"))?;
            let found = certsearch::search(&env.conn, &q).map_err(failed)?;
            let mut out = format!("{} certificate(s)", found.len());
            for c in found.iter().take(MAX_LISTED) {
                out.push_str(&format!(
                    "\n{} {} {} until {} {} ({})",
                    c.serial, c.status, c.kind, c.not_after, c.subject, c.institution
                ));
            }
            if found.len() > MAX_LISTED {
                out.push_str(&format!(
                    "\n… and {} more (narrow the search, or use `mailra cert export`)",
                    found.len() - MAX_LISTED
                ));
            }
            Ok(out)
        }
        Command::Report {
            from,
            to,
            institution,
        } => {
            let spec = report::ReportSpec {
                from,
                to,
                institution,
            };
            let r = report::build(&env.conn, &spec, &mut |_, _| {}).map_err(failed)?;
            let text = format!(
                "issued {}, renewed {}, revoked {}: attached {}",
                r.issued, r.renewed, r.revoked, r.file_name
            );
            files.push(Attachment {
                file_name: r.file_name,
                content_type: XLSX.into(),
                bytes: r.xlsx,
            });
            Ok(text)
        }
    }
}

/// An approved or rejected mail's outcome, in one line.
fn outcome(o: &Outcome) -> String {
    let mut s = format!("mail #{} {}: {}", o.mail_id, o.verdict.as_str(), o.summary);
    if !o.issued.is_empty() {
        s.push_str(&format!("; issued {}", o.issued.join(" ")));
    }
    if !o.revoked.is_empty() {
        s.push_str(&format!("; revoked {}", o.revoked.join(" ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn each_line_is_its_command_or_why_not() {
        let cases: Vec<(&str, Result<Command, &str>)> = vec![
            ("approve 12", Ok(Command::Approve(12))),
            ("APPROVE #12", Ok(Command::Approve(12))),
            ("approve", Err("usage: approve ID")),
            ("approve 12 13", Err("usage: approve ID")),
            ("approve twelve", Err("is not an application ID")),
            ("approve 0", Err("is not an application ID")),
            (
                "reject 7 重複した申請です",
                Ok(Command::Reject {
                    id: 7,
                    reason: "重複した申請です".into(),
                }),
            ),
            (
                "reject 7 wrong   CN, please resend",
                Ok(Command::Reject {
                    id: 7,
                    reason: "wrong CN, please resend".into(),
                }),
            ),
            ("reject 7", Err("needs a reason")),
            ("reject", Err("usage: reject ID REASON")),
            (
                "maintenance on CA key ceremony",
                Ok(Command::MaintenanceOn {
                    until: None,
                    message: "CA key ceremony".into(),
                }),
            ),
            (
                "maintenance on --until 2026-12-01T09:00 停止中です",
                Ok(Command::MaintenanceOn {
                    until: Some(datetime!(2026-12-01 00:00 UTC)),
                    message: "停止中です".into(),
                }),
            ),
            (
                "maintenance on --until 2026-12-01T09:00:00Z back soon",
                Ok(Command::MaintenanceOn {
                    until: Some(datetime!(2026-12-01 09:00 UTC)),
                    message: "back soon".into(),
                }),
            ),
            ("maintenance on --until tomorrow x", Err("is not a time")),
            ("maintenance on --until", Err("--until needs a time")),
            ("maintenance on", Err("needs the message")),
            ("maintenance off", Ok(Command::MaintenanceOff)),
            ("maintenance off now", Err("usage: maintenance")),
            ("maintenance", Err("usage: maintenance")),
            ("status", Ok(Command::Status)),
            ("status please", Err("usage: status")),
            (
                "cert search --cn www --status valid",
                Ok(Command::CertSearch(vec![
                    "--cn".into(),
                    "www".into(),
                    "--status".into(),
                    "valid".into(),
                ])),
            ),
            ("cert revoke 01", Err("usage: cert search")),
            (
                "report 2026-11-01 2026-11-30",
                Ok(Command::Report {
                    from: date!(2026 - 11 - 01),
                    to: date!(2026 - 11 - 30),
                    institution: None,
                }),
            ),
            (
                "report 2026/11/1 2026-11-30 --institution Example University",
                Ok(Command::Report {
                    from: date!(2026 - 11 - 01),
                    to: date!(2026 - 11 - 30),
                    institution: Some("Example University".into()),
                }),
            ),
            (
                "report 2026-11-30 2026-11-01",
                Err("ends (2026-11-01) before"),
            ),
            ("report 2026-11-01", Err("usage: report")),
            ("report 2026-11-01 2026-11-31", Err("is not a date")),
            (
                "report 2026-11-01 2026-11-30 --institution",
                Err("usage: report"),
            ),
            ("frobnicate 3", Err("unknown command \"frobnicate\"")),
            ("承認 3", Err("unknown command")),
        ];
        for (line, expected) in cases {
            match (parse_line(line), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{line}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{line}: {got}"),
                (got, want) => panic!("{line}: got {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn the_body_is_read_until_a_stop_line_skipping_blank_and_quoted_lines() {
        let lines =
            |body: &str| -> Vec<String> { parse(body).lines.into_iter().map(|(l, _)| l).collect() };
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("status\n\n  approve 3  \r\n", vec!["status", "approve 3"]),
            ("> approve 1\n>> status\nstatus", vec!["status"]),
            (
                "status\n-- \nMember of the secretariat\napprove 3",
                vec!["status"],
            ),
            ("status\n--\napprove 3", vec!["status"]),
            ("status\nthanks\napprove 3", vec!["status"]),
            ("status\nThank you.\napprove 3", vec!["status"]),
            ("status\nquit\napprove 3", vec!["status"]),
            ("status\n以上\napprove 3", vec!["status"]),
            ("status\n以上。\napprove 3", vec!["status"]),
            ("status\nfoo\napprove 3", vec!["status", "foo", "approve 3"]),
            ("", vec![]),
        ];
        for (body, expected) in cases {
            assert_eq!(lines(body), expected, "{body:?}");
        }
    }

    #[test]
    fn lines_past_the_limit_are_not_read() {
        let body = "status\n".repeat(MAX_LINES + 5);
        let s = parse(&body);
        assert_eq!((s.lines.len(), s.truncated), (MAX_LINES, true));
        let s = parse(&"status\n".repeat(MAX_LINES));
        assert_eq!((s.lines.len(), s.truncated), (MAX_LINES, false));
    }
}
