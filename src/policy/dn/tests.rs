//! The DN rules as tables: parsing field 1, the 2-1-1 rules, the institution's
//! values, and the CSR subject's order.

use super::*;
use openssl::x509::X509Name;

const GOOD: &str = "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

fn dn(parts: &[(&str, &str)]) -> Dn {
    Dn(parts
        .iter()
        .map(|(a, v)| (a.to_string(), v.to_string()))
        .collect())
}

#[test]
fn parses() {
    let long = "CN=a".repeat(63);
    let cases: Vec<(&str, Result<Dn, DnError>)> = vec![
        (
            GOOD,
            Ok(dn(&[
                ("CN", "www.example.ac.jp"),
                ("O", "Example University"),
                ("L", "Chiyoda-ku"),
                ("ST", "Tokyo"),
                ("C", "JP"),
            ])),
        ),
        (
            "cn=a.b.jp,OU=Dept. of X, Y,o=Univ. of A, B (C=D),L=x,ST=y,C=JP",
            Ok(dn(&[
                ("CN", "a.b.jp"),
                ("OU", "Dept. of X, Y"),
                ("O", "Univ. of A, B (C=D)"),
                ("L", "x"),
                ("ST", "y"),
                ("C", "JP"),
            ])),
        ),
        (
            "CN=a.b.jp,emailAddress=x@b.jp,C=JP",
            Ok(dn(&[
                ("CN", "a.b.jp"),
                ("EMAILADDRESS", "x@b.jp"),
                ("C", "JP"),
            ])),
        ),
        ("", Err(DnError::Empty)),
        (
            "www.example.ac.jp,O=X",
            Err(DnError::NoEquals("www.example.ac.jp".into())),
        ),
        ("FOO=bar,C=JP", Err(DnError::UnknownType("FOO".into()))),
        (&long, Err(DnError::TooLongDn(252))),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(input), expected, "{input}");
    }
}

#[test]
fn server_rules() {
    let long_cn = format!("CN={}.jp,O=E,L=x,ST=y,C=JP", "a".repeat(62));
    let long_o = format!("CN=a.jp,O={},L=x,ST=y,C=JP", "A".repeat(65));
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (GOOD, vec![]),
        (
            "CN=www.example.ac.jp,OU=Center for IT,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            vec![],
        ),
        (
            "CN=www.example.ac.jp,O=Example University,OU=X,L=Chiyoda-ku,ST=Tokyo,C=JP",
            vec![
                "must be in the order CN,O,L,ST,C (OU allowed between CN and O), not CN,O,OU,L,ST,C",
            ],
        ),
        (
            "C=JP,ST=Tokyo,L=Chiyoda-ku,O=Example University,CN=www.example.ac.jp",
            vec!["must be in the order CN,O,L,ST,C (OU allowed between CN and O), not C,ST,L,O,CN"],
        ),
        (
            "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,C=JP",
            vec!["ST= is missing"],
        ),
        (
            "CN=www.example.ac.jp,E=a@example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            vec![
                "attribute E is not allowed in a server certificate DN (only CN, OU, O, L, ST and C)",
            ],
        ),
        (
            "CN=a.jp,CN=b.jp,O=E,L=x,ST=y,C=JP",
            vec!["CN= appears more than once"],
        ),
        (
            "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=jp",
            vec!["C= must be JP, not jp"],
        ),
        (
            "CN=-www.example.ac.jp,O=E,L=x,ST=y,C=JP",
            vec!["CN= must not start or end with '.' or '-'"],
        ),
        (
            "CN=*.example.ac.jp,O=E,L=x,ST=y,C=JP",
            vec!["CN= may contain only half-width letters, digits, '.' and '-', not '*'"],
        ),
        (
            "CN=www..ac.jp,O=E,L=x,ST=y,C=JP",
            vec!["CN= has an empty label (\"..\")"],
        ),
        (
            "CN=localhost,O=E,L=x,ST=y,C=JP",
            vec!["CN= must be a fully qualified domain name (with a '.')"],
        ),
        (&long_cn, vec!["CN= is 65 characters, at most 64 allowed"]),
        (
            "CN=a.jp,O=Ex_University & Co,L=x,ST=y,C=JP",
            vec![
                "O= may contain only half-width letters, digits, space and '(),-./:=, not '_' '&'",
            ],
        ),
        (
            "CN=a.jp,O=東京大学,L=x,ST=y,C=JP",
            vec![
                "O= may contain only half-width letters, digits, space and '(),-./:=, not '東' '京' '大' '学'",
            ],
        ),
        (&long_o, vec!["O= is 65 characters, at most 64 allowed"]),
        (
            "CN=a.jp,O=Example ,L=x,ST=y,C=JP",
            vec!["O= must not start or end with a space"],
        ),
        ("CN=a.jp,O=E,L=,ST=y,C=JP", vec!["L= is empty"]),
    ];
    for (input, expected) in cases {
        let d = parse(input).unwrap();
        let got: Vec<String> = check_server(&d).iter().map(ToString::to_string).collect();
        assert_eq!(got, expected, "{input}");
    }
}

