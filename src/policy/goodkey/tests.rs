//! Weak keys of each kind, as real CSRs through the form's CSR check
//! (`policy::server::check_csr`, which the CA's re-check calls too), and as
//! bare public keys against independent test material.

use openssl::bn::{BigNum, BigNumContext, BigNumRef, MsbOption};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::{X509Name, X509ReqBuilder};

use super::*;
use crate::model::Profile;
use crate::policy::server::check_csr;

const DEBIAN_SSL_RND: &str = include_str!("testdata/debian-ssl-be32-1000-rnd.pem");
const DEBIAN_SSL_NORND: &str = include_str!("testdata/debian-ssl-be32-1000-nornd-new.pem");
const DEBIAN_SSH: &str = include_str!("testdata/debian-ssh-be32-1000.pem");
const ROCA_PUBLIC: &str = include_str!("testdata/roca-rocacheck-bad.pem");
const NOT_ROCA_PUBLIC: &str = include_str!("testdata/roca-rocacheck-good.pem");

fn bn(v: u32) -> BigNum {
    BigNum::from_u32(v).unwrap()
}

/// An RSA key from chosen primes (d, CRT values derived), so that a CSR
/// can be signed with a key of exactly the weakness under test.
fn key_from_primes(p: &BigNumRef, q: &BigNumRef, e: u32) -> PKey<Private> {
    let mut ctx = BigNumContext::new().unwrap();
    let mut n = BigNum::new().unwrap();
    n.checked_mul(p, q, &mut ctx).unwrap();
    let (mut p1, mut q1) = (p.to_owned().unwrap(), q.to_owned().unwrap());
    p1.sub_word(1).unwrap();
    q1.sub_word(1).unwrap();
    let (mut g, mut phi, mut lcm) = (
        BigNum::new().unwrap(),
        BigNum::new().unwrap(),
        BigNum::new().unwrap(),
    );
    g.gcd(&p1, &q1, &mut ctx).unwrap();
    phi.checked_mul(&p1, &q1, &mut ctx).unwrap();
    lcm.checked_div(&phi, &g, &mut ctx).unwrap();
    let e = bn(e);
    let mut d = BigNum::new().unwrap();
    d.mod_inverse(&e, &lcm, &mut ctx).unwrap();
    let (mut dp, mut dq, mut qi) = (
        BigNum::new().unwrap(),
        BigNum::new().unwrap(),
        BigNum::new().unwrap(),
    );
    dp.nnmod(&d, &p1, &mut ctx).unwrap();
    dq.nnmod(&d, &q1, &mut ctx).unwrap();
    qi.mod_inverse(q, p, &mut ctx).unwrap();
    let rsa = Rsa::from_private_components(
        n,
        e,
        d,
        p.to_owned().unwrap(),
        q.to_owned().unwrap(),
        dp,
        dq,
        qi,
    )
    .unwrap();
    PKey::from_rsa(rsa).unwrap()
}

fn prime(bits: i32) -> BigNum {
    let mut p = BigNum::new().unwrap();
    p.generate_prime(bits, false, None, None).unwrap();
    p
}

/// The first prime at or after `from`.
fn next_prime(from: &BigNumRef) -> BigNum {
    let mut ctx = BigNumContext::new().unwrap();
    let mut q = from.to_owned().unwrap();
    if !q.is_odd() {
        q.add_word(1).unwrap();
    }
    while !q.is_prime(20, &mut ctx).unwrap() {
        q.add_word(2).unwrap();
    }
    q
}

/// p and the first prime after p + 2^gap: Fermat-close when gap is small.
fn close_primes_key(gap: i32) -> PKey<Private> {
    loop {
        let p = prime(1024);
        let mut start = BigNum::new().unwrap();
        start.set_bit(gap).unwrap();
        let sum = &p + &start;
        let q = next_prime(&sum);
        let key = key_from_primes(&p, &q, 65537);
        if key.bits() == 2048 {
            return key;
        }
    }
}

