//! Issuance rows (5-3-1): fields, profiles, CSRs, and the CA's re-check.

use super::*;
use crate::model::Request;

#[test]
fn issue_field_rules() {
    let good = csr(DN, rsa2048());
    let i = inst();
    let ctx = offline(&i);
    type Edit = Box<dyn Fn(&mut Vec<String>)>;
    let cases: Vec<(Edit, Vec<&str>)> = vec![
        (Box::new(|_| {}), vec![]),
        (
            Box::new(|f| f[1] = "5".into()),
            vec!["line 1: field 2 (profile ID): must be 3 (RSA 2048) or 11 (ECDSA P-384), not `5`"],
        ),
        (
            Box::new(|f| f[1] = "".into()),
            vec!["line 1: field 2 (profile ID): is required"],
        ),
        (
            Box::new(|f| f[1] = "11".into()),
            vec![
                "line 1: field 7 (CSR): profile 11 needs a P-384 (secp384r1) key, the CSR has RSA 2048",
                "line 1: field 7 (CSR): profile 11 CSRs must be signed with ecdsa-with-SHA256 or ecdsa-with-SHA384, this one is signed with sha256WithRSAEncryption",
            ],
        ),
        (
            Box::new(|f| f[2] = "x".into()),
            vec!["line 1: field 3 (unused): must be empty in a 5-3-1 row"],
        ),
        (
            Box::new(|f| f[5] = "x".into()),
            vec!["line 1: field 6 (unused): must be empty in a 5-3-1 row"],
        ),
        (
            Box::new(|f| f[7] = "あ".repeat(65)),
            vec!["line 1: field 8 (admin name): is 65 characters, at most 64 allowed"],
        ),
        (Box::new(|f| f[7] = "あ".repeat(64)), vec![]),
        (
            Box::new(|f| f[8] = "a".repeat(65)),
            vec!["line 1: field 9 (admin dept): is 65 characters, at most 64 allowed"],
        ),
        (
            Box::new(|f| f[9] = "".into()),
            vec!["line 1: field 10 (admin mail): is required"],
        ),
        (
            Box::new(|f| f[9] = "taro@example".into()),
            vec!["line 1: field 10 (admin mail): `taro@example` is not a valid mail address"],
        ),
        (
            Box::new(|f| f[9] = "taro.example.ac.jp".into()),
            vec![
                "line 1: field 10 (admin mail): `taro.example.ac.jp` is not a mail address (no @)",
            ],
        ),
        (
            Box::new(|f| f[9] = "ｔａｒｏ@example.ac.jp".into()),
            vec!["line 1: field 10 (admin mail): must be half-width, without spaces"],
        ),
        (
            Box::new(|f| f[9] = format!("{}@example.ac.jp", "a".repeat(65))),
            vec!["line 1: field 10 (admin mail): is 79 characters, at most 78 allowed"],
        ),
        (
            Box::new(|f| f[10] = "web.example.ac.jp".into()),
            vec!["line 1: field 11 (admin FQDN): must equal the CN of field 1 (www.example.ac.jp)"],
        ),
        (
            Box::new(|f| f[10] = "".into()),
            vec!["line 1: field 11 (admin FQDN): is required"],
        ),
        (Box::new(|f| f[10] = "WWW.example.ac.jp".into()), vec![]),
        (
            Box::new(|f| f[11] = "".into()),
            vec!["line 1: field 12 (software): is required"],
        ),
        (
            Box::new(|f| f[11] = "a".repeat(129)),
            vec!["line 1: field 12 (software): is 129 characters, at most 128 allowed"],
        ),
        (
            Box::new(|f| f[12] = "dNSName=a.example.ac.jp,dNSName=b.example.ac.jp".into()),
            vec![],
        ),
        (
            Box::new(|f| f[12] = "dNSName=a.example.ac.jp,".into()),
            vec!["line 1: field 13 (dNSName): must not end with ','"],
        ),
        (
            Box::new(|f| f[12] = "a.example.ac.jp".into()),
            vec![
                "line 1: field 13 (dNSName): each entry must be written dNSName=host, not `a.example.ac.jp`",
            ],
        ),
        (
            Box::new(|f| f[12] = "dNSName=*.example.ac.jp".into()),
            vec![
                "line 1: field 13 (dNSName): dNSName `*.example.ac.jp` may contain only half-width letters, digits, '.' and '-', not '*'",
            ],
        ),
        (
            Box::new(|f| f[12] = "dNSName=www.example.com".into()),
            vec![
                "line 1: field 13 (dNSName): dNSName www.example.com is not inside the institution's domains (example.ac.jp)",
            ],
        ),
        (
            Box::new(|f| {
                f[12] = (1..=9)
                    .map(|n| format!("dNSName=h{n}.example.ac.jp"))
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            vec!["line 1: field 13 (dNSName): has 9 dNSNames, at most 8 allowed"],
        ),
        (
            Box::new(|f| {
                f[12] = (1..=7)
                    .map(|n| format!("dNSName={}{n}.example.ac.jp", "h".repeat(20)))
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            vec![
                "line 1: field 13 (dNSName): is 333 characters with the CN added, at most 250 allowed",
            ],
        ),
        (
            Box::new(|f| f[6] = format!("-----BEGIN CERTIFICATE REQUEST-----{}", f[6])),
            vec![
                "line 1: field 7 (CSR): contains the -----BEGIN/END CERTIFICATE REQUEST----- lines; write only the base64 body between them, on one line",
            ],
        ),
        (
            Box::new(|f| f[6] = format!("{} {}", &f[6][..10], &f[6][10..])),
            vec![
                "line 1: field 7 (CSR): may contain only base64 characters (A-Z a-z 0-9 + / =) on one line, not space",
            ],
        ),
        (
            Box::new(|f| f[6] = "A".repeat(2049)),
            vec!["line 1: field 7 (CSR): is 2049 characters, at most 2048 allowed"],
        ),
        (
            Box::new(|f| f[6] = "QUJD".into()),
            vec!["line 1: field 7 (CSR): is not a PKCS#10 certificate request"],
        ),
        (
            Box::new(|f| f[6] = "QUJ".into()),
            vec!["line 1: field 7 (CSR): is not valid base64"],
        ),
        (
            Box::new(|f| f[6] = "".into()),
            vec![
                "line 1: cannot tell which form this row is: it has neither a CSR (field 7) nor a serial (field 4)",
            ],
        ),
        (
            Box::new(|f| {
                f[0] = "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Osaka,C=JP".into()
            }),
            vec![
                "line 1: field 1 (subject DN): ST= must be the registered prefecture `Tokyo`, not `Osaka`",
            ],
        ),
        (
            Box::new(|f| {
                f[0] = "CN=www.example.ac.jp,OU=IT,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP"
                    .into()
            }),
            vec![
                "line 1: field 1 (subject DN): must equal the CSR's subject CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            ],
        ),
        (
            Box::new(|f| {
                f[0] = "CN=www.example.com,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP".into();
                f[10] = "www.example.com".into();
            }),
            vec![
                "line 1: field 1 (subject DN): CN= www.example.com is not inside the institution's domains (example.ac.jp)",
            ],
        ),
    ];
    for (n, (edit, expected)) in cases.into_iter().enumerate() {
        let mut f = issue_fields(&good);
        edit(&mut f);
        let c = check_file(&file(&[f]), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
        assert_eq!(c.rows.len(), usize::from(expected.is_empty()), "case {n}");
    }
}

#[test]
fn profile_11_is_refused_without_an_ecdsa_issuing_ca() {
    let name = dn::parse(DN).unwrap().to_x509_name().unwrap();
    let ec_csr = b64(&csr_with(&name, p384(), MessageDigest::sha384()));
    let p11 = {
        let mut f = issue_fields(&ec_csr);
        f[1] = "11".into();
        f
    };
    let p11_renewal = {
        let mut f = p11.clone();
        f[3] = "0x1234".into();
        f
    };
    let p3 = issue_fields(&csr(DN, rsa2048()));
    let refused = "line 1: field 2 (profile ID): profile 11 (ECDSA P-384) is not offered: no ECDSA issuing CA is configured; use profile 3 (RSA 2048) or ask the secretariat";
    let i = inst();
    // (ECDSA CA configured?, row, expected errors)
    let cases: Vec<(Option<bool>, &Vec<String>, Vec<&str>)> = vec![
        // Offline (`mailra check`): nothing known about the instance, no error.
        (None, &p11, vec![]),
        (Some(true), &p11, vec![]),
        (Some(false), &p11, vec![refused]),
        (Some(false), &p11_renewal, vec![refused]),
        (Some(false), &p3, vec![]),
    ];
    for (n, (ecdsa_ca, row, expected)) in cases.into_iter().enumerate() {
        let ctx = Context {
            institution: Some(&i),
            certs: None,
            ecdsa_ca,
            reserved_keys: &[],
        };
        let c = check_file(&file(std::slice::from_ref(row)), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
        assert_eq!(c.rows.len(), usize::from(expected.is_empty()), "case {n}");
    }
    // The refusal comes with every other error of the row, not instead of them.
    let mut also_bad = p11.clone();
    also_bad[9] = "not-a-mail".into();
    let c = check_file(
        &file(&[also_bad]),
        &Context {
            ecdsa_ca: Some(false),
            ..Context::default()
        },
    );
    assert_eq!(lines(&c)[0], refused);
    assert!(
        lines(&c).iter().any(|l| l.contains("field 10")),
        "{:?}",
        lines(&c)
    );
}

#[test]
fn csr_key_and_signature_rules() {
    let p384_dn = |profile: &str, der: Vec<u8>| {
        let mut f = issue_fields(&b64(&der));
        f[1] = profile.into();
        f
    };
    let name = dn::parse(DN).unwrap().to_x509_name().unwrap();
    let mut flipped = csr_with(&name, rsa2048(), MessageDigest::sha256());
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    let mut wrong_order = X509Name::builder().unwrap();
    for (a, v) in [
        ("C", "JP"),
        ("ST", "Tokyo"),
        ("O", "Example University"),
        ("L", "Chiyoda-ku"),
        ("CN", "www.example.ac.jp"),
    ] {
        wrong_order.append_entry_by_text(a, v).unwrap();
    }
    let wrong_order = wrong_order.build();
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            p384_dn("3", csr_without_rsa_null(&name, rsa2048())),
            vec![
                "line 1: field 7 (CSR): the CSR's rsaEncryption key must carry NULL algorithm parameters (RFC 3279); regenerate the CSR with a standard tool",
            ],
        ),
        (
            p384_dn("11", csr_with(&name, p384(), MessageDigest::sha384())),
            vec![],
        ),
        (
            p384_dn("11", csr_with(&name, p384(), MessageDigest::sha256())),
            vec![],
        ),
        (
            p384_dn("3", csr_with(&name, rsa2048(), MessageDigest::sha1())),
            vec![],
        ),
        (
            p384_dn("3", csr_with(&name, rsa2048(), MessageDigest::sha512())),
            vec![],
        ),
        (
            p384_dn("3", csr_with(&name, &rsa(1024), MessageDigest::sha256())),
            vec!["line 1: field 7 (CSR): profile 3 needs an RSA 2048 key, the CSR has RSA 1024"],
        ),
        (
            p384_dn(
                "11",
                csr_with(&name, &ec(Nid::X9_62_PRIME256V1), MessageDigest::sha256()),
            ),
            vec![
                "line 1: field 7 (CSR): profile 11 needs a P-384 (secp384r1) key, the CSR has ECDSA P-256",
            ],
        ),
        (
            p384_dn("11", csr_with(&name, p384(), MessageDigest::sha512())),
            vec![
                "line 1: field 7 (CSR): profile 11 CSRs must be signed with ecdsa-with-SHA256 or ecdsa-with-SHA384, this one is signed with ecdsa-with-SHA512",
            ],
        ),
        (
            p384_dn("3", csr_with(&name, p384(), MessageDigest::sha384())),
            vec![
                "line 1: field 7 (CSR): profile 3 needs an RSA 2048 key, the CSR has ECDSA P-384",
                "line 1: field 7 (CSR): profile 3 CSRs must be signed with sha1/sha256/sha384/sha512/md5WithRSAEncryption, this one is signed with ecdsa-with-SHA384",
            ],
        ),
        (
            p384_dn("3", flipped),
            vec![
                "line 1: field 7 (CSR): the CSR's signature does not verify (the CSR is damaged or was edited)",
            ],
        ),
        (
            p384_dn(
                "3",
                csr_with(&wrong_order, rsa2048(), MessageDigest::sha256()),
            ),
            vec![
                "line 1: field 1 (subject DN): the CSR's subject is in the order C,ST,O,L,CN; it must be C,ST,L,O,(OU),CN or exactly the reverse",
            ],
        ),
    ];
    for (n, (f, expected)) in cases.into_iter().enumerate() {
        let c = check_file(&file(&[f]), &Context::default());
        assert_eq!(lines(&c), expected, "case {n}");
    }
}

#[test]
fn issue_row_and_precheck() {
    let i = inst();
    let mut f = issue_fields(&csr(DN, rsa2048()));
    f[12] = "dNSName=a.example.ac.jp,dNSName=www.example.ac.jp,dNSName=A.example.ac.jp".into();
    let c = check_file(&file(&[f]), &offline(&i));
    let [Request::Server(ServerRequest::Issue(row))] = &c.rows[..] else {
        panic!("{:?}", c.errors)
    };
    assert_eq!(row.dns_names, ["www.example.ac.jp", "a.example.ac.jp"]);
    assert_eq!(row.admin_name, "国立　太郎");
    assert!(precheck_issue(row, &i).is_ok());
    let other = Institution {
        domains: vec!["other.ac.jp".into()],
        name: "Other".into(),
        ..inst()
    };
    let errs: Vec<String> = precheck_issue(row, &other)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "line 1: field 1 (subject DN): O= must be the registered institution name `Other`, not `Example University`",
            "line 1: field 1 (subject DN): CN= www.example.ac.jp is not inside the institution's domains (other.ac.jp)",
            "line 1: field 13 (dNSName): dNSName www.example.ac.jp is not inside the institution's domains (other.ac.jp)",
            "line 1: field 13 (dNSName): dNSName a.example.ac.jp is not inside the institution's domains (other.ac.jp)",
        ]
    );
}
