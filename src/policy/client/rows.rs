//! The row checks of the three client forms: issue (5-4-1), renew (5-4-2)
//! and revoke (5-4-3), each collecting every error of its row, and the rules
//! across the rows of one file (one download method, no DN, user mail or P12
//! file name twice). Renewal and revocation consult the certificates and
//! return `Err` when a look-up fails.

use std::collections::HashMap;

use super::fields::{
    MAX_COMMENT_LEN, MAX_NAME_LEN, MAX_SERIAL_LEN, check_p12_name, check_pin, default_p12_name,
    field_name,
};
use crate::model::{
    ClientIssueRow, ClientRenewRow, ClientRevokeRow, Dn, DownloadMethod, FormFamily, FormKind,
    LookupError, Profile, RowError,
};
use crate::policy::check::Context;
use crate::policy::dn;
use crate::policy::rows::{RowCheck, field_error};

/// The download method of a file: the first row's, and that row's line.
pub(super) type FileMethod = Option<(DownloadMethod, usize)>;

/// The refusal of method 3 (see the module doc of `policy::client`).
pub(super) const BROWSER_REFUSED: &str = "3 (ブラウザ個別, browser enrolment) is not offered: mailra works by mail only and has no browser side; use 1 (P12個別: one PKCS#12 per row, mailed to the admin) or 2 (P12一括: one bundle for the file)";

/// Field 1 of an issue or renewal row: the client DN rules and the
/// institution's registered O, ST and L.
fn subject(r: &mut RowCheck, ctx: &Context) -> Option<Dn> {
    let dn = match dn::parse(r.f(1)) {
        Ok(d) => d,
        Err(e) => {
            r.err(1, e.to_string());
            return None;
        }
    };
    let mut errs = dn::check_client(&dn);
    if let Some(i) = ctx.institution {
        errs.extend(dn::check_registered(&dn, &i.name, &i.st, &i.l));
    }
    let ok = errs.is_empty();
    for e in errs {
        r.err(1, e.to_string());
    }
    ok.then_some(dn)
}

/// The field-2 error of an S/MIME profile for an institution without a
/// registered organizationIdentifier (the S/MIME BRs make these
/// certificates organization-validated; the CA would refuse to sign).
pub(super) fn no_organization_identifier(p: Profile, institution: &str) -> String {
    format!(
        "profile {} is an S/MIME certificate, which must carry the institution's organizationIdentifier (S/MIME Baseline Requirements: NTRJP- and its 13-digit corporate number, 法人番号), and none is registered for `{institution}`; use a client profile (5, 13 or 14) or ask the secretariat to register the institution's corporate number",
        p.id()
    )
}

/// Field 2: a client profile; an S/MIME one only for an institution with a
/// registered organizationIdentifier (when the institution is known).
fn profile(r: &mut RowCheck, ctx: &Context) -> Option<Profile> {
    let p = client_profile(r)?;
    if let Some(i) = ctx.institution
        && p.is_smime()
        && i.organization_identifier.is_none()
    {
        // Still the row's profile: its other S/MIME rules are checked too.
        r.err(2, no_organization_identifier(p, &i.name));
    }
    Some(p)
}

fn client_profile(r: &mut RowCheck) -> Option<Profile> {
    let v = r.f(2).to_string();
    if v.is_empty() {
        r.err(2, "is required");
        return None;
    }
    match v.parse::<u8>().ok().and_then(Profile::from_id) {
        Some(p) if p.family() == FormFamily::Client => Some(p),
        Some(p) => {
            r.err(
                2,
                format!(
                    "profile {} is a server certificate profile; client forms take 5, 7, 13, 14, 15 or 16 (server certificates are requested with form 5-3-1, 13 fields per row, and a CSR)",
                    p.id()
                ),
            );
            None
        }
        None => {
            r.err(
                2,
                format!(
                    "must be 5 (client, 48 months), 7 (S/MIME, 823 days), 13 (client, 13 months), 14 (client, 25 months), 15 (S/MIME, 13 months) or 16 (S/MIME, 25 months), not `{v}`"
                ),
            );
            None
        }
    }
}

