//! Lines of the server forms as officers fill them in (TSV, one request a
//! line, Shift_JIS), and issue rows as the policy layer hands them to the CA.

use anyhow::Result;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509Req;

use crate::ca;
use crate::model::{Dn, IssueRow, Profile};

/// Encodes TSV text as Shift_JIS (Windows-31J) with CRLF line ends.
pub fn sjis(text: &str) -> Vec<u8> {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    encoding_rs::SHIFT_JIS.encode(&crlf).0.into_owned()
}

/// The one-line CSR body the forms want (PEM without BEGIN/END, no line breaks).
pub fn csr_field(key: &PKey<Private>, dn: &Dn) -> Result<String> {
    csr_one_line(&ca::new_server_csr(dn, key)?)
}

/// A CSR as field 7 carries it: the PEM body on one line.
pub fn csr_one_line(req: &X509Req) -> Result<String> {
    let pem = String::from_utf8(req.to_pem()?)?;
    Ok(pem.lines().filter(|l| !l.starts_with("-----")).collect())
}

/// A server DN `CN, O, L, ST, C=JP`.
pub fn server_dn(cn: &str, org: &str, l: &str, st: &str) -> Dn {
    Dn(vec![
        ("CN".into(), cn.into()),
        ("O".into(), org.into()),
        ("L".into(), l.into()),
        ("ST".into(), st.into()),
        ("C".into(), "JP".into()),
    ])
}

/// One 5-3-1 row (13 fields).
pub fn issue_line(
    dn: &Dn,
    profile: u8,
    csr: &str,
    admin_name: &str,
    admin_mail: &str,
    dns: &str,
) -> String {
    let cn = dn.cn().unwrap_or_default();
    format!(
        "{dn}\t{profile}\t\t\t\t\t{csr}\t{admin_name}\t情報基盤センター\t{admin_mail}\t{cn}\tApache httpd 2.4\t{dns}"
    )
}

/// One 5-3-2 row.
pub fn renew_line(
    dn: &Dn,
    profile: u8,
    old_serial: &str,
    csr: &str,
    admin_name: &str,
    admin_mail: &str,
) -> String {
    let cn = dn.cn().unwrap_or_default();
    format!(
        "{dn}\t{profile}\t\t{old_serial}\t\t\t{csr}\t{admin_name}\t情報基盤センター\t{admin_mail}\t{cn}\tnginx 1.24\t"
    )
}

/// One 5-3-3 row.
pub fn revoke_line(dn: &Dn, serial: &str, reason: u8, comment: &str) -> String {
    format!("{dn}\t\t\t{serial}\t{reason}\t{comment}\t\t\t\t\t\t\t")
}

/// A checked 5-3-1 row for `dn` with a CSR of `key`, as the policy layer
/// hands it to the CA: line 1, administrator `admin_mail`, the CN as FQDN
/// and `dns_names` as subjectAltName.
pub fn issue_row(
    dn: &Dn,
    profile: Profile,
    key: &PKey<Private>,
    admin_mail: &str,
    dns_names: &[&str],
) -> Result<IssueRow> {
    let csr = ca::new_server_csr(dn, key)?;
    Ok(IssueRow {
        line: 1,
        dn: dn.clone(),
        profile,
        csr_der: csr.to_der()?,
        admin_name: "Admin".into(),
        admin_dept: "IT".into(),
        admin_mail: admin_mail.into(),
        fqdn: dn.cn().unwrap_or_default().into(),
        software: "apache2.4".into(),
        dns_names: dns_names.iter().map(|d| d.to_string()).collect(),
    })
}

/// A client DN `CN, OU…, O, L, ST, C=JP` as the 5-4-x forms write it.
pub fn client_dn(cn: &str, ous: &[&str], org: &str, l: &str, st: &str) -> Dn {
    let mut v = vec![("CN".to_string(), cn.to_string())];
    v.extend(ous.iter().map(|ou| ("OU".to_string(), ou.to_string())));
    v.extend([
        ("O".into(), org.into()),
        ("L".into(), l.into()),
        ("ST".into(), st.into()),
        ("C".into(), "JP".into()),
    ]);
    Dn(v)
}

/// What a 5-4-1 row asks beyond its DN.
#[derive(Debug, Clone, Default)]
pub struct ClientLine<'a> {
    pub profile: u8,
    pub method: u8,
    pub admin_mail: &'a str,
    pub user_name: &'a str,
    pub p12_name: &'a str,
    pub user_mail: &'a str,
    pub pin: &'a str,
}

/// One 5-4-1 row (15 fields).
pub fn client_issue_line(dn: &Dn, l: &ClientLine<'_>) -> String {
    format!(
        "{dn}\t{}\t{}\t\t\t\t\t管理 太郎\t情報基盤センター\t{}\t{}\t{}\t学生\t{}\t{}",
        l.profile, l.method, l.admin_mail, l.user_name, l.p12_name, l.user_mail, l.pin
    )
}

/// One 5-4-2 row (15 fields): a 5-4-1 row naming the certificate it renews.
pub fn client_renew_line(dn: &Dn, old_serial: &str, l: &ClientLine<'_>) -> String {
    format!(
        "{dn}\t{}\t{}\t{old_serial}\t\t\t\t管理 太郎\t情報基盤センター\t{}\t{}\t{}\t学生\t{}\t{}",
        l.profile, l.method, l.admin_mail, l.user_name, l.p12_name, l.user_mail, l.pin
    )
}

/// One 5-4-3 row (15 fields).
pub fn client_revoke_line(dn: &Dn, serial: &str, reason: u8, comment: &str) -> String {
    format!("{dn}\t\t\t{serial}\t{reason}\t{comment}\t\t\t\t\t\t\t\t\t")
}
