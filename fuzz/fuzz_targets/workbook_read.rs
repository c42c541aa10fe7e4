//! The in-process workbook reader (`intake::workbook::read`: size cap,
//! magic bytes, zip pre-check, streamed cells under the budget) on any bytes,
//! then what the parent does with a workbook: the budget check, the
//! code-signing form or the sheet's records, and the form checks. What this
//! target finds in calamine's eager .xls parser is contained by the child
//! process in production; everything else is a bug here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::{application, codesign, workbook};
use mailra::policy::forms::{self, Context};

fuzz_target!(|data: &[u8]| {
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
