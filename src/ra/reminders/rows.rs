//! The rows of an expiry digest's pre-filled renewal files, from what the
//! store kept of each certificate's application row, and the client files
//! they go into. A returned file is checked like any other application, so
//! each row must read back as a valid renewal of its certificate: the DN as
//! applied for (OU included), the same profile and download method, the
//! admin and user fields; and the rows of one file must keep the client
//! forms' rules across rows — one download method per file, at most 99 rows
//! (1000 with method 2), no DN, user mail or P12 file name twice.

use crate::model::{DownloadMethod, FormFamily};
use crate::policy::client::{MAX_RECORDS, MAX_RECORDS_BUNDLE, check_p12_name, default_p12_name};
use crate::render::renewal_file::{self, ClientRenewal, ServerRenewal};
use crate::store;

use super::{RaError, cn_of};

/// One certificate's pre-filled renewal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RenewalRow {
    /// A 5-3-2 row (13 fields, no CSR).
    Server(String),
    Client(ClientRow),
}

/// A 5-4-2 row (15 fields) and what may not repeat within its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClientRow {
    pub method: DownloadMethod,
    pub text: String,
    /// The row's DN as written, its user mail and P12 file name (as the
    /// client forms compare them: the mail and file name case-insensitively).
    keys: [Option<String>; 3],
}

/// A client renewal file of a digest: rows of one download method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClientFile {
    pub name: String,
    pub method: DownloadMethod,
    pub rows: Vec<String>,
}

/// The name of the `part`-th (from 1) client renewal file of a download
/// method: `client-renewal-method1.tsv`, then `client-renewal-method1-2.tsv`…
pub fn client_file_name(method: DownloadMethod, part: usize) -> String {
    match part {
        1 => format!("client-renewal-method{}.tsv", method.code()),
        n => format!("client-renewal-method{}-{n}.tsv", method.code()),
    }
}

/// The renewal row of a certificate, if one can be written: 5-3-2 for a
/// server certificate, 5-4-2 for a client one whose row details the store
/// kept (none for a client certificate issued before they were kept).
pub(super) fn renewal_row(
    conn: &rusqlite::Connection,
    c: &store::CertRecord,
) -> Result<Option<RenewalRow>, RaError> {
    match c.kind.family() {
        FormFamily::Server => Ok(server_row(conn, c)?.map(RenewalRow::Server)),
        FormFamily::Client => Ok(client_row(conn, c)?.map(RenewalRow::Client)),
        FormFamily::CodeSigning => Ok(None),
    }
}

fn server_row(
    conn: &rusqlite::Connection,
    c: &store::CertRecord,
) -> Result<Option<String>, RaError> {
    let Some(profile) = c.renewal_profile() else {
        return Ok(None);
    };
    let cn = cn_of(&c.subject_dn);
    let details = store::server_details(conn, &c.serial)?.unwrap_or_else(|| {
        // Issued before the row details were kept: the CN as FQDN and
        // only SAN; the officer fills in the rest.
        store::ServerDetails {
            fqdn: cn.clone(),
            dns_names: vec![cn.clone()],
            ..Default::default()
        }
    });
    Ok(Some(renewal_file::server_renew_row(&ServerRenewal {
        dn: &c.subject_dn,
        profile: profile.id(),
        old_serial: &c.serial,
        admin_name: &details.admin_name,
        admin_dept: &details.admin_dept,
        admin_mail: &c.admin_mail,
        fqdn: &details.fqdn,
        software: &details.software,
        dns_names: &details.dns_names,
    })))
}

