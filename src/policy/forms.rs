//! The form families' dispatcher: recognises which family a file's records
//! belong to and hands them to that family's validator (`policy::server`
//! today). What a check may consult ([`Context`]) and what it returns
//! ([`Checked`]) are the same for every family.

pub use super::check::{Checked, Context};
use crate::intake::application::{self, Records};
use crate::model::FormFamily;
use crate::policy::server;

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
