//! Carrying out validated files: issue, renew, revoke, a fresh CRL, and the
//! replies, all in one transaction.

use rusqlite::Connection;
use time::OffsetDateTime;

use super::answer::Outgoing;
use super::mail::Mail;
use super::replies::record_file;
use super::{Env, Outcome, RaError, Verdict};
use crate::ca::{self, RevokedEntry};
use crate::model::{
    ApplicationFile, ApplicationStatus, CaKind, CertStatus, FormKind, Institution, IssueRow,
    Request, RevokeRow, Serial, ServerRequest,
};
use crate::policy::rules::Decision;
use crate::render::notices::{self, IssuedCert, RevokedCert};
use crate::render::views::{FileView, RowOutcome, RowView, summarize};
use crate::store;

/// What one executed row produced, for the replies.
enum Done {
    Issued {
        row: IssueRow,
        cert: store::CertRecord,
        renewed_from: Option<Serial>,
    },
    Revoked {
        row: RevokeRow,
        cert: store::CertRecord,
    },
}

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
    let mut serials = std::mem::replace(&mut env.serials, Box::new(ca::RandomSerials));
    let batch = Batch {
        inst,
        files: &files,
        notes: &notes,
        verdict,
        summary: &summary_files,
        decision: &decision,
    };
    let result = execute_in_tx(env, &mail, &batch, serials.as_mut());
    env.serials = serials;
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

/// What every row of a mail's transaction shares.
struct RowCtx<'a> {
    env: &'a Env,
    tx: &'a Connection,
    inst: &'a Institution,
    mail_id: i64,
    actor: &'a str,
    now: OffsetDateTime,
}

