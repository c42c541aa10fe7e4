//! The server forms' rules as tables: each case is a row as an officer writes
//! it and the errors `mailra` must answer, checked through the form-family
//! dispatcher as `ra` and `mailra check` do.

mod across;
mod existing;
mod issue;
mod lookup;

use base64::Engine;
use der::Decode;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Name, X509ReqBuilder};
use std::sync::OnceLock;

use super::*;
use crate::intake::application::Record;
use crate::model::{CertLookup, CertStatus, LookupError, Profile, Serial};

/// A file as `ra` reads an attachment named `*.tsv`, with every look-up
/// answered (failing look-ups have their own table, `lookup`).
pub(super) fn check_file(bytes: &[u8], ctx: &Context) -> Checked {
    crate::policy::forms::check_file("test.tsv", bytes, ctx).expect("no look-up fails here")
}

pub(super) const DN: &str = "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

pub(super) fn rsa(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}
pub(super) fn ec(nid: Nid) -> PKey<Private> {
    PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap()).unwrap()
}
pub(super) fn rsa2048() -> &'static PKey<Private> {
    static K: OnceLock<PKey<Private>> = OnceLock::new();
    K.get_or_init(|| rsa(2048))
}
pub(super) fn rsa2048_b() -> &'static PKey<Private> {
    static K: OnceLock<PKey<Private>> = OnceLock::new();
    K.get_or_init(|| rsa(2048))
}
pub(super) fn p384() -> &'static PKey<Private> {
    static K: OnceLock<PKey<Private>> = OnceLock::new();
    K.get_or_init(|| ec(Nid::SECP384R1))
}

pub(super) fn csr_with(name: &X509Name, key: &PKey<Private>, md: MessageDigest) -> Vec<u8> {
    let mut b = X509ReqBuilder::new().unwrap();
    b.set_subject_name(name).unwrap();
    b.set_pubkey(key).unwrap();
    b.sign(key, md).unwrap();
    b.build().to_der().unwrap()
}
/// A correctly signed CSR whose rsaEncryption SPKI omits the NULL
/// parameters (the encoding OpenSSL would not write itself).
pub(super) fn csr_without_rsa_null(name: &X509Name, key: &PKey<Private>) -> Vec<u8> {
    use der::Encode;
    use openssl::sign::Signer;
    let good = csr_with(name, key, MessageDigest::sha256());
    let mut req = x509_cert::request::CertReq::from_der(&good).unwrap();
    req.info.public_key.algorithm.parameters = None;
    let tbs = req.info.to_der().unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(&tbs).unwrap();
    req.signature = der::asn1::BitString::from_bytes(&signer.sign_to_vec().unwrap()).unwrap();
    req.to_der().unwrap()
}

pub(super) fn csr(dn_text: &str, key: &PKey<Private>) -> String {
    let name = dn::parse(dn_text).unwrap().to_x509_name().unwrap();
    b64(&csr_with(&name, key, MessageDigest::sha256()))
}
pub(super) fn b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

pub(super) fn inst() -> Institution {
    Institution {
        id: 7,
        name: "Example University".into(),
        st: "Tokyo".into(),
        l: "Chiyoda-ku".into(),
        domains: vec!["example.ac.jp".into()],
        organization_identifier: None,
        p12_encryption: None,
    }
}

/// The context of `mailra check FILE` for `i`: no store, no reserved key.
pub(super) fn offline(i: &Institution) -> Context<'_> {
    Context {
        institution: Some(i),
        certs: None,
        ecdsa_ca: None,
        reserved_keys: &[],
    }
}

pub(super) fn issue_fields(csr: &str) -> Vec<String> {
    let mut f = vec![String::new(); 13];
    f[0] = DN.into();
    f[1] = "3".into();
    f[6] = csr.into();
    f[7] = "国立　太郎".into();
    f[8] = "学術基盤推進部".into();
    f[9] = "taro@example.ac.jp".into();
    f[10] = "www.example.ac.jp".into();
    f[11] = "apache2.4".into();
    f
}