#[test]
fn institution_rules() {
    let domains = vec!["example.ac.jp".to_string(), "ex.jp".to_string()];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (GOOD, vec![]),
        (
            "CN=EXAMPLE.AC.JP,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            vec![],
        ),
        (
            "CN=a.b.ex.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            vec![],
        ),
        (
            "CN=www.badexample.ac.jp,O=Example Univ,L=Minato-ku,ST=Osaka,C=JP",
            vec![
                "O= must be the registered institution name `Example University`, not `Example Univ`",
                "ST= must be the registered prefecture `Tokyo`, not `Osaka`",
                "L= must be the registered locality `Chiyoda-ku`, not `Minato-ku`",
                "CN= www.badexample.ac.jp is not inside the institution's domains (example.ac.jp, ex.jp)",
            ],
        ),
    ];
    for (input, expected) in cases {
        let d = parse(input).unwrap();
        let got: Vec<String> =
            check_institution(&d, "Example University", "Tokyo", "Chiyoda-ku", &domains)
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(got, expected, "{input}");
    }
}

#[test]
fn x509_round_trip_and_csr_order() {
    let field1 =
        parse("CN=www.example.ac.jp,OU=IT,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP")
            .unwrap();
    let name = field1.to_x509_name().unwrap();
    let x509_order: Vec<String> = Dn::from_x509_name(&name)
        .unwrap()
        .0
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(x509_order, ["C", "ST", "L", "O", "OU", "CN"]);

    let build = |parts: &[(&str, &str)]| {
        let mut b = X509Name::builder().unwrap();
        for (a, v) in parts {
            b.append_entry_by_text(a, v).unwrap();
        }
        b.build()
    };
    let cases: Vec<(X509Name, Result<(), DnError>)> = vec![
        (name, Ok(())),
        (
            build(&[
                ("CN", "www.example.ac.jp"),
                ("OU", "IT"),
                ("O", "Example University"),
                ("L", "Chiyoda-ku"),
                ("ST", "Tokyo"),
                ("C", "JP"),
            ]),
            Ok(()),
        ),
        (
            build(&[
                ("C", "JP"),
                ("ST", "Tokyo"),
                ("L", "Chiyoda-ku"),
                ("OU", "IT"),
                ("O", "Example University"),
                ("CN", "www.example.ac.jp"),
            ]),
            Err(DnError::CsrOrder("C,ST,L,OU,O,CN".into())),
        ),
        (
            build(&[
                ("C", "JP"),
                ("ST", "Tokyo"),
                ("L", "Chiyoda-ku"),
                ("O", "Example University"),
                ("CN", "www.example.ac.jp"),
            ]),
            Err(DnError::CsrMismatch(
                "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP".into(),
            )),
        ),
    ];
    for (csr_name, expected) in cases {
        assert_eq!(check_csr_subject(&field1, &csr_name), expected);
    }
}
