//! The code-signing revocation form reader (`intake::codesign`: found by
//! its labels, values beside or below them) and its checks
//! (`policy::codesign::check_codesign`, offline) on any normalised workbook.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::codesign;
use mailra::policy::codesign::check_codesign;
use mailra::policy::forms::Context;

#[path = "arb_workbook.rs"]
mod arb_workbook;

fuzz_target!(|data: &[u8]| {
    let Some(wb) = arb_workbook::from_bytes(data) else {
        return;
    };
    let is_form = codesign::is_codesign_form(&wb);
    match codesign::read(&wb) {
        Ok(_) => assert!(is_form, "a form was read from a workbook not taken for one"),
        Err(errors) => {
            for e in &errors {
                let _ = e.to_string();
            }
        }
    }
    let checked = check_codesign(&wb, &Context::default()).expect("no look-up can fail offline");
    for e in &checked.errors {
        let _ = e.to_string();
    }
});
