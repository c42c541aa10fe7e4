//! Carrying out validated files: issue, renew, revoke, a fresh CRL, and the
//! replies, all in one transaction (keys for generated-key certificates are
//! made just before it, see `client`). The server certificates of every row
//! are signed together at its start, on every core ([`presign`]), then
//! recorded row by row in file order; the replies are signed together too.

use openssl::pkey::{PKey, Private};
use rayon::prelude::*;

use super::client;
use super::crl::{make_crl, publish_crl};
use super::done::{Done, RowCtx, Signed, SignedCert, fresh_serial, record};
use super::mail::Mail;
use super::notify::notices;
use super::replies::record_file;
use super::{Env, Outcome, RaError, Verdict};
use crate::ca;
use crate::model::{
    ApplicationFile, ApplicationStatus, CaKind, CertKind, ClientRequest, Institution, IssueRow,
    Request, RevocationReason, Serial, ServerRequest,
};
use crate::policy::rules::Decision;
use crate::render::views::{FileView, RowView, summarize};
use crate::store;

/// The verdict of a mail whose valid files are carried out.
pub(crate) fn verdict_of(files: &[ApplicationFile]) -> Verdict {
    if files.iter().all(|f| f.ok()) {
        Verdict::Accepted
    } else {
        Verdict::Partial
    }
}

pub(crate) fn execute(
    env: &mut Env,
    mail: Mail,
    decision: Decision,
    inst: &Institution,
    files: Vec<ApplicationFile>,
    notes: Vec<String>,
) -> Result<Outcome, RaError> {
    let now = mail.incoming.now;
    let verdict = verdict_of(&files);
    let summary_files = summarize(&files, &notes, verdict);
    // The serial source is moved out for the transaction's lifetime (the
    // transaction borrows the connection inside `env`).
    let keys = client::keys_for(env, &files)?;
    let mut serials = std::mem::replace(&mut env.serials, Box::new(ca::RandomSerials));
    let mut pins = std::mem::replace(&mut env.pins, Box::new(ca::RandomPins));
    let batch = Batch {
        inst,
        files: &files,
        notes: &notes,
        verdict,
        summary: &summary_files,
        decision: &decision,
    };
    let mut sources = Sources {
        serials: serials.as_mut(),
        pins: pins.as_mut(),
        keys: keys.into_iter(),
        signed: Vec::new().into_iter(),
    };
    let result = execute_in_tx(env, &mail, &batch, &mut sources);
    drop(sources);
    env.serials = serials;
    env.pins = pins;
    let (mail_id, issued, revoked, summary, replies, crl_cas) = result?;
    for kind in crl_cas {
        publish_crl(env, kind)?;
    }
    env.deliver_local(now)?;
    let d = decision;
    Ok(Outcome {
        source: mail.incoming.source.clone(),
        mail_id,
        verdict,
        check: None,
        summary,
        issued,
        revoked,
        replies,
        folder: d.folder,
        keywords: d.keywords,
        rule: d.rule,
    })
}

/// (mail id, issued serials, revoked serials, summary, replies queued, CAs
/// whose CRL was remade).
type Executed = (i64, Vec<String>, Vec<String>, String, usize, Vec<CaKind>);

/// What one mail carries out: its valid files, for one institution.
struct Batch<'a> {
    inst: &'a Institution,
    files: &'a [ApplicationFile],
    notes: &'a [String],
    verdict: Verdict,
    /// What the files came to, before anything was done.
    summary: &'a str,
    /// The rules' decision that files the mail.
    decision: &'a Decision,
}

/// Where the rows' serials, access PINs and generated keys come from.
struct Sources<'a> {
    serials: &'a mut dyn ca::SerialSource,
    pins: &'a mut dyn ca::PinSource,
    keys: std::vec::IntoIter<PKey<Private>>,
    /// The server certificates signed for the rows before they are recorded
    /// ([`presign`]), in row order.
    signed: std::vec::IntoIter<Presigned>,
}

