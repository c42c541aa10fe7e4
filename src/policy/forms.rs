//! The form families' dispatcher: recognises which family a file's records
//! belong to and hands them to that family's validator (`policy::server`
//! today). What a check may consult ([`Context`]) and what it returns
//! ([`Checked`]) are the same for every family.

use crate::intake::application::{self, ReadError, Records};
use crate::model::{CertLookup, FormFamily, FormKind, Institution, Request, RowError};
use crate::policy::keyreuse::ReservedKey;
use crate::policy::server;

/// What the checks may consult. `None` parts skip the checks that need them.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    pub institution: Option<&'a Institution>,
    pub certs: Option<&'a dyn CertLookup>,
    /// Whether the instance has an ECDSA P-384 issuing CA (`ca.ec_cert`);
    /// without one, profile 11 is not offered. `None` (offline) skips the check.
    pub ecdsa_ca: Option<bool>,
    /// Keys never certified: the robot's, the CAs', the officers' (see `policy::keyreuse`).
    pub reserved_keys: &'a [ReservedKey],
}

/// The outcome of checking one file. `rows` only matters when `errors` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checked {
    pub kind: Option<FormKind>,
    pub rows: Vec<Request>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
}

impl Checked {
    /// A file that yielded no records: its one whole-file error.
    pub fn unreadable(e: &ReadError) -> Checked {
        Checked {
            errors: vec![e.to_row_error()],
            ..Checked::default()
        }
    }
}

/// Recognises the family of a file's records and validates them by its rules.
pub fn check(records: &Records, ctx: &Context) -> Checked {
    match family(records) {
        FormFamily::Server => server::check_records(records, ctx),
        FormFamily::Client => unreachable!("no file is recognised as a client form yet"),
    }
}

/// Reads the application file `name` and checks it: [`check`] on its records,
/// or the reason it has none as a whole-file error.
pub fn check_file(name: &str, bytes: &[u8], ctx: &Context) -> Checked {
    match application::records(name, bytes) {
        Ok(records) => check(&records, ctx),
        Err(e) => Checked::unreadable(&e),
    }
}

/// The family a file's records belong to. Every TSV form read today is a
/// server form; the client forms (15 fields per record) and the code-signing
/// revocation workbook are told apart here when they come.
fn family(_records: &Records) -> FormFamily {
    FormFamily::Server
}
