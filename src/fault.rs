//! Test-only fault injection for the crash-safety tests: with
//! `MAILRA_FAULT=<point>` set, the process stops dead at that point (it
//! announces itself on stderr and in `$MAILRA_FAULT_MARKER` if set, then
//! waits), so the test can SIGKILL it exactly there and restart it.
//!
//! Points: `after-commit` (a mail's certificates and replies are committed,
//! nothing sent or filed), `before-move` (its replies are sent, the mail not
//! yet filed), `after-smtp-accept` (the SMTP server accepted a reply, not yet
//! marked sent), `row:N` (inside the transaction, after the N-th row was
//! issued), `resume-after-commit` (a mail kept during maintenance was
//! processed after it, not yet moved out of the holding folder), and
//! `pause:before-file` (a mail was taken, not yet filed; the robot waits for
//! a go-file, then goes on).
//!
//! Only with the cargo feature `fault-injection` (the crash tests turn it on;
//! `scripts/test` runs the suite with it): without it every function here is
//! an empty inline no-op and release builds carry no fault point at all.

#[cfg(feature = "fault-injection")]
pub use armed_points::*;

#[cfg(feature = "fault-injection")]
mod armed_points {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set once a fault point is reached: the whole process then stands still
    /// (other threads stop at [`hold`]), as if it had been killed right there.
    static HUNG: AtomicBool = AtomicBool::new(false);

    fn wanted() -> Option<&'static str> {
        static W: OnceLock<Option<String>> = OnceLock::new();
        W.get_or_init(|| std::env::var("MAILRA_FAULT").ok().filter(|v| !v.is_empty()))
            .as_deref()
    }

    /// Is the fault point `name` armed?
    pub fn armed(name: &str) -> bool {
        wanted() == Some(name)
    }

    /// Stops here (forever, until killed) if `name` is the armed point.
    pub fn point(name: &str) {
        if armed(name) {
            hang(name);
        }
    }

    /// `pause:NAME`: at point `NAME` the process announces itself (stderr
    /// and `$MAILRA_FAULT_MARKER`) and waits until the file
    /// `$MAILRA_FAULT_MARKER.go` exists, then goes on, so a test can act
    /// while the robot stands exactly there.
    pub fn pause(name: &str) {
        if wanted().and_then(|w| w.strip_prefix("pause:")) != Some(name) {
            return;
        }
        eprintln!("mailra: pause point {name} reached");
        let Ok(marker) = std::env::var("MAILRA_FAULT_MARKER") else {
            return;
        };
        let _ = std::fs::write(&marker, name);
        let go = format!("{marker}.go");
        while !std::path::Path::new(&go).exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// `row:N`: stops after the N-th row (1-based) of a file was carried out.
    pub fn row(n: usize) {
        if let Some(want) = wanted().and_then(|w| w.strip_prefix("row:"))
            && want.parse::<usize>().ok() == Some(n)
        {
            hang(&format!("row:{n}"));
        }
    }

    /// Called by other threads (the SMTP sender) before each step: once a fault
    /// point was reached, they stop too, so the kill lands at that point only.
    pub fn hold() {
        if HUNG.load(Ordering::SeqCst) {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }

    fn hang(name: &str) -> ! {
        HUNG.store(true, Ordering::SeqCst);
        // A reply in flight on another thread finishes (and is marked sent)
        // before the test is told to kill.
        std::thread::sleep(std::time::Duration::from_millis(500));
        eprintln!("mailra: fault point {name} reached; waiting to be killed");
        if let Ok(marker) = std::env::var("MAILRA_FAULT_MARKER") {
            let _ = std::fs::write(marker, name);
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
pub use no_points::*;

/// Without the feature: nothing is ever armed.
#[cfg(not(feature = "fault-injection"))]
mod no_points {
    #[inline(always)]
    pub fn armed(_name: &str) -> bool {
        false
    }

    #[inline(always)]
    pub fn point(_name: &str) {}

    #[inline(always)]
    pub fn pause(_name: &str) {}

    #[inline(always)]
    pub fn row(_n: usize) {}

    #[inline(always)]
    pub fn hold() {}
}
