//! The instance's own keys, which no CSR may carry (policy::keyreuse): the
//! robot's signing certificate and its chain, the issuing CAs and their
//! chains, the officer CAs, the officer certificate that signed the mail at
//! hand, and the signing certificate of every registered officer whose mail
//! was verified since the store has kept signer keys
//! (`mails.signer_spki_sha256`, migration 16).

use openssl::x509::X509;

use crate::ca::cert_spki_sha256;
use crate::model::CaKind;
use crate::policy::keyreuse::ReservedKey;

use super::Env;
use crate::store;

/// The reserved keys for a mail signed by the certificate `signer_der`.
pub(crate) fn reserved_keys(env: &Env, signer_der: &[u8]) -> store::Result<Vec<ReservedKey>> {
    let mut out = Vec::new();
    let mut add = |cert: &X509, holder: &str| {
        let spki_sha256 = cert_spki_sha256(cert);
        if !spki_sha256.is_empty()
            && !out
                .iter()
                .any(|r: &ReservedKey| r.spki_sha256 == spki_sha256)
        {
            out.push(ReservedKey {
                spki_sha256,
                holder: holder.to_string(),
            });
        }
    };
    if let Ok(signer) = X509::from_der(signer_der) {
        add(&signer, "the officer certificate that signed this mail");
    }
    add(&env.signer.cert, "the robot's signing certificate");
    for c in &env.signer.chain {
        add(c, "a CA of the robot's signing certificate");
    }
    for kind in env.ca_kinds() {
        let Some(ca) = env.issuing_ca(kind) else {
            continue;
        };
        let name = match kind {
            CaKind::Rsa => "the RSA issuing CA",
            CaKind::Ec => "the ECDSA issuing CA",
        };
        add(ca.cert(), name);
        for c in X509::stack_from_pem(&ca.chain_pem()).unwrap_or_default() {
            add(&c, &format!("a CA above {name}"));
        }
    }
    for c in &env.trust.officer_cas {
        add(c, "an officer CA");
    }
    // Other officers' keys are not named: the reply goes to another officer.
    for spki_sha256 in store::officer_signing_keys(&env.conn)? {
        if !out.iter().any(|r| r.spki_sha256 == spki_sha256) {
            out.push(ReservedKey {
                spki_sha256,
                holder: "a registered officer's signing certificate".into(),
            });
        }
    }
    Ok(out)
}