/// A server certificate signed ahead for its row.
struct Presigned {
    serial: Serial,
    ca: CaKind,
    cert: SignedCert,
}

fn execute_in_tx(
    env: &Env,
    mail: &Mail,
    batch: &Batch<'_>,
    sources: &mut Sources<'_>,
) -> Result<Executed, RaError> {
    let Batch {
        inst,
        files,
        notes,
        verdict,
        summary: summary_files,
        decision,
    } = *batch;
    let now = mail.incoming.now;
    let actor = mail.officer_email();
    let tx = env.conn.unchecked_transaction()?;
    // The unique index on executed signed content makes a concurrent or
    // repeated execution fail here, before anything is issued.
    let mail_id = mail.record(&tx, verdict, summary_files, true, decision)?;
    sources.signed = presign(env, &tx, files, inst, now, sources.serials)?.into_iter();
    let mut views = Vec::new();
    let mut done = Vec::new();
    let mut issued = Vec::new();
    let mut revoked = Vec::new();
    for f in files {
        let app = record_file(&tx, mail_id, f, ApplicationStatus::Executed)?;
        if !f.ok() {
            views.push(FileView::new(f, None, &[]));
            continue;
        }
        let mut rows = Vec::new();
        for r in &f.rows {
            let rc = RowCtx {
                env,
                tx: &tx,
                inst,
                mail_id,
                actor: &actor,
                now,
            };
            let d = execute_row(&rc, sources, r)?;
            let (outcome, cn) = d.outcome();
            let serial = &d.cert().serial;
            store::insert_row(&tx, app, r.line(), outcome.into(), Some(serial), "")?;
            if d.revoked() {
                revoked.push(serial.to_string());
            } else {
                issued.push(serial.to_string());
            }
            rows.push(RowView::executed(r.line(), outcome, serial, cn));
            done.push(d);
            crate::fault::row(done.len());
        }
        views.push(FileView::new(f, Some(ApplicationStatus::Executed), &rows));
    }
    // One CRL per CA: only the CAs that issued a certificate revoked here get
    // a new one.
    let mut crl_cas: Vec<CaKind> = done
        .iter()
        .filter(|d| d.revoked())
        .filter_map(|d| d.cert().ca)
        .collect();
    crl_cas.sort();
    crl_cas.dedup();
    for &kind in &crl_cas {
        make_crl(env, &tx, kind, now)?;
    }
    let summary = format!(
        "{} issued, {} revoked{}",
        issued.len(),
        revoked.len(),
        if verdict == Verdict::Partial {
            format!("; {summary_files}")
        } else {
            String::new()
        }
    );
    store::set_mail_detail(&tx, mail_id, &summary)?;
    let result = super::answer::Results {
        files: views,
        checked: files,
        notes,
        verdict,
        summary: &summary,
    };
    // The officer's result first, then the admins' notices, signed at once.
    let mut outs = vec![mail.officer_reply(env, inst, result, decision)];
    outs.extend(notices(env, mail, inst, &done)?);
    let replies = outs.len();
    mail.queue_all(env, &tx, mail_id, outs)?;
    let replies = replies + client::queue_deliveries(env, mail, &tx, mail_id, inst, &done)?;
    store::audit(
        &tx,
        now,
        &actor,
        "mail-executed",
        Some(mail_id),
        None,
        &summary,
    )?;
    tx.commit()?;
    Ok((mail_id, issued, revoked, summary, replies, crl_cas))
}

