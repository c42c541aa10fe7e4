//! Whole mails through S/MIME verification (`intake::smime::verify`), the
//! first thing the robot does with a mail from anyone, then — for a mail that
//! verified — the extraction of its signed content, as `ra` does.
//!
//! The trust store is built once: the Thunderbird test CA whose signed mails
//! (tests/fixtures/thunderbird-smime) are the seeds, so mutations of a valid
//! mail reach the CMS, chain and signing-time stages. The clock is fixed
//! inside the seeds' validity.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mailra::intake::mime;
use mailra::intake::smime::{Trust, verify};
use openssl::x509::X509;
use time::macros::datetime;

static TRUST: LazyLock<Trust> = LazyLock::new(|| {
    let pem = include_bytes!("../../tests/fixtures/thunderbird-smime/TestCA.pem");
    Trust::new(vec![X509::from_pem(pem).expect("the test CA")])
});

fuzz_target!(|data: &[u8]| {
    let report = verify(data, &TRUST, datetime!(2023-11-21 21:00:00 UTC));
    let _ = report.to_string();
    if let Ok(v) = &report.outcome {
        let _ = mime::extract(&v.content);
    }
});
