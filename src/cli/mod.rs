//! The command line: parses arguments, calls the operations (`ops`, `ra`,
//! `init`, the daemon) and prints what came back — a table for people, one
//! JSON object per line with `--json`. No logic here beyond choosing what to
//! call and printing. A file per command group.

mod applications;
mod audit;
mod cert;
mod check;
mod forms;
mod maintenance;
mod outbox;
mod registry;
mod reminders;
mod report;
mod review;
mod rules;
mod run;
mod status;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use time::OffsetDateTime;

use crate::config::Config;
use crate::ra::{self, Env};
use crate::{init, store};

pub use crate::ops::cert::parse_serial;

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
        what: registry::RegistryCmd,
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
    /// Validate an application file (.tsv, .txt, .xlsx, .xlsm, .xls) offline and print every error.
    Check { file: PathBuf },
    /// Blank Excel workbooks of the application forms.
    Forms {
        #[command(subcommand)]
        what: forms::FormsCmd,
    },
    /// Issued certificates.
    Cert {
        #[command(subcommand)]
        what: cert::CertCmd,
    },
    /// The reply queue: replies waiting for SMTP, sent, or dead after too many failures.
    Outbox {
        #[command(subcommand)]
        what: outbox::OutboxCmd,
    },
    /// Print the path of each issuing CA's current CRL, regenerating stale ones.
    Crl {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Filing rules.
    Rules {
        #[command(subcommand)]
        what: rules::RulesCmd,
    },
    /// Mails a rule held for the secretariat's review.
    Review {
        #[command(subcommand)]
        what: review::ReviewCmd,
    },
    /// Application mails: list, show, approve or reject held ones, delete errored ones.
    Applications {
        #[command(subcommand)]
        what: applications::ApplicationsCmd,
    },
    /// The audit trail: who did what and when.
    Audit(audit::AuditArgs),
    /// Maintenance mode: new mails are kept and processed after it ends.
    Maintenance(maintenance::MaintenanceArgs),
    /// Reminders: 2-2-9 (old certificate not revoked after renewal) and
    /// expiry digests; `mailra run` sends them on its own.
    Reminders {
        #[command(subcommand)]
        what: reminders::RemindersCmd,
    },
    /// The robot's state on one screen; exit status 0 ok, 1 warning, 2 critical.
    Status {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object with every field.
        #[arg(long)]
        json: bool,
    },
    /// Certificates issued, renewed and revoked in a date range (JST days), as xlsx.
    Report(report::ReportArgs),
    /// The sandboxed workbook reader the robot runs as a child process: the
    /// file on stdin, its cells as JSON on stdout (see `ra::workbook`).
    #[command(hide = true)]
    ReadWorkbook {
        /// Address-space limit, in MiB.
        #[arg(long, default_value_t = 1024)]
        memory_mb: u64,
        /// CPU-time limit, in seconds.
        #[arg(long, default_value_t = 10)]
        cpu_seconds: u64,
    },
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
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mailra: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc;
    match cli.cmd {
        Cmd::Demo { dir } => crate::demo::run(&dir).map(|_| ExitCode::SUCCESS),
        Cmd::Init(args) => {
            print!("{}", init::create(&args, now())?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Registry { what } => registry::run(what, now()),
        Cmd::Process { dir, json, mails } => run::process(&dir.dir, json, &mails, now()),
        Cmd::Run {
            dir,
            interval,
            once,
        } => run::daemon(&dir.dir, interval, once),
        Cmd::Verify { dir, mail, at } => check::verify(&dir.dir, &mail, at.as_deref(), now()),
        Cmd::Check { file } => check::check(&file),
        Cmd::Forms { what } => forms::run(what),
        Cmd::Cert { what } => cert::run(what, now()),
        Cmd::Report(a) => report::run(a),
        Cmd::Outbox { what } => outbox::run(what, now()),
        Cmd::Crl { dir } => run::crl(&dir.dir, now()),
        Cmd::Rules { what } => rules::run(what),
        Cmd::Review { what } => review::run(what, now()),
        Cmd::Reminders { what } => reminders::run(what, now()),
        Cmd::Applications { what } => applications::run(what, now()),
        Cmd::Audit(args) => audit::run(args),
        Cmd::Status { dir, json } => status::run(&dir.dir, json, now()),
        Cmd::Maintenance(args) => maintenance::run(args, now()),
        Cmd::ReadWorkbook {
            memory_mb,
            cpu_seconds,
        } => Ok(ra::workbook::serve(memory_mb, cpu_seconds)),
    }
}

/// The environment every command that processes mail opens: with the
/// secretariat's mail commands installed (`ra` never imports `ops`).
/// The secretariat member's name for the audit log.
fn actor(by: Option<String>) -> String {
    let who = by
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty());
    match who {
        Some(w) => format!("secretariat ({})", w.trim()),
        None => "secretariat".into(),
    }
}

fn open_env(dir: &Path) -> Result<Env> {
    let cfg = Config::load(dir)?;
    let mut env = Env::open(cfg)?;
    env.commands = Some(std::sync::Arc::new(crate::ops::commands::MailCommands));
    Ok(env)
}

fn open_db(dir: &Path) -> Result<rusqlite::Connection> {
    let cfg = Config::load(dir)?;
    Ok(store::open(&cfg.database)?)
}

use crate::render::table::table;

/// Prints a table without trailing blanks.
fn print_table(t: &comfy_table::Table) {
    // A table cut short by a closed pipe (`| head`) ends the process quietly.
    if let Err(e) = writeln!(std::io::stdout(), "{}", crate::render::table::text(t)) {
        std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe {
            0
        } else {
            2
        });
    }
}

/// Prints one value as a JSON line (the `--json` form of every list).
fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    let line = serde_json::to_string(v)?;
    match writeln!(std::io::stdout(), "{line}") {
        Ok(()) => Ok(()),
        // `mailra … --json | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(e.into()),
    }
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
