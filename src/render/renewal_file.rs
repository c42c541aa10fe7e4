//! The pre-filled renewal file an expiry digest carries: one row per
//! expiring certificate, as the officer would write it, everything but what
//! only the officer can add (the CSR of a new key for a server certificate).
//! Server rows follow 5-3-2 (13 fields), client rows 5-4-2 (15 fields); the
//! file is Shift_JIS with CRLF line ends, like every application file.

use crate::model::{Dn, DownloadMethod, Serial};

/// What a 5-3-2 row is pre-filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRenewal<'a> {
    /// The subject DN as the forms write it (the old certificate's).
    pub dn: &'a str,
    pub profile: u8,
    pub old_serial: &'a Serial,
    pub admin_name: &'a str,
    pub admin_dept: &'a str,
    pub admin_mail: &'a str,
    pub fqdn: &'a str,
    pub software: &'a str,
    /// The old certificate's dNSNames; the CN (= FQDN) is left out of field
    /// 13 (the robot adds it).
    pub dns_names: &'a [String],
}

/// One 5-3-2 row with field 7 (the CSR) left empty: 13 fields, field 4 the
/// old serial in `0x` hex.
pub fn server_renew_row(r: &ServerRenewal<'_>) -> String {
    let dns = r
        .dns_names
        .iter()
        .filter(|n| !n.eq_ignore_ascii_case(r.fqdn))
        .map(|n| format!("dNSName={n}"))
        .collect::<Vec<_>>()
        .join(",");
    let fields: [&str; 13] = [
        r.dn,
        &r.profile.to_string(),
        "",
        &r.old_serial.to_string(),
        "",
        "",
        "",
        r.admin_name,
        r.admin_dept,
        r.admin_mail,
        r.fqdn,
        r.software,
        &dns,
    ];
    join(&fields)
}

/// What a 5-4-2 row is pre-filled with: everything the 5-4-1 row said,
/// kept with the certificate, and never an access PIN (field 15 stays empty:
/// the robot generates a new one, as for every renewal with no PIN given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRenewal<'a> {
    /// The DN as applied for (the row's field 1 of the old certificate),
    /// read back from the store; written in the row order `CN,OU…,O,L,ST,C`.
    pub dn: &'a Dn,
    pub profile: u8,
    pub method: DownloadMethod,
    pub old_serial: &'a Serial,
    pub admin_name: &'a str,
    pub admin_dept: &'a str,
    pub admin_mail: &'a str,
    pub user_name: &'a str,
    /// Field 12; empty when the P12 file name was the default (the CN).
    pub p12_name: &'a str,
    pub user_dept: &'a str,
    /// Field 14; empty only for profile 5 with method 2.
    pub user_mail: &'a str,
}

/// A DN in the client forms' row order, CN first: a DN stored in X.509
/// order (C first, CN last) is turned round, one already CN-first is kept
/// as it is (OUs in their order). Either way it is the same DN to
/// `Dn::same_as`, which the renewal check compares with.
pub fn row_order(dn: &Dn) -> Dn {
    let cn = |p: Option<&(String, String)>| p.is_some_and(|(a, _)| a.eq_ignore_ascii_case("CN"));
    let mut d = dn.clone();
    if !cn(d.0.first()) && cn(d.0.last()) {
        d.0.reverse();
    }
    d
}

/// One 5-4-2 row: 15 fields, field 1 the DN as applied for in row order,
/// field 3 the download method, field 4 the old serial in `0x` hex, fields
/// 5–7 and 15 empty.
pub fn client_renew_row(r: &ClientRenewal<'_>) -> String {
    let fields: [&str; 15] = [
        &row_order(r.dn).to_string(),
        &r.profile.to_string(),
        &r.method.code().to_string(),
        &r.old_serial.to_string(),
        "",
        "",
        "",
        r.admin_name,
        r.admin_dept,
        r.admin_mail,
        r.user_name,
        r.p12_name,
        r.user_dept,
        r.user_mail,
        "",
    ];
    join(&fields)
}

/// The fields of a row, tab-separated. No value of a stored row holds a tab
/// or a line break (they came from TSV fields); anything that would is
/// flattened rather than split.
fn join(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| f.replace(['\t', '\r', '\n'], " "))
        .collect::<Vec<_>>()
        .join("\t")
}

