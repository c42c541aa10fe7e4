//! The test kit: the PKI, the application mails and the form lines that
//! `mailra demo`, the integration tests, the unit tests and the benchmarks
//! build — one copy, so that the demo and every test build their mails and
//! their PKI the same way (and a change of form or of signing reaches all of
//! them at once).
//!
//! - [`pki`]: officers' signing identities under an officer CA (through the
//!   CA's own builders), and, in one place, the unusual certificates the
//!   S/MIME attack tests need (wrong EKU, expired, CA-flagged, weak key…);
//! - [`mail`]: signed (detached or opaque) and unsigned application mails,
//!   and mails altered after signing;
//! - [`forms`]: TSV lines of the server forms (5-3-1 issue, 5-3-2 renew,
//!   5-3-3 revoke) with their CSRs, Shift_JIS encoding, and issue rows as
//!   the policy layer hands them to the CA;
//! - [`workbooks`]: an ordinary .xlsx and hostile ones (zip bombs, far
//!   cells, huge announced counts, macros) for the workbook reader.
//!
//! It builds on `ca`, `mail::sign` and `model` only, and is a public module
//! because the demo uses it and the tests and benches are separate crates.

pub mod forms;
pub mod mail;
pub mod pki;
pub mod workbooks;

/// The robot's address in the demo, the tests and the benchmarks.
pub const ROBOT: &str = "mailra@certs.example.ac.jp";
