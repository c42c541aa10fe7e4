//! The in-process workbook reader (`intake::workbook::read`: size cap,
//! magic bytes, zip pre-check, streamed cells under the budget) on any bytes,
//! then what the parent does with a workbook: the budget check, the
//! code-signing form or the sheet's records, and the form checks.
//!
//! .xlsx packages only: calamine's eager .xls parser can abort the process
//! on a crafted file (a patched DIMENSIONS record reserves rows × columns),
//! which is why production reads every workbook in a child process with
//! memory and CPU limits (tests/workbook.rs proves such an .xls is one
//! refused file). Here an abort would stop the run at a known, contained
//! finding; the .xlsx path, whose pre-checks are mailra's own, must never.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::{application, codesign, workbook};
use mailra::policy::forms::{self, Context};

fuzz_target!(|data: &[u8]| {
    if workbook::sniff(data) != Ok(workbook::Container::Zip) {
        return;
    }
    let budget = workbook::Budget::default();
    let Ok(wb) = workbook::read(data, &budget) else {
        return;
    };
    workbook::within(&wb, &budget).expect("the reader keeps to its own budget");
    if codesign::is_codesign_form(&wb) {
        let _ = codesign::read(&wb);
    } else if let Ok(records) = application::workbook_records("application.xlsx", &wb) {
        let _ = forms::check(&records, &Context::default()).expect("offline");
    }
});
