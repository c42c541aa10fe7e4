//! What a certificate is for, whatever profile (if any) it was issued under.
//!
//! Certificates mailra issues have a profile ID (SPEC §6); certificates the
//! secretariat imports (`mailra registry import-cert`) generally have none —
//! a code-signing certificate of another CA above all — so the store keeps
//! the kind, read from the extended key usage, beside an optional profile.

use super::Profile;

/// The purpose of a certificate, from its extended key usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertKind {
    /// serverAuth (profiles 3, 11).
    Server,
    /// clientAuth without emailProtection (profiles 5, 13, 14).
    Client,
    /// emailProtection (profiles 7, 15, 16).
    Smime,
    /// codeSigning (imported only; revoked by the code-signing form).
    CodeSigning,
}

impl CertKind {
    pub const ALL: [CertKind; 4] = [
        CertKind::Server,
        CertKind::Client,
        CertKind::Smime,
        CertKind::CodeSigning,
    ];

    /// The kind every certificate of a profile has.
    pub fn of_profile(p: Profile) -> CertKind {
        if p.is_smime() {
            CertKind::Smime
        } else if p.family() == super::FormFamily::Server {
            CertKind::Server
        } else {
            CertKind::Client
        }
    }
    /// The form family that renews and revokes certificates of this kind
    /// (code signing: its own revocation form, no renewal).
    pub fn family(self) -> super::FormFamily {
        match self {
            CertKind::Server => super::FormFamily::Server,
            CertKind::Client | CertKind::Smime => super::FormFamily::Client,
            CertKind::CodeSigning => super::FormFamily::CodeSigning,
        }
    }
    /// The store's value (`certificates.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            CertKind::Server => "server",
            CertKind::Client => "client",
            CertKind::Smime => "smime",
            CertKind::CodeSigning => "codesign",
        }
    }
    pub fn parse(s: &str) -> Option<CertKind> {
        CertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// In words, for lists and notices.
    pub fn label(self) -> &'static str {
        match self {
            CertKind::Server => "server",
            CertKind::Client => "client",
            CertKind::Smime => "S/MIME",
            CertKind::CodeSigning => "code signing",
        }
    }
    /// The kind an extended key usage says, from its purposes' OIDs
    /// (dotted): codeSigning first (a code-signing certificate may also
    /// carry other purposes), then serverAuth, emailProtection, clientAuth.
    /// `None`: no purpose mailra knows.
    pub fn from_eku_oids<S: AsRef<str>>(oids: &[S]) -> Option<CertKind> {
        let has = |o: &str| oids.iter().any(|x| x.as_ref() == o);
        [
            ("1.3.6.1.5.5.7.3.3", CertKind::CodeSigning),
            ("1.3.6.1.5.5.7.3.1", CertKind::Server),
            ("1.3.6.1.5.5.7.3.4", CertKind::Smime),
            ("1.3.6.1.5.5.7.3.2", CertKind::Client),
        ]
        .into_iter()
        .find(|(oid, _)| has(oid))
        .map(|(_, k)| k)
    }
}

impl std::fmt::Display for CertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_from_eku_and_profile() {
        for (oids, kind) in [
            (vec!["1.3.6.1.5.5.7.3.3"], Some(CertKind::CodeSigning)),
            (
                vec!["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
                Some(CertKind::Server),
            ),
            (
                vec!["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.4"],
                Some(CertKind::Smime),
            ),
            (vec!["1.3.6.1.5.5.7.3.2"], Some(CertKind::Client)),
            (vec!["1.3.6.1.5.5.7.3.8"], None),
            (vec![], None),
        ] {
            assert_eq!(CertKind::from_eku_oids(&oids), kind, "{oids:?}");
        }
        for (p, k) in [
            (Profile::ServerRsa2048, CertKind::Server),
            (Profile::ServerP384, CertKind::Server),
            (Profile::Client48Months, CertKind::Client),
            (Profile::Smime823Days, CertKind::Smime),
        ] {
            assert_eq!(CertKind::of_profile(p), k);
        }
        for k in CertKind::ALL {
            assert_eq!(CertKind::parse(k.as_str()), Some(k));
        }
    }
}
