//! The sheet reader (`intake::application::workbook_records`) on any
//! normalised `Workbook` — what the sandboxed workbook reader hands back —
//! and, when it yields records, the form checks on them, offline.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::application;
use mailra::policy::forms::{self, Context};

#[path = "arb_workbook.rs"]
mod arb_workbook;

fuzz_target!(|data: &[u8]| {
    let Some(wb) = arb_workbook::from_bytes(data) else {
        return;
    };
    for name in ["application.xlsx", "application.xls"] {
        if let Ok(records) = application::workbook_records(name, &wb) {
            let checked =
                forms::check(&records, &Context::default()).expect("no look-up can fail offline");
            for e in checked.errors.iter().chain(&checked.warnings) {
                let _ = e.to_string();
            }
        }
    }
});