pub(super) fn file(rows: &[Vec<String>]) -> Vec<u8> {
    let text: String = rows.iter().map(|r| r.join("\t") + "\r\n").collect();
    let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!bad);
    b.into_owned()
}

pub(super) fn lines(c: &Checked) -> Vec<String> {
    c.errors.iter().map(ToString::to_string).collect()
}

pub(super) struct Certs(pub(super) Vec<crate::model::CertSummary>);
impl CertLookup for Certs {
    fn by_serial(&self, s: &Serial) -> Result<Option<crate::model::CertSummary>, LookupError> {
        Ok(self.0.iter().find(|c| &c.serial == s).cloned())
    }
    // These tables are about renewal and revocation; key reuse has its
    // own table (policy::keyreuse) and a pipeline test.
    fn key_holders(&self, _: &str) -> Result<Vec<crate::model::KeyHolder>, LookupError> {
        Ok(Vec::new())
    }
}
pub(super) fn spki_hash(k: &PKey<Private>) -> String {
    hex::encode(openssl::sha::sha256(&k.public_key_to_der().unwrap()))
}
pub(super) fn summary(
    serial: u8,
    status: CertStatus,
    inst_id: i64,
    key: &PKey<Private>,
) -> crate::model::CertSummary {
    crate::model::CertSummary {
        serial: Serial::from_bytes(&[serial]),
        dn: dn::parse(DN).unwrap(),
        institution_id: inst_id,
        status,
        spki_sha256: spki_hash(key),
        profile: Some(Profile::ServerRsa2048),
        kind: crate::model::CertKind::Server,
    }
}

#[test]
fn detection() {
    let good = csr(DN, rsa2048());
    let issue = issue_fields(&good);
    let mut renew = issue_fields(&good);
    renew[3] = "0x01".into();
    let mut revoke = vec![String::new(); 13];
    revoke[0] = DN.into();
    revoke[3] = "1".into();
    revoke[4] = "5".into();
    let rec = |line: usize, f: &Vec<String>| Record {
        line,
        fields: f.clone(),
    };
    assert_eq!(
        detect_kind(&[rec(1, &issue), rec(2, &issue)]),
        Ok(FormKind::ServerIssue)
    );
    assert_eq!(detect_kind(&[rec(1, &renew)]), Ok(FormKind::ServerRenew));
    assert_eq!(detect_kind(&[rec(1, &revoke)]), Ok(FormKind::ServerRevoke));
    let e = detect_kind(&[rec(1, &revoke), rec(2, &issue), rec(3, &revoke)]).unwrap_err();
    assert_eq!(
        e.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "line 2: has a CSR and no serial so it looks like a 5-3-1 row (server certificate issuance), but the file is 5-3-3 (server certificate revocation) as decided by its first row, line 1; put each form in its own file"
        ]
    );
}

#[test]
fn serials() {
    let long = "9".repeat(51);
    let cases: Vec<(&str, Result<Vec<u8>, &str>)> = vec![
        ("1", Ok(vec![1])),
        (
            "0x112210E261FEC92B",
            Ok(vec![0x11, 0x22, 0x10, 0xE2, 0x61, 0xFE, 0xC9, 0x2B]),
        ),
        ("0X0abc", Ok(vec![0x0a, 0xbc])),
        (
            "1234567812345678123",
            Ok(BigNum::from_dec_str("1234567812345678123")
                .unwrap()
                .to_vec()),
        ),
        ("", Err("is required")),
        (
            "0x",
            Err("must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `0x`"),
        ),
        (
            "12AB",
            Err(
                "must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `12AB` (hexadecimal needs the 0x prefix)",
            ),
        ),
        (
            "-5",
            Err("must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `-5`"),
        ),
        (&long, Err("is 51 characters, at most 50 allowed")),
    ];
    for (input, expected) in cases {
        let got = parse_serial(input);
        match expected {
            Ok(b) => assert_eq!(got, Ok(Serial::from_bytes(&b)), "{input}"),
            Err(e) => assert_eq!(got, Err(e.to_string()), "{input}"),
        }
    }
}
