//! What checking an application file may consult ([`Context`]) and what it
//! returns ([`Checked`]): the same for every form family, so the families'
//! validators and the dispatcher (`policy::forms`) share them without
//! importing each other.

use crate::intake::application::ReadError;
use crate::model::{CertLookup, FormKind, Institution, Request, RowError};
use crate::policy::keyreuse::ReservedKey;

/// What the checks may consult. `None` parts skip the checks that need them;
/// with `certs: None` (`mailra check` offline) no check can fail to complete.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    pub institution: Option<&'a Institution>,
    pub certs: Option<&'a dyn CertLookup>,
    /// Whether the instance has an ECDSA P-384 issuing CA (`ca.ec_cert`);
    /// without one, profile 11 is not offered. `None` (offline) skips the check.
    pub ecdsa_ca: Option<bool>,
    /// Keys never certified: the robot's, the CAs', the officers' (see `policy::keyreuse`).
    pub reserved_keys: &'a [ReservedKey],
}

/// The outcome of checking one file. `rows` only matters when `errors` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checked {
    pub kind: Option<FormKind>,
    pub rows: Vec<Request>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
}

impl Checked {
    /// A file that yielded no records: its one whole-file error.
    pub fn unreadable(e: &ReadError) -> Checked {
        Checked {
            errors: vec![e.to_row_error()],
            ..Checked::default()
        }
    }
}

/// Test doubles for [`CertLookup`].
#[cfg(test)]
pub(crate) mod fake {
    use crate::model::{CertLookup, CertSummary, KeyHolder, LookupError, Serial};

    /// A [`CertLookup`] method.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Method {
        BySerial,
        KeyHolders,
    }

    /// What [`Failing`] fails with.
    pub(crate) const CAUSE: &str = "disk I/O error";

    /// A store that fails on `method` and answers the other from `certs`.
    pub(crate) struct Failing<'a> {
        pub(crate) method: Method,
        pub(crate) certs: &'a dyn CertLookup,
    }

    impl CertLookup for Failing<'_> {
        fn by_serial(&self, serial: &Serial) -> Result<Option<CertSummary>, LookupError> {
            match self.method {
                Method::BySerial => Err(LookupError::new(CAUSE)),
                Method::KeyHolders => self.certs.by_serial(serial),
            }
        }

        fn key_holders(&self, spki_sha256: &str) -> Result<Vec<KeyHolder>, LookupError> {
            match self.method {
                Method::KeyHolders => Err(LookupError::new(CAUSE)),
                Method::BySerial => self.certs.key_holders(spki_sha256),
            }
        }
    }
}
