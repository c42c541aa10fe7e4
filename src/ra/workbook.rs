//! Workbooks are read in a child process: calamine can abort the process
//! that parses a small crafted file (an .xls with a huge DIMENSIONS record,
//! and whatever bug is not known yet), and an abort cannot be caught. So the
//! robot runs `mailra read-workbook` — itself, by default — which limits its
//! own address space and CPU time, reads the file from stdin, runs the pure
//! reader [`crate::intake::workbook::read`] and writes its answer as JSON on
//! stdout. The parent here writes the file, enforces a wall-clock timeout,
//! caps what it reads back, and turns every way the child can fail (a crash,
//! a signal, a limit, a timeout, an answer it cannot understand) into
//! [`WorkbookError::Unsafe`]: one refused file, and the robot carries on.
//!
//! The child protocol: arguments `read-workbook --memory-mb M --cpu-seconds S`,
//! the file on stdin, one JSON value on stdout — serde's form of
//! `Result<Workbook, WorkbookError>` (`{"Ok": …}` or `{"Err": …}`) — and exit 0.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Env, RaError};
use crate::intake::application::{self, ReadError, Records};
use crate::intake::workbook::{self, Budget, Workbook, WorkbookError};

/// The child's answer: what the pure reader returned.
type Answer = Result<Workbook, WorkbookError>;

/// How the robot runs the sandboxed workbook reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbookReader {
    /// The mailra executable to run as `exe read-workbook`. By default the
    /// running executable ([`std::env::current_exe`]); a test binary is not
    /// mailra, so tests set it to `env!("CARGO_BIN_EXE_mailra")`.
    pub exe: PathBuf,
    /// The child's address-space limit (RLIMIT_AS), in MiB. Default 1024.
    pub memory_mb: u64,
    /// The child's CPU-time limit (RLIMIT_CPU), in seconds. Default 10.
    pub cpu_seconds: u64,
    /// Wall-clock time after which the child is killed. Default 20 s.
    pub timeout: Duration,
    /// The most the parent reads of the child's answer. Default 64 MiB.
    pub max_answer_bytes: usize,
}

impl WorkbookReader {
    /// A reader running `exe`, with the default limits.
    pub fn new(exe: PathBuf) -> WorkbookReader {
        WorkbookReader {
            exe,
            memory_mb: 1024,
            cpu_seconds: 10,
            timeout: Duration::from_secs(20),
            max_answer_bytes: 64 << 20,
        }
    }

    /// A reader running this very executable (the mailra binary, when the
    /// robot or the CLI runs).
    pub fn current() -> WorkbookReader {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("mailra"));
        WorkbookReader::new(exe)
    }

    /// Reads a workbook in a child process: the workbook, or why it is
    /// refused (`Unsafe` when the child failed in any way). `Err` only when
    /// the child cannot be started at all — the operator's problem, and the
    /// mail is processed again later.
    pub fn read(&self, bytes: &[u8]) -> Result<Answer, RaError> {
        let budget = Budget::default();
        if bytes.len() as u64 > budget.max_file_bytes {
            return Ok(Err(WorkbookError::TooLarge {
                limit_mb: budget.max_file_bytes >> 20,
            }));
        }
        let mut child = Command::new(&self.exe)
            .arg("read-workbook")
            .arg("--memory-mb")
            .arg(self.memory_mb.to_string())
            .arg("--cpu-seconds")
            .arg(self.cpu_seconds.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| RaError::Material {
                path: self.exe.display().to_string(),
                what: format!("the workbook reader cannot be started: {e}"),
            })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Err(unsafe_("the reader could not be talked to")));
        };
        let input = bytes.to_vec();
        // A child that dies before reading everything closes the pipe: the
        // write fails, and its exit says why.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let cap = self.max_answer_bytes;
        let out = std::thread::spawn(move || capped(stdout, cap));
        let err = std::thread::spawn(move || capped(stderr, 4096));
        let status = wait(&mut child, self.timeout);
        let _ = writer.join();
        let (answer, overflow) = out.join().unwrap_or_default();
        let (diag, _) = err.join().unwrap_or_default();
        let diag = String::from_utf8_lossy(&diag);
        let answer = judge(status, &answer, overflow, self);
        if let Err(WorkbookError::Unsafe(why)) = &answer {
            tracing::warn!(reason = %why, stderr = %diag.trim(), "a workbook was refused by its sandboxed reader");
        }
        Ok(answer)
    }
}

impl Default for WorkbookReader {
    fn default() -> WorkbookReader {
        WorkbookReader::current()
    }
}

/// The records of a workbook attachment, read by `reader`: a workbook
/// refused as a whole (hostile, encrypted, with macros) is a whole-file
/// [`ReadError::Workbook`] with its reason, like an unreadable TSV. `Err`
/// only when the reader cannot be started (an internal error).
pub fn records(
    reader: &WorkbookReader,
    name: &str,
    bytes: &[u8],
) -> Result<Result<Records, ReadError>, RaError> {
    Ok(match reader.read(bytes)? {
        Ok(wb) if wb.has_macros => Err(ReadError::Workbook(WorkbookError::Macros)),
        Ok(wb) => application::workbook_records(name, &wb),
        Err(e) => Err(ReadError::Workbook(e)),
    })
}

