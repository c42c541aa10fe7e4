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

/// libFuzzer's panic hook aborts on every panic, before any `catch_unwind`.
/// mailra catches panics inside calamine on purpose (`workbook::read` turns
/// them into a damaged file: calamine 0.38 overflows on some cell
/// references), so this hook lets exactly those unwind to that guard and
/// aborts on every other panic, as libFuzzer's does.
fn hook_for_calamine() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let libfuzzer = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_calamine = info
                .location()
                .is_some_and(|l| l.file().contains("/calamine-"));
            if !in_calamine {
                libfuzzer(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    hook_for_calamine();
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
