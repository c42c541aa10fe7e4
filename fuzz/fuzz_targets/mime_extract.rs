//! The signed content of a mail split into its text and files
//! (`intake::mime::extract`), plus the small helpers run on raw mails.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::application::AttachmentKind;
use mailra::intake::mime;

fuzz_target!(|data: &[u8]| {
    let _ = mime::is_automatic(data);
    let _ = mime::canonicalize_crlf(data);
    if let Ok(body) = mime::extract(data) {
        for a in &body.attachments {
            let _ = AttachmentKind::of(&a.filename);
        }
    }
});