fn execute_row(rc: &RowCtx<'_>, sources: &mut Sources<'_>, r: &Request) -> Result<Done, RaError> {
    let mut key = || {
        sources.keys.next().ok_or_else(|| {
            RaError::Io(std::io::Error::other(
                "fewer generated keys than client rows",
            ))
        })
    };
    let mut signed = || {
        sources.signed.next().ok_or_else(|| {
            RaError::Io(std::io::Error::other(
                "fewer signed certificates than server rows",
            ))
        })
    };
    match r {
        Request::Server(ServerRequest::Issue(row)) => Ok(Done::Issued {
            cert: issue(rc, signed()?, row, None)?,
            row: row.clone(),
            renewed_from: None,
        }),
        Request::Server(ServerRequest::Renew(rr)) => Ok(Done::Issued {
            cert: issue(rc, signed()?, &rr.request, Some(&rr.old_serial))?,
            row: rr.request.clone(),
            renewed_from: Some(rr.old_serial.clone()),
        }),
        Request::Server(ServerRequest::Revoke(row)) => {
            let how = Revoke {
                serial: &row.serial,
                reason: row.reason,
                comment: &row.comment,
                admin_mail: row.admin_mail.as_deref(),
                user_mail: None,
                kinds: &[CertKind::Server],
            };
            Ok(Done::Revoked {
                cert: revoke(rc, &how)?,
                row: row.clone(),
            })
        }
        Request::Client(ClientRequest::Issue(row)) => {
            let k = key()?;
            let g = client::issue(rc, sources.serials, sources.pins, row, None, k)?;
            Ok(Done::Generated(Box::new(g)))
        }
        Request::Client(ClientRequest::Renew(rr)) => {
            let k = key()?;
            let old = Some(&rr.old_serial);
            let g = client::issue(rc, sources.serials, sources.pins, &rr.request, old, k)?;
            Ok(Done::Generated(Box::new(g)))
        }
        Request::Client(ClientRequest::Revoke(row)) => {
            let how = Revoke {
                serial: &row.serial,
                reason: row.reason,
                comment: &row.comment,
                admin_mail: row.admin_mail.as_deref(),
                user_mail: row.user_mail.as_deref(),
                kinds: &[CertKind::Client, CertKind::Smime],
            };
            Ok(Done::ClientRevoked {
                cert: revoke(rc, &how)?,
                row: row.clone(),
            })
        }
        // The certificate's CA re-checks it (`ca::revoke_checked`); its CRL
        // is made below when the instance holds that CA's key, otherwise the
        // revocation waits in the store for `mailra cert revoked --ca`.
        Request::CodeSigning(row) => {
            let how = Revoke {
                serial: &row.serial,
                reason: row.reason,
                comment: &row.comment,
                admin_mail: None,
                user_mail: None,
                kinds: &[CertKind::CodeSigning],
            };
            Ok(Done::CodeSignRevoked {
                cert: revoke(rc, &how)?,
                row: row.clone(),
            })
        }
    }
}

/// What a revocation row asks.
struct Revoke<'a> {
    serial: &'a Serial,
    reason: RevocationReason,
    comment: &'a str,
    /// New contact addresses the row gives.
    admin_mail: Option<&'a str>,
    user_mail: Option<&'a str>,
    /// The kinds of certificate the form revokes (the CA's gate re-checks).
    kinds: &'a [CertKind],
}

/// Revokes one certificate through the CA's gate; returns it as it was
/// before (with any new contact address the row gave).
fn revoke(rc: &RowCtx<'_>, how: &Revoke<'_>) -> Result<store::CertRecord, RaError> {
    let RowCtx {
        tx,
        inst,
        mail_id,
        actor,
        now,
        ..
    } = *rc;
    let mut cert = store::certificate(tx, how.serial)?
        .ok_or_else(|| store::StoreError::NotFound(format!("certificate {}", how.serial)))?;
    let entry = ca::revoke_checked(
        &ca::Revocable {
            serial: cert.serial.clone(),
            institution_id: cert.institution_id,
            status: cert.status,
            kind: cert.kind,
        },
        inst,
        how.reason,
        how.kinds,
        now,
    )?;
    store::revoke(
        tx,
        &store::Revocation {
            serial: entry.serial,
            revoked_at: entry.revoked_at,
            reason: entry.reason,
            comment: how.comment.to_string(),
        },
        Some(mail_id),
    )?;
    if let Some(new_admin) = how.admin_mail {
        store::set_admin_mail(tx, how.serial, new_admin)?;
        cert.admin_mail = new_admin.to_string();
    }
    if let Some(new_user) = how.user_mail {
        store::set_user_mail(tx, how.serial, new_user)?;
        cert.user_mail = Some(new_user.to_string());
    }
    store::audit(
        tx,
        now,
        actor,
        "revoke",
        Some(mail_id),
        Some(how.serial),
        &format!(
            "reason {} ({}) {}",
            how.reason.code(),
            how.reason.name(),
            how.comment
        ),
    )?;
    Ok(cert)
}