/// Field 3: 1 or 2, the same in every row; 3 is refused.
fn method(r: &mut RowCheck, file: FileMethod) -> Option<DownloadMethod> {
    let v = r.f(3).to_string();
    if v.is_empty() {
        r.err(3, "is required (1 P12個別 or 2 P12一括)");
        return None;
    }
    let m = match v.parse::<u8>().ok().and_then(DownloadMethod::from_code) {
        Some(DownloadMethod::Browser) => {
            r.err(3, BROWSER_REFUSED);
            return None;
        }
        Some(m) => m,
        None => {
            r.err(3, format!("must be 1 (P12個別) or 2 (P12一括), not `{v}`"));
            return None;
        }
    };
    if let Some((fm, line)) = file
        && fm != DownloadMethod::Browser
        && fm != m
    {
        r.err(
            3,
            format!(
                "is {} but the file's download method is {} (its first row, line {line}); use one download method per file",
                m.code(),
                fm.code()
            ),
        );
        return None;
    }
    Some(m)
}

/// The fields shared by 5-4-1 and 5-4-2 (all but field 4 to 7).
fn request(r: &mut RowCheck, ctx: &Context, file: FileMethod) -> Option<ClientIssueRow> {
    let dn = subject(r, ctx);
    let profile = profile(r, ctx);
    let method = method(r, file);
    let smime = profile.is_some_and(Profile::is_smime);
    let bundle = method.map(|m| m == DownloadMethod::P12Bundle);
    r.length(8, MAX_NAME_LEN, false);
    r.length(9, MAX_NAME_LEN, false);
    r.mail(10, true);
    r.length(11, MAX_NAME_LEN, false);
    let p12 = r.f(12).to_string();
    if p12.is_empty() {
        if profile == Some(Profile::Smime823Days) && bundle == Some(false) {
            r.err(
                12,
                "is required for profile 7 unless the download method is 2 (P12一括)",
            );
        }
    } else if let Err(e) = check_p12_name(&p12) {
        r.err(12, e);
    }
    r.length(13, MAX_NAME_LEN, false);
    let user_mail = r.f(14).to_string();
    if user_mail.is_empty() {
        if let (Some(p), Some(b)) = (profile, bundle)
            && !(p == Profile::Client48Months && b)
        {
            r.err(
                14,
                "is required (it may be left empty only for profile 5 with download method 2)",
            );
        }
    } else {
        r.mail(14, false);
    }
    let pin = r.f(15).to_string();
    if !pin.is_empty() {
        if smime {
            r.err(
                15,
                "must be empty for the S/MIME profiles 7, 15 and 16: their access PIN is always generated",
            );
        } else if bundle == Some(false) {
            r.err(
                15,
                "is only allowed with download method 2 (P12一括); with method 1 the PIN is generated and mailed separately",
            );
        }
        if let Err(e) = check_pin(&pin) {
            r.err(15, e);
        }
    }
    if let (Some(p), Some(cn)) = (profile, dn.as_ref().and_then(Dn::cn))
        && p.is_smime()
        && !user_mail.is_empty()
        && let Err(e) = smime_cn(cn, &user_mail, p)
    {
        r.err(1, e);
    }
    let (dn, profile, method) = (dn?, profile?, method?);
    if !r.errors.is_empty() {
        return None;
    }
    let cn = dn.cn().unwrap_or_default();
    Some(ClientIssueRow {
        line: r.rec.line,
        p12_name: if p12.is_empty() {
            default_p12_name(cn)
        } else {
            p12
        },
        dn,
        profile,
        method,
        admin_name: r.f(8).to_string(),
        admin_dept: r.f(9).to_string(),
        admin_mail: r.f(10).to_string(),
        user_name: r.f(11).to_string(),
        user_dept: r.f(13).to_string(),
        user_mail: (!user_mail.is_empty()).then_some(user_mail),
        pin: (!pin.is_empty()).then_some(pin),
    })
}

/// S/MIME: the CN is the user's mail address, exactly. The local part of an
/// address is case-sensitive (RFC 5321), so a difference in case is refused
/// too, but named as such.
pub(super) fn smime_cn(cn: &str, mail: &str, p: Profile) -> Result<(), String> {
    let id = p.id();
    if cn == mail {
        Ok(())
    } else if cn.eq_ignore_ascii_case(mail) {
        Err(format!(
            "CN= `{cn}` and the user mail (field 14) `{mail}` differ only in letter case; for S/MIME profile {id} they must be identical (the part before @ is case-sensitive)"
        ))
    } else {
        Err(format!(
            "CN= must equal the user mail (field 14) for S/MIME profile {id}: `{mail}`, not `{cn}`"
        ))
    }
}

