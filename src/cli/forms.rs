//! `mailra forms`: blank Excel workbooks of the application forms for
//! officers who keep their lists in Excel (the workbook itself is built by
//! `render::xlsx_forms`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::model::FormKind;
use crate::render::xlsx_forms;

#[derive(Subcommand)]
pub enum FormsCmd {
    /// Write a blank workbook for a form: headers in Japanese and English,
    /// text columns, drop-downs, a filled example on a second sheet.
    Template {
        /// server-issue, server-renew, server-revoke, client-issue,
        /// client-renew, client-revoke, codesign-revoke, or the form code
        /// (5-3-1 … 5-4-3, 4-2).
        #[arg(value_parser = parse_kind)]
        kind: FormKind,
        /// The .xlsx file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// The command-line names of the forms, in `FormKind::ALL` order.
const NAMES: [(&str, FormKind); 7] = [
    ("server-issue", FormKind::ServerIssue),
    ("server-renew", FormKind::ServerRenew),
    ("server-revoke", FormKind::ServerRevoke),
    ("client-issue", FormKind::ClientIssue),
    ("client-renew", FormKind::ClientRenew),
    ("client-revoke", FormKind::ClientRevoke),
    ("codesign-revoke", FormKind::CodeSignRevoke),
];

/// A form by its name (`client-issue`) or its code (`5-4-1`).
pub fn parse_kind(s: &str) -> Result<FormKind, String> {
    NAMES
        .iter()
        .find(|(name, _)| *name == s)
        .map(|&(_, kind)| kind)
        .or_else(|| FormKind::from_code(s))
        .ok_or_else(|| {
            let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown form {s:?}: one of {} or a form code 5-3-1 … 5-4-3, 4-2",
                names.join(", ")
            )
        })
}

pub fn run(cmd: FormsCmd) -> Result<ExitCode> {
    match cmd {
        FormsCmd::Template { kind, output } => {
            let bytes = xlsx_forms::template(kind)
                .with_context(|| format!("building the {} workbook", kind.code()))?;
            std::fs::write(&output, bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "{}: {} {} / {}",
                output.display(),
                kind.code(),
                kind.label_ja(),
                kind.label()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::record::Record;
    use crate::policy::{client, server};
    use crate::render::xlsx_forms::{columns, example};

    #[test]
    fn names_and_codes_select_the_same_form() {
        for ((name, kind), code) in NAMES.iter().zip(FormKind::ALL) {
            assert_eq!(parse_kind(name), Ok(*kind));
            assert_eq!(parse_kind(code.code()), Ok(code));
            assert_eq!(*kind, code);
        }
        for bad in ["", "code-signing", "5-3-4", "Client-Issue"] {
            assert!(parse_kind(bad).is_err(), "{bad}");
        }
    }

    /// The workbook's columns are the TSV form's, and its example row is read
    /// by the form detection as the form it illustrates.
    #[test]
    fn template_columns_match_the_tsv_forms_and_examples_are_detected_as_their_form() {
        for kind in FormKind::ALL {
            let (fields, detected) = {
                let record = Record {
                    line: 1,
                    fields: example(kind).into_iter().map(String::from).collect(),
                };
                match kind.family() {
                    crate::model::FormFamily::Server => {
                        (server::FIELDS, server::detect_kind(&[record]))
                    }
                    crate::model::FormFamily::Client => {
                        (client::FIELDS, client::detect_kind(&[record]))
                    }
                    // Labelled fields, not TSV columns: tested with its reader.
                    crate::model::FormFamily::CodeSigning => continue,
                }
            };
            assert_eq!(columns(kind).len(), fields, "{kind:?}");
            assert_eq!(example(kind).len(), fields, "{kind:?}");
            assert_eq!(detected, Ok(kind), "{kind:?}");
        }
    }
}
