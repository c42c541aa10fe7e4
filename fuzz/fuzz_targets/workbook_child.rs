//! The child protocol, parent side (`ra::workbook::decode`): whatever the
//! sandboxed reader writes on its stdout — JSON of a workbook or a refusal,
//! or garbage — becomes a workbook within the budget or one refused file,
//! and a decoded workbook then goes where the parent sends it (the
//! code-signing form or the sheet's records, and the form checks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::{application, codesign, workbook};
use mailra::policy::forms::{self, Context};
use mailra::ra::workbook::decode;

#[path = "arb_workbook.rs"]
mod arb_workbook;

fuzz_target!(|data: &[u8]| {
    // Half the inputs as the child's raw stdout, half as a workbook the
    // child could have sent (so the JSON is well-formed and deep).
    let out = match data.split_first() {
        Some((0, rest)) => match arb_workbook::from_bytes(rest) {
            Some(wb) => serde_json::to_vec(&Ok::<_, workbook::WorkbookError>(wb)).unwrap(),
            None => return,
        },
        _ => data.to_vec(),
    };
    let budget = workbook::Budget::default();
    let Ok(wb) = decode(&out, &budget) else {
        return;
    };
    workbook::within(&wb, &budget).expect("decode keeps to the budget");
    if codesign::is_codesign_form(&wb) {
        let _ = codesign::read(&wb);
    } else if let Ok(records) = application::workbook_records("application.xlsx", &wb) {
        let _ = forms::check(&records, &Context::default()).expect("offline");
    }
});
