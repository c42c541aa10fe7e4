//! The whole pure path of a TSV attachment: its records
//! (`intake::application::records`, i.e. `intake::tsv::read`), then the form
//! checks (`policy::forms::check`) with an offline `Context` (no store, no
//! institution), as `mailra check` runs them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::application;
use mailra::policy::forms::{self, Context};

fuzz_target!(|data: &[u8]| {
    let Ok(records) = application::records("application.tsv", data) else {
        return;
    };
    let ctx = Context::default();
    let checked = forms::check(&records, &ctx).expect("no look-up can fail offline");
    for e in checked.errors.iter().chain(&checked.warnings) {
        let _ = e.to_string();
    }
});