/// What a workbook attachment holds.
#[derive(Debug)]
pub enum Contents {
    /// A sheet of records in a TSV form's column order.
    Records(Records),
    /// The code-signing revocation form, read by its labels
    /// (`policy::codesign::check_codesign`).
    CodeSigning(Workbook),
}

/// What a workbook attachment holds, read by `reader`: the code-signing
/// revocation form when its labels are there, else the records of its first
/// visible sheet (see [`records`] for refusals and errors).
pub fn contents(
    reader: &WorkbookReader,
    name: &str,
    bytes: &[u8],
) -> Result<Result<Contents, ReadError>, RaError> {
    Ok(match reader.read(bytes)? {
        Ok(wb) if wb.has_macros => Err(ReadError::Workbook(WorkbookError::Macros)),
        Ok(wb) if crate::intake::codesign::is_codesign_form(&wb) => Ok(Contents::CodeSigning(wb)),
        Ok(wb) => application::workbook_records(name, &wb).map(Contents::Records),
        Err(e) => Err(ReadError::Workbook(e)),
    })
}

/// Reads a workbook with the environment's reader (see [`WorkbookReader::read`]).
pub fn read(env: &Env, bytes: &[u8]) -> Result<Answer, RaError> {
    env.workbooks.read(bytes)
}

fn unsafe_(why: &str) -> WorkbookError {
    WorkbookError::Unsafe(why.into())
}

/// Reads at most `cap` bytes, then drains the rest (so the child is never
/// blocked on a full pipe); true when there was more.
fn capped(r: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut r = r;
    let mut buf = Vec::new();
    let _ = (&mut r).take(cap as u64).read_to_end(&mut buf);
    let rest = std::io::copy(&mut r, &mut std::io::sink()).unwrap_or(0);
    (buf, rest > 0)
}

/// Waits for the child until `timeout`; kills it then (`None`).
fn wait(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// What the child's end means for the file.
fn judge(status: Option<ExitStatus>, out: &[u8], overflow: bool, r: &WorkbookReader) -> Answer {
    use std::os::unix::process::ExitStatusExt;
    let Some(status) = status else {
        return Err(WorkbookError::Unsafe(format!(
            "reading it took longer than {} s",
            r.timeout.as_secs()
        )));
    };
    if let Some(sig) = status.signal() {
        return Err(unsafe_(match sig {
            // Rust aborts when an allocation fails (RLIMIT_AS).
            6 => "reading it needed more memory than allowed",
            // RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one.
            24 | 9 => "reading it needed more processing time than allowed",
            _ => "the reader crashed on it",
        }));
    }
    if !status.success() {
        return Err(unsafe_("the reader failed on it"));
    }
    if overflow {
        return Err(WorkbookError::Unsafe(format!(
            "what was read from it is larger than {} MB",
            r.max_answer_bytes >> 20
        )));
    }
    decode(out, &Budget::default())
}

/// The child's answer, as the parent takes it: JSON of the reader's result,
/// and a workbook in it held to `budget` again (the child is the part that
/// may have gone wrong). Anything else is one refused file.
pub fn decode(out: &[u8], budget: &Budget) -> Answer {
    match serde_json::from_slice::<Answer>(out) {
        Ok(Ok(wb)) => workbook::within(&wb, budget).map(|()| wb),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(unsafe_("the reader's answer was not understood")),
    }
}

/// The child side (`mailra read-workbook`): limits this process, reads the
/// file from stdin, writes the answer as JSON on stdout. Exits 0 whenever an
/// answer was written, refusals included.
pub fn serve(memory_mb: u64, cpu_seconds: u64) -> ExitCode {
    use rlimit::Resource;
    let limits = [
        (Resource::CORE, 0),
        (Resource::CPU, cpu_seconds),
        (Resource::AS, memory_mb.saturating_mul(1 << 20)),
    ];
    for (resource, soft) in limits {
        // CPU: SIGXCPU at the soft limit, a second later SIGKILL. Never above
        // a hard limit this process already has.
        let hard = if resource == Resource::CPU {
            soft + 1
        } else {
            soft
        };
        let hard = rlimit::getrlimit(resource).map_or(hard, |(_, h)| hard.min(h));
        if let Err(e) = rlimit::setrlimit(resource, soft.min(hard), hard) {
            eprintln!("mailra read-workbook: cannot limit {resource:?}: {e}");
            return ExitCode::from(2);
        }
    }
    let budget = Budget::default();
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(budget.max_file_bytes + 1)
        .read_to_end(&mut bytes)
    {
        eprintln!("mailra read-workbook: reading stdin: {e}");
        return ExitCode::from(2);
    }
    let answer: Answer = workbook::read(&bytes, &budget);
    let mut stdout = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut stdout, &answer)
        .map_err(std::io::Error::from)
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailra read-workbook: writing the answer: {e}");
            ExitCode::from(2)
        }
    }
}