fn client_row(
    conn: &rusqlite::Connection,
    c: &store::CertRecord,
) -> Result<Option<ClientRow>, RaError> {
    let (Some(d), Some(profile)) = (store::client_details(conn, &c.serial)?, c.profile) else {
        return Ok(None);
    };
    let Ok(applied) = crate::policy::dn::parse(c.dn_as_applied()) else {
        // Damage in the store: the digest still lists the certificate
        // (without a row) rather than holding every institution's digest.
        tracing::error!(serial = %c.serial, dn = c.dn_as_applied(), "stored DN does not parse; no renewal row");
        return Ok(None);
    };
    let dn = renewal_file::row_order(&applied);
    let cn = dn.cn().unwrap_or_default();
    // Field 12 as the officer may write it; a default name (the CN, which
    // may hold `@` or `_`) is left empty for the robot to derive again.
    let p12 = if check_p12_name(&d.p12_name).is_ok() {
        d.p12_name.as_str()
    } else {
        ""
    };
    let p12_effective = if p12.is_empty() {
        default_p12_name(cn)
    } else {
        p12.to_string()
    };
    let user_mail = c.user_mail.as_deref().unwrap_or_default();
    let text = renewal_file::client_renew_row(&ClientRenewal {
        dn: &dn,
        profile: profile.id(),
        method: d.method,
        old_serial: &c.serial,
        admin_name: &d.admin_name,
        admin_dept: &d.admin_dept,
        admin_mail: &c.admin_mail,
        user_name: &d.user_name,
        p12_name: p12,
        user_dept: &d.user_dept,
        user_mail,
    });
    Ok(Some(ClientRow {
        method: d.method,
        text,
        keys: [
            Some(dn.to_string()),
            (!user_mail.is_empty()).then(|| user_mail.to_ascii_lowercase()),
            Some(p12_effective.to_lowercase()),
        ],
    }))
}

/// The most rows a client file of this download method may have.
fn limit(method: DownloadMethod) -> usize {
    match method {
        DownloadMethod::P12Bundle => MAX_RECORDS_BUNDLE,
        DownloadMethod::P12Each | DownloadMethod::Browser => MAX_RECORDS,
    }
}

/// Puts client rows into files the client forms accept as they are: one
/// download method per file (method 1 files first), each row in the first
/// file of its method that has room and no row with the same DN, user mail or
/// P12 file name, else in a new file of that method.
pub(super) fn client_files(rows: Vec<ClientRow>) -> Vec<ClientFile> {
    let mut methods: Vec<DownloadMethod> = rows.iter().map(|r| r.method).collect();
    methods.sort_by_key(|m| m.code());
    methods.dedup();
    let mut out = Vec::new();
    for m in methods {
        // Per file: its rows and the keys they hold.
        let mut files: Vec<(Vec<String>, Vec<&ClientRow>)> = Vec::new();
        for r in rows.iter().filter(|r| r.method == m) {
            let clash = |held: &[&ClientRow]| {
                held.iter().any(|h| {
                    h.keys
                        .iter()
                        .zip(&r.keys)
                        .any(|(a, b)| a.is_some() && a == b)
                })
            };
            match files
                .iter_mut()
                .find(|(t, held)| t.len() < limit(m) && !clash(held))
            {
                Some((t, held)) => {
                    t.push(r.text.clone());
                    held.push(r);
                }
                None => files.push((vec![r.text.clone()], vec![r])),
            }
        }
        out.extend(
            files
                .into_iter()
                .enumerate()
                .map(|(i, (rows, _))| ClientFile {
                    name: client_file_name(m, i + 1),
                    method: m,
                    rows,
                }),
        );
    }
    out
}

/// Puts server rows into 5-3-2 files of at most 99 rows each (the form's
/// limit): `server-renewal.tsv`, then `server-renewal-2.tsv`, … — an
/// institution with more expiring servers than that gets files the robot
/// accepts back as they are.
pub(super) fn server_files(rows: Vec<String>) -> Vec<(String, Vec<String>)> {
    rows.chunks(crate::policy::server::MAX_RECORDS)
        .enumerate()
        .map(|(i, part)| {
            let name = match i {
                0 => super::SERVER_FILE.to_string(),
                _ => super::SERVER_FILE.replace(".tsv", &format!("-{}.tsv", i + 1)),
            };
            (name, part.to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests;