fn execute_in_tx(
    env: &Env,
    mail: &Mail,
    batch: &Batch<'_>,
    serials: &mut dyn ca::SerialSource,
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
            let d = execute_row(&rc, serials, r)?;
            let (outcome, serial, cn) = match &d {
                Done::Issued {
                    renewed_from: None,
                    cert,
                    row,
                } => (RowOutcome::Issued, &cert.serial, row.fqdn.clone()),
                Done::Issued { cert, row, .. } => {
                    (RowOutcome::Renewed, &cert.serial, row.fqdn.clone())
                }
                Done::Revoked { row, cert } => {
                    (RowOutcome::Revoked, &row.serial, cert.subject_dn.clone())
                }
            };
            store::insert_row(&tx, app, r.line(), outcome.into(), Some(serial), "")?;
            match &d {
                Done::Issued { .. } => issued.push(serial.to_string()),
                Done::Revoked { .. } => revoked.push(serial.to_string()),
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
        .filter_map(|d| match d {
            Done::Revoked { cert, .. } => Some(cert.ca),
            Done::Issued { .. } => None,
        })
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
        notes,
        verdict,
        summary: &summary,
    };
    let reply = mail.officer_reply(env, inst, result, decision);
    mail.queue(env, &tx, mail_id, reply)?;
    let replies = 1 + queue_notices(env, mail, &tx, mail_id, inst, &done)?;
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

fn execute_row(
    rc: &RowCtx<'_>,
    serials: &mut dyn ca::SerialSource,
    r: &Request,
) -> Result<Done, RaError> {
    let RowCtx {
        tx,
        inst,
        mail_id,
        actor,
        now,
        ..
    } = *rc;
    match r {
        Request::Server(ServerRequest::Issue(row)) => Ok(Done::Issued {
            cert: issue(rc, serials, row, None)?,
            row: row.clone(),
            renewed_from: None,
        }),
        Request::Server(ServerRequest::Renew(rr)) => Ok(Done::Issued {
            cert: issue(rc, serials, &rr.request, Some(&rr.old_serial))?,
            row: rr.request.clone(),
            renewed_from: Some(rr.old_serial.clone()),
        }),
        Request::Client(_) => unreachable!("policy produces no client rows yet"),
        Request::Server(ServerRequest::Revoke(row)) => {
            let cert = store::certificate(tx, &row.serial)?.ok_or_else(|| {
                store::StoreError::NotFound(format!("certificate {}", row.serial))
            })?;
            let entry = ca::revoke_checked(
                &ca::Revocable {
                    serial: cert.serial.clone(),
                    institution_id: cert.institution_id,
                    status: cert.status,
                },
                inst,
                row.reason,
                now,
            )?;
            store::revoke(
                tx,
                &store::Revocation {
                    serial: entry.serial,
                    revoked_at: entry.revoked_at,
                    reason: entry.reason,
                    comment: row.comment.clone(),
                },
                Some(mail_id),
            )?;
            if let Some(new_admin) = &row.admin_mail {
                store::set_admin_mail(tx, &row.serial, new_admin)?;
            }
            store::audit(
                tx,
                now,
                actor,
                "revoke",
                Some(mail_id),
                Some(&row.serial),
                &format!(
                    "reason {} ({}) {}",
                    row.reason.code(),
                    row.reason.name(),
                    row.comment
                ),
            )?;
            Ok(Done::Revoked {
                row: row.clone(),
                cert,
            })
        }
    }
}

fn issue(
    rc: &RowCtx<'_>,
    serials: &mut dyn ca::SerialSource,
    row: &IssueRow,
    renews: Option<&Serial>,
) -> Result<store::CertRecord, RaError> {
    let RowCtx {
        env,
        tx,
        inst,
        mail_id,
        actor,
        now,
    } = *rc;
    let serial = loop {
        let s = serials.next_serial();
        if store::certificate(tx, &s)?.is_none() {
            break s;
        }
    };
    let (ca_kind, issuing) = env.ca_for_profile(row.profile)?;
    let x509 = ca::issue_checked(issuing, inst, row, serial.clone(), now, env.cfg.server_days)?;
    let pem = String::from_utf8_lossy(&x509.to_pem().map_err(ca::CaError::from)?).into_owned();
    let rec = store::CertRecord {
        serial: serial.clone(),
        institution_id: inst.id,
        profile: row.profile,
        subject_dn: row.dn.to_string(),
        spki_sha256: ca::cert_spki_sha256(&x509),
        not_before: asn1_to_time(x509.not_before()).unwrap_or(now),
        not_after: asn1_to_time(x509.not_after()).unwrap_or(now),
        status: CertStatus::Valid,
        pem,
        admin_mail: row.admin_mail.clone(),
        renewed_from: renews.cloned(),
        issued_at: now,
        mail_id: Some(mail_id),
        ca: ca_kind,
        applied_dn: None,
        user_mail: None,
    };
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

pub(crate) fn asn1_to_time(t: &openssl::asn1::Asn1TimeRef) -> Option<OffsetDateTime> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    OffsetDateTime::from_unix_timestamp(d.days as i64 * 86400 + d.secs as i64).ok()
}

/// Queues the notices for the executed rows: one mail per admin address and
/// kind of event (issued / revoked), carrying all of that admin's certificates,
/// rather than one mail per certificate — an admin of 30 hosts gets one mail,
/// and the officer (cc) is not sent 99 copies for a 99-row file.
///
/// Issued certificates are grouped per issuing CA as well, so the one
/// `chain.pem` of a notice is the chain of every certificate in it: an admin
/// given both a profile 3 and a profile 11 certificate gets two notices.
fn queue_notices(
    env: &Env,
    mail: &Mail,
    tx: &Connection,
    mail_id: i64,
    inst: &Institution,
    done: &[Done],
) -> Result<usize, RaError> {
    let officer = mail.officer_email();
    // (form, admin address lower-cased, issuing CA of issued certificates)
    // → rows, in first-seen order.
    type Key = (FormKind, String, Option<CaKind>);
    let mut groups: Vec<(Key, Vec<&Done>)> = Vec::new();
    for d in done {
        let key = match d {
            Done::Issued {
                row,
                renewed_from,
                cert,
            } => (
                if renewed_from.is_some() {
                    FormKind::ServerRenew
                } else {
                    FormKind::ServerIssue
                },
                row.admin_mail.to_ascii_lowercase(),
                Some(cert.ca),
            ),
            Done::Revoked { row, cert } => (
                FormKind::ServerRevoke,
                row.admin_mail
                    .as_deref()
                    .unwrap_or(&cert.admin_mail)
                    .to_ascii_lowercase(),
                None,
            ),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(d),
            None => groups.push((key, vec![d])),
        }
    }
    for ((form, _, _), ds) in &groups {
        let serials = ds
            .iter()
            .map(|d| match d {
                Done::Issued { cert, .. } | Done::Revoked { cert, .. } => cert.serial.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let (mut reply, verdict, admin) = if *form == FormKind::ServerRevoke {
            revoked_notice(env, mail.incoming.now, &officer, ds)
        } else {
            issued_notice(env, &officer, ds)?
        };
        reply.to = vec![admin];
        reply.cc = vec![officer.clone()];
        reply.tags = vec![
            ("Verdict".into(), verdict.into()),
            ("Application".into(), form.code().into()),
            ("Institution".into(), inst.name.clone()),
            ("Serial".into(), serials),
        ];
        mail.queue(env, tx, mail_id, reply)?;
    }
    Ok(groups.len())
}

/// The notice of the revoked certificates of one admin: (reply, verdict tag, admin).
fn revoked_notice(
    env: &Env,
    now: OffsetDateTime,
    officer: &str,
    ds: &[&Done],
) -> (Outgoing, &'static str, String) {
    let mut certs = Vec::new();
    let mut admin = String::new();
    for d in ds {
        let Done::Revoked { row, cert } = d else {
            continue;
        };
        admin = row
            .admin_mail
            .clone()
            .unwrap_or_else(|| cert.admin_mail.clone());
        certs.push(RevokedCert::new(
            row.dn.cn().unwrap_or_default(),
            &cert.subject_dn,
            &row.serial,
            row.reason,
            &row.comment,
        ));
    }
    let view = notices::Revoked::new(certs, now, officer, &env.cfg.robot_address);
    (Outgoing::new("server_revoked", &view), "revoked", admin)
}

/// The notice of the certificates issued to one admin by one CA, with the
/// certificates and the CA chain attached: (reply, verdict tag, admin).
fn issued_notice(
    env: &Env,
    officer: &str,
    ds: &[&Done],
) -> Result<(Outgoing, &'static str, String), RaError> {
    let mut certs = Vec::new();
    let mut attachments = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut admin = String::new();
    let mut chain_ca = CaKind::Rsa;
    for d in ds {
        let Done::Issued {
            row,
            cert,
            renewed_from,
        } = d
        else {
            continue;
        };
        admin = row.admin_mail.clone();
        chain_ca = cert.ca;
        names.push(&row.admin_name);
        certs.push(IssuedCert::new(
            &row.fqdn,
            &cert.subject_dn,
            &cert.serial,
            (cert.not_before, cert.not_after),
            &row.dns_names,
            renewed_from.as_ref(),
        ));
        attachments.push((
            format!("{}-{}.pem", row.fqdn, cert.serial.to_hex()),
            "application/x-pem-file".to_string(),
            cert.pem.clone().into_bytes(),
        ));
    }
    // Every certificate of the group comes from the same CA.
    let issuing = env
        .issuing_ca(chain_ca)
        .ok_or(ca::CaError::NotConfigured(chain_ca))?;
    attachments.push((
        "chain.pem".to_string(),
        "application/x-pem-file".to_string(),
        issuing.chain_pem(),
    ));
    let view = notices::Issued::new(&names, certs, officer, &env.cfg.robot_address);
    let mut reply = Outgoing::new("server_issued", &view);
    reply.attachments = attachments;
    Ok((reply, "issued", admin))
}

/// Makes and stores a new CRL of `kind`'s CA, listing every revocation of a
/// certificate that CA issued.
pub(crate) fn make_crl(
    env: &Env,
    tx: &Connection,
    kind: CaKind,
    now: OffsetDateTime,
) -> Result<(), RaError> {
    let ca = env
        .issuing_ca(kind)
        .ok_or(ca::CaError::NotConfigured(kind))?;
    let entries: Vec<RevokedEntry> = store::revocations(tx, kind)?
        .into_iter()
        .map(|r| RevokedEntry {
            serial: r.serial,
            revoked_at: r.revoked_at,
            reason: r.reason,
        })
        .collect();
    let number = store::next_crl_number(tx, kind)?;
    let next = now + time::Duration::days(env.cfg.crl_days as i64);
    let crl = ca.crl(&entries, now, next, number)?;
    store::insert_crl(tx, kind, number, now, next, &crl.der)?;
    Ok(())
}

/// Writes the newest CRL of `kind`'s CA to `crl_dir` atomically, DER and PEM:
/// `ca.crl` / `ca.crl.pem` for the RSA CA, `ca-ec.crl` / `ca-ec.crl.pem` for
/// the ECDSA CA. Returns the PEM file's path.
pub(crate) fn publish_crl(env: &Env, kind: CaKind) -> Result<std::path::PathBuf, RaError> {
    let Some((_, _, _, der)) = store::latest_crl(&env.conn, kind)? else {
        return Err(RaError::Io(std::io::Error::other(format!(
            "no CRL of the {kind} issuing CA has been made yet"
        ))));
    };
    let pem = openssl::x509::X509Crl::from_der(&der)
        .and_then(|c| c.to_pem())
        .map_err(ca::CaError::from)?;
    std::fs::create_dir_all(&env.cfg.crl_dir)?;
    let stem = kind.crl_stem();
    let der_path = env.cfg.crl_dir.join(format!("{stem}.crl"));
    let pem_path = env.cfg.crl_dir.join(format!("{stem}.crl.pem"));
    for (path, data) in [(&der_path, &der), (&pem_path, &pem)] {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, data)?;
        std::fs::rename(&tmp, path)?;
    }
    Ok(pem_path)
}