fn issue(
    rc: &RowCtx<'_>,
    signed: Presigned,
    row: &IssueRow,
    renews: Option<&Serial>,
) -> Result<store::CertRecord, RaError> {
    let RowCtx {
        tx,
        mail_id,
        actor,
        now,
        ..
    } = *rc;
    let Presigned {
        serial,
        ca: ca_kind,
        cert,
    } = signed;
    let rec = record(
        rc,
        Signed {
            serial: &serial,
            ca: ca_kind,
            cert: &cert,
            profile: row.profile,
            subject_dn: row.dn.to_string(),
            admin_mail: &row.admin_mail,
            renews,
        },
    )?;
    store::insert_certificate(tx, &rec)?;
    // What the row said beyond the DN: an expiry digest pre-fills the renewal row from it.
    store::set_server_details(
        tx,
        &serial,
        &store::ServerDetails {
            admin_name: row.admin_name.clone(),
            admin_dept: row.admin_dept.clone(),
            fqdn: row.fqdn.clone(),
            software: row.software.clone(),
            dns_names: row.dns_names.clone(),
        },
    )?;
    let what = match renews {
        Some(old) => format!("renew {old}: profile {} {}", row.profile.id(), row.dn),
        None => format!("issue profile {} {}", row.profile.id(), row.dn),
    };
    store::audit(
        tx,
        now,
        actor,
        if renews.is_some() { "renew" } else { "issue" },
        Some(mail_id),
        Some(&serial),
        &what,
    )?;
    Ok(rec)
}

/// The server rows of the mail's valid files, in the order they are carried
/// out.
fn server_rows(files: &[ApplicationFile]) -> impl Iterator<Item = &IssueRow> {
    files
        .iter()
        .filter(|f| f.ok())
        .flat_map(|f| &f.rows)
        .filter_map(|r| match r {
            Request::Server(ServerRequest::Issue(row)) => Some(row),
            Request::Server(ServerRequest::Renew(rr)) => Some(&rr.request),
            _ => None,
        })
}

/// Signs the certificate of every server row before the rows are recorded:
/// a serial for each, unused in the store and in this mail, then the CA's
/// gate for all of them at once, on every core ([`ca::issue_checked_all`]).
/// The first refusal stops the mail, as it would row by row.
fn presign(
    env: &Env,
    tx: &rusqlite::Connection,
    files: &[ApplicationFile],
    inst: &Institution,
    now: time::OffsetDateTime,
    serials: &mut dyn ca::SerialSource,
) -> Result<Vec<Presigned>, RaError> {
    let mut jobs = Vec::new();
    let mut kinds = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for row in server_rows(files) {
        let serial = loop {
            let s = fresh_serial(tx, serials)?;
            if taken.insert(s.clone()) {
                break s;
            }
        };
        let (kind, ca) = env.ca_for_profile(row.profile)?;
        jobs.push(ca::IssueJob { ca, row, serial });
        kinds.push(kind);
    }
    let signed: Vec<Result<SignedCert, RaError>> =
        ca::issue_checked_all(&jobs, inst, now, env.cfg.server_days)
            .into_par_iter()
            .map(|x509| SignedCert::new(x509?))
            .collect();
    jobs.into_iter()
        .zip(kinds)
        .zip(signed)
        .map(|((job, ca), cert)| {
            Ok(Presigned {
                serial: job.serial,
                ca,
                cert: cert?,
            })
        })
        .collect()
}
