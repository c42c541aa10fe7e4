//! Form recognition: which server form a file is, from its records (TSV
//! files carry no header).

use super::fields::FIELDS;
use crate::intake::application::Record;
use crate::model::{FormKind, RowError};
use crate::policy::rows::{self, Forms};

fn classify(rec: &Record) -> Option<FormKind> {
    let csr = !rec.fields[6].is_empty();
    let serial = !rec.fields[3].is_empty();
    match (csr, serial) {
        (true, false) => Some(FormKind::ServerIssue),
        (true, true) => Some(FormKind::ServerRenew),
        (false, true) => Some(FormKind::ServerRevoke),
        (false, false) => None,
    }
}

fn describe(kind: FormKind) -> &'static str {
    match kind {
        FormKind::ServerIssue => "a CSR and no serial",
        FormKind::ServerRenew => "a CSR and a serial",
        FormKind::ServerRevoke => "a serial and no CSR",
        FormKind::ClientIssue
        | FormKind::ClientRenew
        | FormKind::ClientRevoke
        | FormKind::CodeSignRevoke => {
            unreachable!("server files are only classified as server forms")
        }
    }
}

/// Detects the form of a file by content (TSV files carry no header):
/// a CSR (field 7) without a serial (field 4) is 5-3-1, a CSR with a serial 5-3-2,
/// a serial without a CSR 5-3-3 (its reason, field 5, is then required).
///
/// One form per file, and the **first** row decides: that is the row an officer looks
/// at first, and the rule is easy to state in an error. Every other row that looks like
/// another form, or like none, is an error naming its line.
pub fn detect_kind(records: &[Record]) -> Result<FormKind, Vec<RowError>> {
    match detect(records) {
        (Some(kind), errors, _) if errors.is_empty() => Ok(kind),
        (_, errors, _) => Err(errors),
    }
}

pub(super) fn detect(records: &[Record]) -> (Option<FormKind>, Vec<RowError>, Vec<bool>) {
    rows::detect(
        records,
        &Forms {
            fields: FIELDS,
            classify,
            describe,
            unknown: "cannot tell which form this row is: it has neither a CSR (field 7) nor a serial (field 4)",
        },
    )
}