pub(super) fn issue(r: &mut RowCheck, ctx: &Context, file: FileMethod) -> Option<ClientIssueRow> {
    r.must_be_empty(&[4, 5, 6, 7]);
    request(r, ctx, file)
}

pub(super) fn renew(
    r: &mut RowCheck,
    ctx: &Context,
    file: FileMethod,
) -> Result<Option<ClientRenewRow>, LookupError> {
    r.must_be_empty(&[5, 6, 7]);
    let serial = r.serial(MAX_SERIAL_LEN);
    let req = request(r, ctx, file);
    let Some(serial) = serial else {
        return Ok(None);
    };
    if let Some(certs) = ctx.certs {
        let Some(old) = r.existing(certs, &serial, ctx)? else {
            return Ok(None);
        };
        if let Some(row) = &req
            && !row.dn.same_as(&old.dn)
        {
            r.err(
                1,
                format!(
                    "must equal the DN of the certificate being renewed, OU included ({})",
                    old.dn
                ),
            );
        }
    }
    let Some(request) = req else {
        return Ok(None);
    };
    Ok(r.errors.is_empty().then_some(ClientRenewRow {
        request,
        old_serial: serial,
    }))
}

pub(super) fn revoke(
    r: &mut RowCheck,
    ctx: &Context,
) -> Result<Option<ClientRevokeRow>, LookupError> {
    r.must_be_empty(&[2, 3, 7, 8, 9, 11, 12, 13, 15]);
    let dn = match dn::parse(r.f(1)) {
        Ok(d) => Some(d),
        Err(e) => {
            r.err(1, e.to_string());
            None
        }
    };
    let serial = r.serial(MAX_SERIAL_LEN);
    let reason = r.reason();
    r.length(6, MAX_COMMENT_LEN, false);
    r.mail(10, false);
    r.mail(14, false);
    if let (Some(certs), Some(s)) = (ctx.certs, &serial)
        && let Some(cert) = r.existing(certs, s, ctx)?
        && let Some(dn) = &dn
        && !dn.same_as(&cert.dn)
    {
        r.err(
            1,
            format!(
                "must equal the DN of the certificate being revoked ({})",
                cert.dn
            ),
        );
    }
    let (Some(dn), Some(serial), Some(reason)) = (dn, serial, reason) else {
        return Ok(None);
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(r.errors.is_empty().then(|| ClientRevokeRow {
        line: r.rec.line,
        dn,
        serial,
        reason,
        comment: r.f(6).to_string(),
        admin_mail: opt(r.f(10)),
        user_mail: opt(r.f(14)),
    }))
}

/// Rows of one issuance or renewal file that would collide: the same DN (a
/// certificate asked for twice), the same user mail, or the same P12 file
/// name (two files of one name in a bundle would overwrite each other; the
/// name compares case-insensitively, as Windows and macOS file systems do).
pub(super) fn duplicates(rows: &[&ClientIssueRow], kind: FormKind) -> Vec<RowError> {
    let mut errors = Vec::new();
    // Valid rows give their DN in form order, so equal DNs print alike.
    let mut dns: HashMap<String, usize> = HashMap::new();
    let mut mails: HashMap<String, usize> = HashMap::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let e = |line, n, rule: String| field_error(field_name, line, Some(kind), n, rule);
    for row in rows {
        if let Some(first) = dns.get(&row.dn.to_string()) {
            errors.push(e(
                row.line,
                1,
                format!("the same DN as line {first}; ask for each certificate once per file"),
            ));
        } else {
            dns.insert(row.dn.to_string(), row.line);
        }
        if let Some(m) = &row.user_mail {
            if let Some(first) = mails.get(&m.to_ascii_lowercase()) {
                errors.push(e(
                    row.line,
                    14,
                    format!(
                        "{m} is already the user mail of line {first}; one row per user and file"
                    ),
                ));
            } else {
                mails.insert(m.to_ascii_lowercase(), row.line);
            }
        }
        let key = row.p12_name.to_lowercase();
        if let Some(first) = names.get(&key) {
            errors.push(e(
                row.line,
                12,
                format!(
                    "the P12 file name `{}` is already used on line {first} (field 12, or the CN when field 12 is empty); give each row its own file name",
                    row.p12_name
                ),
            ));
        } else {
            names.insert(key, row.line);
        }
    }
    errors
}