/// A 2048-bit modulus with the factor 751 (the largest prime below 752).
fn small_factor_key() -> PKey<Private> {
    loop {
        let key = key_from_primes(&bn(751), &prime(2038), 65537);
        if key.bits() == 2048 {
            return key;
        }
    }
}

/// Primes built the way Infineon's library did (ROCA): k·M + (65537^a mod M),
/// M the product of the first 126 primes (the 2048-bit parameters).
fn roca_key() -> PKey<Private> {
    let mut ctx = BigNumContext::new().unwrap();
    let mut m = bn(1);
    let mut count = 0;
    let mut c = 2u32;
    while count < 126 {
        if (2..c)
            .take_while(|d| d * d <= c)
            .all(|d| !c.is_multiple_of(d))
        {
            m.mul_word(c).unwrap();
            count += 1;
        }
        c += 1;
    }
    let roca_prime = |ctx: &mut BigNumContext| loop {
        let mut a = BigNum::new().unwrap();
        a.rand(60, MsbOption::MAYBE_ZERO, false).unwrap();
        let mut g = BigNum::new().unwrap();
        g.mod_exp(&bn(65537), &a, &m, ctx).unwrap();
        let mut k = BigNum::new().unwrap();
        k.rand(1024 - m.num_bits(), MsbOption::TWO_ONES, false)
            .unwrap();
        let mut km = BigNum::new().unwrap();
        km.checked_mul(&k, &m, ctx).unwrap();
        let p = &km + &g;
        if p.is_prime(20, ctx).unwrap() {
            return p;
        }
    };
    loop {
        let p = roca_prime(&mut ctx);
        let q = roca_prime(&mut ctx);
        let key = key_from_primes(&p, &q, 65537);
        if key.bits() == 2048 && p != q {
            return key;
        }
    }
}

/// The same modulus with e = 65537 (the Debian list is of moduli; the
/// ssh-keygen keys used e = 35).
fn with_f4(pem: &str) -> PKey<Private> {
    let rsa = Rsa::private_key_from_pem(pem.as_bytes()).unwrap();
    key_from_primes(rsa.p().unwrap(), rsa.q().unwrap(), 65537)
}

fn csr(key: &PKey<Private>) -> Vec<u8> {
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_text("CN", "www.example.ac.jp")
        .unwrap();
    let name = name.build();
    let mut b = X509ReqBuilder::new().unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    let md = if key.id() == openssl::pkey::Id::EC {
        MessageDigest::sha384()
    } else {
        MessageDigest::sha256()
    };
    b.sign(key, md).unwrap();
    b.build().to_der().unwrap()
}

/// A P-384 CSR whose SPKI point bytes are replaced (signature left as is).
fn csr_with_point(bits: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    let good = csr(&p384());
    let mut req = x509_cert::request::CertReq::from_der(&good).unwrap();
    req.info.public_key.subject_public_key = der::asn1::BitString::from_bytes(bits).unwrap();
    req.to_der().unwrap()
}