/// The file's bytes: the rows in Shift_JIS, each ending in CRLF.
pub fn encode(rows: &[String]) -> Vec<u8> {
    let mut text = String::new();
    for r in rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_row_has_13_fields_the_old_serial_in_hex_and_no_csr() {
        let serial = Serial::from_bytes(&[0x01, 0xab]);
        let names = [
            "www.example.ac.jp".to_string(),
            "web.example.ac.jp".to_string(),
        ];
        let row = server_renew_row(&ServerRenewal {
            dn: "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            profile: 3,
            old_serial: &serial,
            admin_name: "国立　太郎",
            admin_dept: "情報基盤センター",
            admin_mail: "admin@example.ac.jp",
            fqdn: "www.example.ac.jp",
            software: "nginx",
            dns_names: &names,
        });
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(f.len(), 13);
        // (field number, expected)
        for (n, want) in [
            (2, "3"),
            (3, ""),
            (4, "0x01AB"),
            (7, ""),
            (8, "国立　太郎"),
            (10, "admin@example.ac.jp"),
            (11, "www.example.ac.jp"),
            (12, "nginx"),
            (13, "dNSName=web.example.ac.jp"),
        ] {
            assert_eq!(f[n - 1], want, "field {n}");
        }
        let bytes = encode(&[row.clone(), row]);
        assert!(bytes.ends_with(b"\r\n"));
        let (back, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        assert_eq!(back.matches("\r\n").count(), 2);
        assert!(back.contains("国立　太郎"));
    }

    fn dn(parts: &[(&str, &str)]) -> Dn {
        Dn(parts
            .iter()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn a_client_row_has_15_fields_the_dn_cn_first_and_never_a_pin() {
        let serial = Serial::from_bytes(&[0x2f]);
        let applied = dn(&[
            ("CN", "KOKURITSU HANAKO"),
            ("OU", "12345678"),
            ("OU", "Informatics"),
            ("O", "Example University"),
            ("L", "Chiyoda-ku"),
            ("ST", "Tokyo"),
            ("C", "JP"),
        ]);
        let row = client_renew_row(&ClientRenewal {
            dn: &applied,
            profile: 13,
            method: DownloadMethod::P12Bundle,
            old_serial: &serial,
            admin_name: "国立　太郎",
            admin_dept: "学術基盤推進部",
            admin_mail: "taro@example.ac.jp",
            user_name: "国立　花子",
            p12_name: "hanako",
            user_dept: "情報学部",
            user_mail: "hanako@example.ac.jp",
        });
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(f.len(), 15, "{row}");
        // (field number, expected)
        for (n, want) in [
            (
                1,
                "CN=KOKURITSU HANAKO,OU=12345678,OU=Informatics,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            ),
            (2, "13"),
            (3, "2"),
            (4, "0x2F"),
            (5, ""),
            (6, ""),
            (7, ""),
            (8, "国立　太郎"),
            (9, "学術基盤推進部"),
            (10, "taro@example.ac.jp"),
            (11, "国立　花子"),
            (12, "hanako"),
            (13, "情報学部"),
            (14, "hanako@example.ac.jp"),
            (15, ""),
        ] {
            assert_eq!(f[n - 1], want, "field {n}");
        }
    }

    #[test]
    fn a_dn_is_written_in_row_order_whichever_way_it_was_stored() {
        let form = "CN=A,OU=1,OU=2,O=E,L=L,ST=S,C=JP";
        // (stored, field 1)
        let cases = [
            (
                dn(&[
                    ("CN", "A"),
                    ("OU", "1"),
                    ("OU", "2"),
                    ("O", "E"),
                    ("L", "L"),
                    ("ST", "S"),
                    ("C", "JP"),
                ]),
                form,
            ),
            (
                dn(&[
                    ("C", "JP"),
                    ("ST", "S"),
                    ("L", "L"),
                    ("O", "E"),
                    ("OU", "2"),
                    ("OU", "1"),
                    ("CN", "A"),
                ]),
                form,
            ),
            // Neither CN-first nor CN-last: kept, for the renewal check to name.
            (dn(&[("O", "E"), ("CN", "A"), ("C", "JP")]), "O=E,CN=A,C=JP"),
        ];
        for (stored, want) in cases {
            assert_eq!(row_order(&stored).to_string(), want, "{stored}");
            assert!(row_order(&stored).same_as(&stored));
        }
    }
}
