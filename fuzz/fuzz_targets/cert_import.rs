//! The certificate file parser of `mailra registry import-cert`
//! (`intake::certfile::parse`: PEM with any number of certificates, or DER).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailra::intake::certfile;

fuzz_target!(|data: &[u8]| {
    if let Ok(certs) = certfile::parse(data) {
        assert!(!certs.is_empty(), "a parsed file holds a certificate");
    }
});
