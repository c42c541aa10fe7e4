//! The filing-rules parser (`policy::rules::parse`) on one rules file, and —
//! when it parses — the rules evaluated for one mail of every verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::application::AttachmentKind;
use mailra::model::{FormKind, RevocationReason, Verdict};
use mailra::policy::rules::{self, Facts};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files = [("fuzz.toml".to_string(), text.to_string())];
    let set = match rules::parse(&files) {
        Ok(set) => set,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let now = datetime!(2026-11-30 09:00:00 UTC);
    for verdict in Verdict::ALL {
        let mut f = Facts::new(verdict, now);
        let _ = set.evaluate(&f);
        f.check = Some("signature".into());
        f.forms = vec![FormKind::ServerRevoke, FormKind::ClientIssue];
        f.institution = Some("Example University".into());
        f.officer = Some("officer@example.ac.jp".into());
        f.officer_registered_at = Some(datetime!(2026-11-20 09:00:00 UTC));
        f.sender = Some("officer@example.ac.jp".into());
        f.subject = Some("[check] 申請".into());
        f.attachments = vec![AttachmentKind::Tsv, AttachmentKind::Xlsx];
        f.revocation_reasons = vec![RevocationReason::KeyCompromise];
        let _ = set.evaluate(&f);
        let _ = set.evaluate_approved(&f);
    }
});
