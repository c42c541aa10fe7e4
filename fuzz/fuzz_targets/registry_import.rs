//! The registry import file parser (`intake::registry::read`): the
//! secretariat's TSV/CSV of institutions and officers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::registry;

fuzz_target!(|data: &[u8]| {
    let (_rows, errors) = registry::read(data);
    for e in &errors {
        let _ = e.to_string();
    }
});
