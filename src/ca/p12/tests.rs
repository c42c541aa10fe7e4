//! The PKCS#12 files open where users open them: with the openssl CLI
//! (without `-legacy`) and with the openssl crate, with the PIN and only
//! with it, in the encryption profile asked for.

use std::path::Path;
use std::process::{Command, Output};

use openssl::pkcs12::Pkcs12;
use time::OffsetDateTime;

use super::*;
use crate::ca::{KeyKind, KeyPair, new_ca, new_mail_cert};

const PIN: &str = "Kq7#mZ2xTt9pWd4rYh8nBc";

fn pki() -> (KeyPair, KeyPair) {
    let now = OffsetDateTime::now_utc();
    let ca = new_ca("Test Issuing CA", "Example", now, 30, KeyKind::Rsa2048).unwrap();
    let leaf = new_mail_cert(&ca, "taro@example.ac.jp", "taro@example.ac.jp", now, 30).unwrap();
    (ca, leaf)
}

fn openssl(args: &[&str], file: &Path) -> Output {
    Command::new("openssl")
        .args(["pkcs12", "-in"])
        .arg(file)
        .args(args)
        .output()
        .expect("the openssl CLI is needed for these tests")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn both_profiles_open_with_the_openssl_cli_and_crate_with_the_pin_only() {
    let (ca, leaf) = pki();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            P12Encryption::Compatible,
            &[
                "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048",
                "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048",
                "MAC: sha1, Iteration 2048",
                "salt length: 8",
            ][..],
        ),
        (
            P12Encryption::Modern,
            &[
                "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256",
                "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256",
                "MAC: sha256, Iteration 2048",
                "salt length: 8",
            ][..],
        ),
    ];
    for (enc, expected) in cases {
        let der = build_p12(
            "taro@example.ac.jp",
            &leaf.key,
            &leaf.cert,
            std::slice::from_ref(&ca.cert),
            PIN,
            enc,
        )
        .unwrap();
        let f = dir.path().join(format!("{enc}.p12"));
        std::fs::write(&f, &der).unwrap();

        // The CLI, as a user would: no -legacy.
        let pass = format!("pass:{PIN}");
        let out = openssl(&["-passin", &pass, "-nodes", "-info"], &f);
        let t = text(&out);
        assert!(out.status.success(), "{enc}: openssl cannot open it:\n{t}");
        for e in expected {
            assert!(t.contains(e), "{enc}: `{e}` missing in -info:\n{t}");
        }
        let key = openssl::pkey::PKey::private_key_from_pem(&out.stdout).unwrap();
        assert!(leaf.cert.public_key().unwrap().public_eq(&key), "{enc}");
        let certs = openssl::x509::X509::stack_from_pem(&out.stdout).unwrap();
        let ders: Vec<Vec<u8>> = certs.iter().map(|c| c.to_der().unwrap()).collect();
        assert!(
            ders.contains(&leaf.cert.to_der().unwrap()),
            "{enc}: no leaf"
        );
        assert!(ders.contains(&ca.cert.to_der().unwrap()), "{enc}: no chain");

        let wrong = openssl(&["-passin", "pass:Kq7#mZ2xTt9pWd4rYh8nBd", "-nodes"], &f);
        assert!(!wrong.status.success(), "{enc}: opened with a wrong PIN");

        // The crate.
        let parsed = Pkcs12::from_der(&der).unwrap().parse2(PIN).unwrap();
        let (key, cert) = (parsed.pkey.unwrap(), parsed.cert.unwrap());
        assert!(cert.public_key().unwrap().public_eq(&key), "{enc}");
        assert_eq!(cert.to_der().unwrap(), leaf.cert.to_der().unwrap());
        let chain = parsed.ca.unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].to_der().unwrap(), ca.cert.to_der().unwrap());
        assert!(Pkcs12::from_der(&der).unwrap().parse2("wrong").is_err());
    }
}

#[test]
fn pins_openssl_would_panic_on_or_importers_break_on_are_refused() {
    let (ca, leaf) = pki();
    for pin in ["", "abc\0def", "pinはだめ", "tab\there"] {
        let r = build_p12(
            "x",
            &leaf.key,
            &leaf.cert,
            std::slice::from_ref(&ca.cert),
            pin,
            P12Encryption::Compatible,
        );
        assert!(matches!(r, Err(CaError::Pin(_))), "{pin:?}: {r:?}");
    }
    let r = build_p12(
        "a\0b",
        &leaf.key,
        &leaf.cert,
        &[],
        PIN,
        P12Encryption::Modern,
    );
    assert!(matches!(r, Err(CaError::P12Name(_))), "{r:?}");
}

#[test]
fn encryption_names_round_trip() {
    for e in P12Encryption::ALL {
        assert_eq!(e.as_str().parse::<P12Encryption>(), Ok(e));
    }
    assert!("legacy".parse::<P12Encryption>().is_err());
    assert_eq!(P12Encryption::default(), P12Encryption::Compatible);
}
