//! The command line: parses arguments and wires components. No logic here
//! beyond choosing what to call and printing what came back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use time::OffsetDateTime;

use crate::config::Config;
use crate::intake::smime;
use crate::model::Serial;
use crate::policy::server as server_policy;
use crate::ra::{self, Env};
use crate::{init, store};

#[derive(Parser)]
#[command(
    name = "mailra",
    version,
    about = "Mail-driven registration-authority robot for an academic certificate service"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct DirArg {
    /// Instance directory (with mailra.toml).
    #[arg(long, env = "MAILRA_DIR", default_value = ".")]
    dir: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a demo instance, fill its inbox with sample mails, process them and show the results.
    Demo {
        /// Where to create the demo instance.
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
    },
    /// Create an instance; material not given is generated.
    Init(Box<init::InitArgs>),
    /// Institutions and officers.
    Registry {
        #[command(subcommand)]
        what: RegistryCmd,
    },
    /// Run the full pipeline on mail files, exactly as the daemon does.
    Process {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object per mail.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        mails: Vec<PathBuf>,
    },
    /// Watch the Maildir inbox and process mail as it arrives (Ctrl-C / SIGTERM to stop).
    Run {
        #[command(flatten)]
        dir: DirArg,
        /// Seconds between looks at the inbox.
        #[arg(long, default_value_t = 2)]
        interval: u64,
        /// Process what is there once, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Report the S/MIME verdict of a mail: signer, chain and every check.
    Verify {
        #[command(flatten)]
        dir: DirArg,
        mail: PathBuf,
        /// Evaluate validity as of this time (RFC 3339), for old mails.
        #[arg(long)]
        at: Option<String>,
    },
    /// Validate an application file offline and print every error.
    Check { file: PathBuf },
    /// Issued certificates.
    Cert {
        #[command(subcommand)]
        what: CertCmd,
    },
    /// The reply queue: replies waiting for SMTP, sent, or dead after too many failures.
    Outbox {
        #[command(subcommand)]
        what: OutboxCmd,
    },
    /// Print the path of each issuing CA's current CRL, regenerating stale ones.
    Crl {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Filing rules.
    Rules {
        #[command(subcommand)]
        what: RulesCmd,
    },
    /// Mails a rule held for the secretariat's review.
    Review {
        #[command(subcommand)]
        what: ReviewCmd,
    },
}

#[derive(Subcommand)]
enum RulesCmd {
    /// Validate the instance's rule files (or the given files) without starting.
    Check {
        #[command(flatten)]
        dir: DirArg,
        /// Rule files to check instead of the instance's rules folder.
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ReviewCmd {
    /// The mails waiting for review.
    List {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object per mail.
        #[arg(long)]
        json: bool,
    },
    /// Carry a held mail out; the officer gets the normal signed result.
    Approve {
        #[command(flatten)]
        dir: DirArg,
        /// The mail number (`review list`).
        id: i64,
        /// Who approves, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Refuse a held mail; the officer gets a signed rejection with the reason.
    Reject {
        #[command(flatten)]
        dir: DirArg,
        id: i64,
        /// The reason, told to the officer.
        #[arg(long)]
        reason: String,
        /// Who rejects, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum RegistryCmd {
    /// Member institutions.
    Institution {
        #[command(subcommand)]
        what: InstitutionCmd,
    },
    /// Registration officers.
    Officer {
        #[command(subcommand)]
        what: OfficerCmd,
    },
}

#[derive(Subcommand)]
enum InstitutionCmd {
    Add {
        #[command(flatten)]
        dir: DirArg,
        /// Registered English name (used as O=).
        #[arg(long)]
        name: String,
        #[arg(long)]
        st: String,
        #[arg(long)]
        l: String,
        /// A registered domain (repeat for several).
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
    },
    List {
        #[command(flatten)]
        dir: DirArg,
    },
    Remove {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum OfficerCmd {
    Add {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        email: String,
        #[arg(long)]
        institution: String,
    },
    List {
        #[command(flatten)]
        dir: DirArg,
    },
    Remove {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum CertCmd {
    List {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        json: bool,
    },
    Show {
        #[command(flatten)]
        dir: DirArg,
        /// Serial, decimal or 0x-hex.
        serial: String,
    },
}

#[derive(Subcommand)]
enum OutboxCmd {
    /// Replies not yet delivered (pending and dead) or with refused recipients;
    /// --all adds the other sent ones.
    List {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        all: bool,
        /// One JSON object per reply.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead reply back in line; it is resent unchanged (same Message-ID).
    Retry {
        #[command(flatten)]
        dir: DirArg,
        id: i64,
    },
}

fn outbox(what: OutboxCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        OutboxCmd::List { dir, all, json } => {
            let conn = open_db(&dir.dir)?;
            let rows: Vec<_> = store::outbox_rows(&conn, None)?
                .into_iter()
                .filter(|r| all || r.status != "sent" || !r.refused.is_empty())
                .collect();
            for r in &rows {
                if json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    println!(
                        "#{:<5} {:<7} tries {:<2} {}  to {}  {}{}",
                        r.id,
                        r.status,
                        r.attempts,
                        r.created_at,
                        r.recipients.join(", "),
                        r.subject,
                        r.last_error
                            .as_deref()
                            .map(|e| format!("\n        last error: {e}"))
                            .unwrap_or_default()
                    );
                    for (addr, error) in &r.refused {
                        println!("        refused {addr}: {error}");
                    }
                }
            }
            if rows.is_empty() && !json {
                println!("nothing waiting in the outbox");
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxCmd::Retry { dir, id } => {
            let conn = open_db(&dir.dir)?;
            store::retry_outbox(&conn, id)?;
            store::audit(
                &conn,
                now,
                "operator",
                "outbox-retry",
                None,
                None,
                &format!("outbox #{id} queued again"),
            )?;
            println!("outbox #{id} queued again; a running `mailra run` sends it within seconds");
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn main() -> ExitCode {
    use std::io::IsTerminal;
    let cli = Cli::parse();
    // The service logs what it does; one-shot commands only what went wrong.
    let default = if matches!(cli.cmd, Cmd::Run { .. }) {
        "warn,mailra=info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAILRA_LOG")
                .unwrap_or_else(|_| default.into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mailra: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn open_env(dir: &Path) -> Result<Env> {
    let cfg = Config::load(dir)?;
    Ok(Env::open(cfg)?)
}

fn open_db(dir: &Path) -> Result<rusqlite::Connection> {
    let cfg = Config::load(dir)?;
    Ok(store::open(&cfg.database)?)
}

/// A serial as officers and operators write it: decimal or `0x`-hex (the form rule).
pub fn parse_serial(s: &str) -> Option<Serial> {
    server_policy::parse_serial(s.trim()).ok()
}

fn run(cli: Cli) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc;
    match cli.cmd {
        Cmd::Demo { dir } => crate::demo::run(&dir).map(|_| ExitCode::SUCCESS),
        Cmd::Init(args) => {
            let dir = init::init(&args, now())?;
            println!("instance created in {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Registry { what } => registry(what, now()),
        Cmd::Process { dir, json, mails } => {
            let mut env = open_env(&dir.dir)?;
            let mut failed = false;
            for m in mails {
                let raw = std::fs::read(&m).with_context(|| format!("reading {}", m.display()))?;
                match ra::process(&mut env, &raw, &m.display().to_string(), now()) {
                    Ok(o) => {
                        // A file given on the command line stays where it is.
                        ra::filed(&env, o.mail_id, "(file)", now())?;
                        print_outcome(&o, json)
                    }
                    Err(e) => {
                        failed = true;
                        eprintln!("{}: internal error: {e}", m.display());
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Cmd::Run {
            dir,
            interval,
            once,
        } => {
            let mut env = open_env(&dir.dir)?;
            crate::daemon::run(
                &mut env,
                std::time::Duration::from_secs(interval.max(1)),
                once,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Verify { dir, mail, at } => {
            let at = match at {
                Some(t) => {
                    OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                        .with_context(|| format!("--at {t:?} is not an RFC 3339 time"))?
                }
                None => now(),
            };
            let env = open_env(&dir.dir)?;
            let raw =
                std::fs::read(&mail).with_context(|| format!("reading {}", mail.display()))?;
            let report = smime::verify(&raw, &env.trust, at);
            print!("{report}");
            let officer = match &report.outcome {
                Ok(v) => store::officer_by_email(&env.conn, &v.signer_email)?,
                Err(_) => None,
            };
            match (&report.outcome, officer) {
                (Ok(v), Some(_)) => {
                    println!("ok    officer: {} is a registered officer", v.signer_email);
                    println!(
                        "verdict: GOOD signature from registered officer {}",
                        v.signer_email
                    );
                    Ok(ExitCode::SUCCESS)
                }
                (Ok(v), None) => {
                    println!(
                        "FAIL  officer: {} is not a registered officer",
                        v.signer_email
                    );
                    println!("verdict: BAD (officer)");
                    Ok(ExitCode::from(1))
                }
                (Err(f), _) => {
                    println!("verdict: BAD ({}): {}", f.check.name(), f.reason);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Cmd::Check { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let checked = server_policy::check_file(
                &bytes,
                &server_policy::Context {
                    institution: None,
                    certs: None,
                    ecdsa_ca: None,
                    reserved_keys: &[],
                },
            );
            let name = file.display();
            for w in &checked.warnings {
                println!("{name}: warning: {w}");
            }
            for e in &checked.errors {
                println!("{name}: {e}");
            }
            let form = checked
                .kind
                .map(|k| format!("{} {}", k.code(), k.label()))
                .unwrap_or_else(|| "form not recognised".into());
            if checked.errors.is_empty() {
                println!("{name}: {form}: {} row(s), no errors", checked.rows.len());
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "{name}: {form}: {} error(s); the file would not be executed",
                    checked.errors.len()
                );
                Ok(ExitCode::from(1))
            }
        }
        Cmd::Cert { what } => cert(what),
        Cmd::Outbox { what } => outbox(what, now()),
        Cmd::Crl { dir } => {
            let mut env = open_env(&dir.dir)?;
            for (_, path) in ra::refresh_crl(&mut env, now())? {
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Rules {
            what: RulesCmd::Check { dir, files },
        } => rules_check(&dir.dir, &files),
        Cmd::Review { what } => review(what, now()),
    }
}

fn rules_check(dir: &Path, files: &[PathBuf]) -> Result<ExitCode> {
    let checked = if files.is_empty() {
        let rules_dir = Config::rules_dir(dir)?;
        ra::load_rules(&rules_dir).map(|(r, source)| {
            let from = match source {
                ra::RulesSource::Files(p) => {
                    format!("{} file(s) in {}", p.len(), rules_dir.display())
                }
                ra::RulesSource::BuiltIn => format!(
                    "the built-in defaults ({} does not exist)",
                    rules_dir.display()
                ),
            };
            (r, from)
        })
    } else {
        ra::load_rule_files(files).map(|r| (r, format!("{} file(s)", files.len())))
    };
    match checked {
        Ok((rules, from)) => {
            println!("{} rule(s) from {from}: no errors", rules.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            for line in &e.errors {
                println!("{line}");
            }
            println!(
                "{} error(s); mailra will not start with these rules",
                e.errors.len()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// The reviewer's name for the audit log.
fn reviewer(by: Option<String>) -> String {
    let who = by
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty());
    match who {
        Some(w) => format!("secretariat ({})", w.trim()),
        None => "secretariat".into(),
    }
}

/// After a review, moves the mail out of the IMAP review folder at once; if
/// the server cannot be reached, the running robot does it at its next pass.
fn refile_in_imap(env: &Env) {
    let Some(imap) = &env.cfg.imap else {
        return;
    };
    let moved = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| Ok(rt.block_on(crate::mail::imap::refile_now(env, imap))?));
    match moved {
        Ok(n) if n > 0 => println!("moved out of the review folder in IMAP"),
        Ok(_) => {}
        Err(e) => eprintln!(
            "note: the mail stays in the review folder until the robot's next pass (IMAP: {e})"
        ),
    }
}

fn review(what: ReviewCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        ReviewCmd::List { dir, json } => {
            let env = open_env(&dir.dir)?;
            let held = ra::review::held(&env)?;
            for m in &held {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": m.id, "received_at": store::ts(m.received_at), "from": m.from_addr,
                            "subject": m.subject, "rule": m.rule, "forms": m.forms, "detail": m.detail,
                            "folder": m.folder, "keywords": m.keywords, "source": m.source,
                        })
                    );
                } else {
                    println!(
                        "#{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        m.id,
                        store::ts(m.received_at),
                        m.from_addr.as_deref().unwrap_or("-"),
                        m.forms.join(","),
                        m.rule.as_deref().unwrap_or("-"),
                        m.subject.as_deref().unwrap_or("-"),
                        m.detail
                    );
                }
            }
            if !json && held.is_empty() {
                println!("no mail is held for review");
            }
        }
        ReviewCmd::Approve { dir, id, by } => {
            let mut env = open_env(&dir.dir)?;
            let o = ra::review::approve(&mut env, id, &reviewer(by), now)?;
            print_outcome(&o, false);
            refile_in_imap(&env);
        }
        ReviewCmd::Reject {
            dir,
            id,
            reason,
            by,
        } => {
            let mut env = open_env(&dir.dir)?;
            let o = ra::review::reject(&mut env, id, &reason, &reviewer(by), now)?;
            print_outcome(&o, false);
            refile_in_imap(&env);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_outcome(o: &ra::Outcome, json: bool) {
    if json {
        println!("{}", serde_json::to_string(o).unwrap_or_default());
        return;
    }
    let mut line = format!("{}: {}", o.source, o.verdict.as_str());
    if let Some(c) = &o.check {
        line.push_str(&format!(" [{c}]"));
    }
    line.push_str(&format!(": {}", o.summary));
    if !o.issued.is_empty() {
        line.push_str(&format!("; issued {}", o.issued.join(" ")));
    }
    if !o.revoked.is_empty() {
        line.push_str(&format!("; revoked {}", o.revoked.join(" ")));
    }
    line.push_str(&format!("; folder {}", o.folder));
    println!("{line}");
    std::io::stdout().flush().ok();
}

fn registry(what: RegistryCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        RegistryCmd::Institution { what } => match what {
            InstitutionCmd::Add {
                dir,
                name,
                st,
                l,
                domains,
            } => {
                let problems =
                    crate::policy::check_institution_registration(&name, &st, &l, &domains);
                if !problems.is_empty() {
                    bail!("{}", problems.join("\n"));
                }
                let conn = open_db(&dir.dir)?;
                store::add_institution(&conn, &name, &st, &l, &domains, now)?;
                println!("institution {name:?} added");
            }
            InstitutionCmd::List { dir } => {
                for i in store::institutions(&open_db(&dir.dir)?)? {
                    println!(
                        "{}\tST={}\tL={}\t{}",
                        i.name,
                        i.st,
                        i.l,
                        i.domains.join(",")
                    );
                }
            }
            InstitutionCmd::Remove { dir, name } => {
                store::remove_institution(&open_db(&dir.dir)?, &name)?;
                println!("institution {name:?} removed");
            }
        },
        RegistryCmd::Officer { what } => match what {
            OfficerCmd::Add {
                dir,
                email,
                institution,
            } => {
                if !crate::policy::is_mail_address(&email) {
                    bail!("{email:?} is not a mail address");
                }
                store::add_officer(&open_db(&dir.dir)?, &email, &institution, now)?;
                println!("officer {email} added to {institution:?}");
            }
            OfficerCmd::List { dir } => {
                for (o, inst) in store::officers(&open_db(&dir.dir)?)? {
                    println!("{}\t{}", o.email, inst);
                }
            }
            OfficerCmd::Remove { dir, email } => {
                store::remove_officer(&open_db(&dir.dir)?, &email, now)?;
                println!("officer {email} removed");
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn cert(what: CertCmd) -> Result<ExitCode> {
    match what {
        CertCmd::List { dir, json } => {
            let conn = open_db(&dir.dir)?;
            let names: std::collections::HashMap<i64, String> = store::institutions(&conn)?
                .into_iter()
                .map(|i| (i.id, i.name))
                .collect();
            for c in store::certificates(&conn)? {
                let status = match c.status {
                    crate::model::CertStatus::Valid => "valid",
                    crate::model::CertStatus::Revoked => "revoked",
                };
                let inst = names.get(&c.institution_id).cloned().unwrap_or_default();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "serial": c.serial.to_string(), "serial_decimal": c.serial.to_decimal(),
                            "status": status, "profile": c.profile.id(), "subject": c.subject_dn,
                            "institution": inst, "not_before": store::ts(c.not_before), "not_after": store::ts(c.not_after),
                            "admin_mail": c.admin_mail, "renewed_from": c.renewed_from.map(|s| s.to_string()),
                            "ca": c.ca.as_str(),
                        })
                    );
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        c.serial,
                        status,
                        store::ts(c.not_after),
                        inst,
                        c.subject_dn
                    );
                }
            }
        }
        CertCmd::Show { dir, serial } => {
            let s = parse_serial(&serial)
                .with_context(|| format!("{serial:?} is not a serial (decimal or 0x-hex)"))?;
            let conn = open_db(&dir.dir)?;
            let Some(c) = store::certificate(&conn, &s)? else {
                bail!("no certificate with serial {s}");
            };
            println!("serial: {} ({})", c.serial, c.serial.to_decimal());
            println!("subject: {}", c.subject_dn);
            println!("profile: {}", c.profile.id());
            println!("issuing CA: {} ({})", c.ca, c.ca.as_str());
            println!(
                "valid: {} to {}",
                store::ts(c.not_before),
                store::ts(c.not_after)
            );
            match store::revocation(&conn, &s)? {
                Some(r) => println!(
                    "status: revoked at {} ({} {})",
                    store::ts(r.revoked_at),
                    r.reason.code(),
                    r.reason.name()
                ),
                None => println!("status: valid"),
            }
            if let Some(r) = &c.renewed_from {
                println!("renews: {r}");
            }
            print!("{}", c.pem);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn serials_in_decimal_and_hex() {
        for (input, hex) in [
            ("0x112210E261FEC92B", Some("112210E261FEC92B")),
            ("0x112210e261fec92b", Some("112210E261FEC92B")),
            // The seed's two examples (5-3-2 field 4) are the same serial.
            ("1234567812345678123", Some("112210E261FEC92B")),
            ("0x", None),
            ("12a", None),
            ("", None),
        ] {
            assert_eq!(
                super::parse_serial(input).map(|s| s.to_hex()),
                hex.map(str::to_string),
                "{input}"
            );
        }
    }
}
