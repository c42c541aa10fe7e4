//! The pre-filled renewal file an expiry digest carries: one row per
//! expiring certificate, as the officer would write it, everything but what
//! only the officer can add (the CSR of a new key for a server certificate).
//! Server rows follow 5-3-2 (13 fields), client rows 5-4-2 (15 fields); the
//! file is Shift_JIS with CRLF line ends, like every application file.

use crate::model::Serial;

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
    // No value of a stored row holds a tab or a line break (they came from
    // TSV fields); anything that would is flattened rather than split.
    fields
        .iter()
        .map(|f| f.replace(['\t', '\r', '\n'], " "))
        .collect::<Vec<_>>()
        .join("\t")
}

/// What a 5-4-2 row is pre-filled with.
///
/// HOOK (client certificates): the store does not keep the client row
/// fields yet (download method, user name, dept and mail, P12 file name).
/// When it does, fill this struct from them in `ra::reminders` and return
/// the 15-field row here; until then no client row is written and the digest
/// lists the certificate without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRenewal<'a> {
    pub dn: &'a str,
    pub profile: u8,
    pub old_serial: &'a Serial,
}

/// One 5-4-2 row, when the store has what it needs (not yet: see
/// [`ClientRenewal`]).
pub fn client_renew_row(_r: &ClientRenewal<'_>) -> Option<String> {
    None
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
}