fn p384() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::SECP384R1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn errors(der: &[u8], profile: Profile) -> Vec<String> {
    match check_csr(der, profile) {
        Ok(_) => vec![],
        Err(es) => es.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn weak_csrs_are_refused_naming_the_rule() {
    let good_rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let e3 = PKey::from_rsa(Rsa::generate_with_e(2048, &bn(3)).unwrap()).unwrap();
    let debian = "the CSR's RSA key is a known Debian weak key (OpenSSL random-number bug of 2008, CVE-2008-0166): its private key is public; generate a new key pair";
    let on_curve = {
        let pk = p384();
        let ec = pk.ec_key().unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        ec.public_key()
            .to_bytes(
                ec.group(),
                openssl::ec::PointConversionForm::UNCOMPRESSED,
                &mut ctx,
            )
            .unwrap()
    };
    let mut off_curve = on_curve.clone();
    *off_curve.last_mut().unwrap() ^= 1;
    let cases: Vec<(&str, Vec<u8>, Profile, Vec<String>)> = vec![
        ("RSA 2048, e = 65537", csr(&good_rsa), Profile::ServerRsa2048, vec![]),
        ("P-384", csr(&p384()), Profile::ServerP384, vec![]),
        (
            "exponent 3",
            csr(&e3),
            Profile::ServerRsa2048,
            vec!["the CSR's RSA public exponent is 3; only 65537 is accepted".into()],
        ),
        (
            "Debian weak key (openssl genrsa, with ~/.rnd)",
            csr(&PKey::from_rsa(Rsa::private_key_from_pem(DEBIAN_SSL_RND.as_bytes()).unwrap()).unwrap()),
            Profile::ServerRsa2048,
            vec![debian.into()],
        ),
        (
            "Debian weak key (openssl genrsa, without ~/.rnd)",
            csr(&PKey::from_rsa(Rsa::private_key_from_pem(DEBIAN_SSL_NORND.as_bytes()).unwrap()).unwrap()),
            Profile::ServerRsa2048,
            vec![debian.into()],
        ),
        (
            "Debian weak key (ssh-keygen, e = 35): the list comes first",
            csr(&PKey::from_rsa(Rsa::private_key_from_pem(DEBIAN_SSH.as_bytes()).unwrap()).unwrap()),
            Profile::ServerRsa2048,
            vec![debian.into()],
        ),
        (
            "Debian weak modulus with e = 65537",
            csr(&with_f4(DEBIAN_SSH)),
            Profile::ServerRsa2048,
            vec![debian.into()],
        ),
        (
            "prime factor 751",
            csr(&small_factor_key()),
            Profile::ServerRsa2048,
            vec!["the CSR's RSA modulus is divisible by 751; a modulus with a prime factor below 752 is refused, generate a new key pair".into()],
        ),
        (
            "ROCA structure",
            csr(&roca_key()),
            Profile::ServerRsa2048,
            vec!["the CSR's RSA key has the ROCA fingerprint (CVE-2017-15361, Infineon chips' key generation) and can be factored; generate the key pair elsewhere or update the chip's firmware".into()],
        ),
        (
            "q = the prime after p",
            csr(&close_primes_key(1)),
            Profile::ServerRsa2048,
            vec!["the CSR's RSA modulus is factored by Fermat's method in 1 round(s): its two primes are too close together; generate a new key pair".into()],
        ),
        (
            "P-384 point off the curve",
            csr_with_point(&off_curve),
            Profile::ServerP384,
            vec!["the CSR's EC public key is not a point on the P-384 curve".into()],
        ),
        (
            "P-384 point at infinity",
            csr_with_point(&[0]),
            Profile::ServerP384,
            vec![
                "the CSR's EC public key is the point at infinity (the identity), not a public key".into(),
                "the CSR's signature does not verify (the CSR is damaged or was edited)".into(),
            ],
        ),
    ];
    for (name, der, profile, expected) in cases {
        assert_eq!(errors(&der, profile), expected, "{name}");
    }
}

#[test]
fn fermat_search_is_bounded() {
    // p and q 2^516 apart: found after a few rounds, not the first.
    let near = close_primes_key(516);
    let rsa = near.rsa().unwrap();
    match check(
        &public(&near),
        &KeyRule::for_profile(Profile::ServerRsa2048),
    ) {
        Err(WeakKey::Fermat(r)) => assert!((2..=FERMAT_ROUNDS).contains(&r), "{r}"),
        other => panic!("{other:?} for n = {}", rsa.n()),
    }
    // 2^530 apart needs about 2^1060 / 2^1027 rounds: beyond the bound, accepted.
    let far = close_primes_key(530);
    assert_eq!(
        check(&public(&far), &KeyRule::for_profile(Profile::ServerRsa2048)),
        Ok(())
    );
}

fn public(k: &PKey<Private>) -> PKey<Public> {
    PKey::public_key_from_der(&k.public_key_to_der().unwrap()).unwrap()
}

#[test]
fn public_keys_against_independent_material() {
    let rule = KeyRule::for_profile(Profile::ServerRsa2048);
    let pem = |s: &str| PKey::public_key_from_pem(s.as_bytes()).unwrap();
    let p384_rule = KeyRule::for_profile(Profile::ServerP384);
    let group = EcGroup::from_curve_name(Nid::SECP384R1).unwrap();
    let identity =
        PKey::from_ec_key(EcKey::from_public_key(&group, &EcPoint::new(&group).unwrap()).unwrap())
            .unwrap();
    let p256 = {
        let g = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        public(&PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap())
    };
    type Case<'a> = (&'a str, PKey<Public>, &'a KeyRule, Result<(), WeakKey>);
    let cases: Vec<Case> = vec![
        // titanous/rocacheck's test vectors (real Infineon keys and controls).
        (
            "rocacheck bad key",
            pem(ROCA_PUBLIC),
            &rule,
            Err(WeakKey::Roca),
        ),
        ("rocacheck good key", pem(NOT_ROCA_PUBLIC), &rule, Ok(())),
        (
            "P-384 identity",
            identity,
            &p384_rule,
            Err(WeakKey::EcIdentity),
        ),
        (
            "P-256 for profile 11",
            p256,
            &p384_rule,
            Err(WeakKey::Kind("a P-384 (secp384r1)")),
        ),
        (
            "RSA 3072 for profile 3",
            public(&PKey::from_rsa(Rsa::generate(3072).unwrap()).unwrap()),
            &rule,
            Err(WeakKey::Kind("an RSA 2048")),
        ),
    ];
    for (name, key, rule, expected) in cases {
        assert_eq!(check(&key, rule), expected, "{name}");
    }
}

#[test]
fn the_list_key_is_debians_openssl_modulus_sha1() {
    // `openssl rsa -noout -modulus -in KEY | sha1sum | cut -c21-40`, run once
    // on each test key when the list was written.
    for (pem, fp) in [
        (DEBIAN_SSL_RND, "25602db011c0478a79c6"),
        (DEBIAN_SSL_NORND, "5e64fa602429b51b4586"),
        (DEBIAN_SSH, "5475510dadf19a3f0c5a"),
    ] {
        let rsa = Rsa::private_key_from_pem(pem.as_bytes()).unwrap();
        assert_eq!(blocklist::fingerprint(rsa.n()), fp);
    }
}

#[test]
fn small_primes_are_boulders() {
    let primes = rsa::small_primes();
    assert_eq!(primes.len(), 133);
    assert_eq!((primes[0], primes[132]), (2, 751));
}

/// Cross-check with an independent implementation: `badkeys` (PyPI, Hanno
/// Böck), run offline with the checks that need no downloaded blocklist.
/// Skipped, with a note, where it is not installed.
#[test]
fn badkeys_finds_the_same_weaknesses() {
    let checks = "fermat,roca,smallfactors,rsawarnings";
    if std::process::Command::new("badkeys")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("badkeys not installed (pip install badkeys): cross-check skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let e3 = PKey::from_rsa(Rsa::generate_with_e(2048, &bn(3)).unwrap()).unwrap();
    let good = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let rule = KeyRule::for_profile(Profile::ServerRsa2048);
    let cases: Vec<(&str, PKey<Private>, Option<&str>)> = vec![
        ("good", good, None),
        ("e3", e3, Some("rsawarnings")),
        ("factor751", small_factor_key(), Some("smallfactors")),
        ("roca", roca_key(), Some("roca")),
        ("fermat", close_primes_key(1), Some("fermat")),
    ];
    for (name, key, expected) in cases {
        let path = dir.path().join(format!("{name}.csr"));
        let der = csr(&key);
        let pem = openssl::x509::X509Req::from_der(&der)
            .unwrap()
            .to_pem()
            .unwrap();
        std::fs::write(&path, pem).unwrap();
        let out = std::process::Command::new("badkeys")
            .args(["-c", checks, "-w", "-j"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        match expected {
            None => {
                assert!(text.trim().is_empty(), "{name}: badkeys says {text}");
                assert_eq!(check(&public(&key), &rule), Ok(()), "{name}");
            }
            Some(found) => {
                let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
                assert!(
                    v["results"].get(found).is_some(),
                    "{name}: badkeys says {text}"
                );
                assert!(check(&public(&key), &rule).is_err(), "{name}");
            }
        }
    }
}
