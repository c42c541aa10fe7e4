//! The reminder jobs: the 2-2-9 reminder (an old server certificate left
//! unrevoked 14 days after its renewal) and the expiry digest (one mail per
//! institution to its officers, with a pre-filled renewal file). They read
//! the certificates, let `policy::reminders` choose what is due at `now`,
//! and queue each mail as every reply is queued — rendered, S/MIME-signed,
//! in the outbox table — recording the reminder in the same transaction, so
//! a reminder is queued once or not at all. The scheduler (`service`) and
//! `mailra reminders run` call [`run_due`].

use std::collections::HashSet;

use serde::Serialize;
use time::OffsetDateTime;

use super::answer::{Answering, Outgoing, queue_mail};
use super::{Env, RaError};
use crate::model::{CertStatus, Serial};
use crate::policy::reminders::{
    self as due, CertState, DigestHistory, DigestPlan, RenewalReminder,
};
use crate::render::reminders::{self as views, ExpiringCert};
use crate::render::renewal_file;
use crate::store::{self, ReminderKind};

mod rows;
use rows::RenewalRow;
pub use rows::client_file_name;

/// The robot as the audit log names it.
const ROBOT: &str = "robot";
/// The pre-filled renewal file of a digest's server certificates; its
/// client certificates go into files per download method
/// ([`client_file_name`]).
pub const SERVER_FILE: &str = "server-renewal.tsv";

/// A reminder mail queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queued {
    /// `renewal-revoke` (2-2-9) or `expiry-digest`.
    pub kind: &'static str,
    pub institution: String,
    /// The certificates it names (2-2-9: the old one), `0x` hex.
    pub serials: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub outbox_id: i64,
}

/// What is open or due at `now`: the 2-2-9 reminders (sent or not) whose
/// old certificate is still valid, and each institution's next digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agenda {
    pub renewals: Vec<RenewalReminder>,
    pub digests: Vec<DigestPlan>,
}

/// Reads what the selection needs and asks `policy::reminders` what is open.
pub fn agenda(
    conn: &rusqlite::Connection,
    now: OffsetDateTime,
    digest_days: u32,
) -> Result<Agenda, RaError> {
    let certs: Vec<CertState> = store::certificate_briefs(conn)?
        .into_iter()
        .map(|c| CertState {
            serial: c.serial,
            institution_id: c.institution_id,
            kind: c.kind,
            not_after: c.not_after,
            issued_at: c.issued_at,
            revoked: c.status == CertStatus::Revoked,
            renewed_from: c.renewed_from,
        })
        .collect();
    let mut reminded = HashSet::new();
    let mut history = DigestHistory::default();
    let inst_of: std::collections::HashMap<&Serial, i64> = certs
        .iter()
        .map(|c| (&c.serial, c.institution_id))
        .collect();
    for r in store::reminders(conn)? {
        match r.kind {
            ReminderKind::RenewalRevoke => {
                reminded.insert(r.serial);
            }
            ReminderKind::ExpiryDigest => {
                if let Some(&inst) = inst_of.get(&r.serial) {
                    let last = history.last_sent.entry(inst).or_insert(r.sent_at);
                    *last = (*last).max(r.sent_at);
                }
                history.listed.insert(r.serial);
            }
        }
    }
    for i in store::institutions(conn)? {
        if !store::expiry_digest(conn, i.id)? {
            history.opted_out.insert(i.id);
        }
    }
    Ok(Agenda {
        renewals: due::renewal_reminders(&certs, &reminded, now),
        digests: due::digest_plans(&certs, &history, now, digest_days),
    })
}

/// Runs every reminder job due at `now` and writes the queued mails out
/// (without SMTP; with it the sender delivers them). Returns what it queued.
pub fn run_due(env: &Env, now: OffsetDateTime) -> Result<Vec<Queued>, RaError> {
    let days = env.cfg.reminders.digest_days;
    let agenda = agenda(&env.conn, now, days)?;
    let mut out = Vec::new();
    for r in agenda.renewals.iter().filter(|r| r.due(now)) {
        out.extend(renewal_reminder(env, r, now)?);
    }
    for p in agenda.digests.iter().filter(|p| p.due) {
        out.extend(digest(env, p, days, now)?);
    }
    if !out.is_empty() {
        env.deliver_local(now)?;
    }
    Ok(out)
}

fn cn_of(dn: &str) -> String {
    crate::policy::dn::parse(dn)
        .ok()
        .and_then(|d| d.cn().map(str::to_string))
        .unwrap_or_default()
}

fn lower_dedup(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in v {
        let a = a.to_ascii_lowercase();
        if !a.is_empty() && !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Queues the 2-2-9 reminder of one renewal: to the certificate's admin,
/// the officer who applied for the renewal in copy (the institution's
/// officers when that officer is no longer registered).
fn renewal_reminder(
    env: &Env,
    r: &RenewalReminder,
    now: OffsetDateTime,
) -> Result<Option<Queued>, RaError> {
    let (Some(old), Some(new)) = (
        store::certificate(&env.conn, &r.old)?,
        store::certificate(&env.conn, &r.new)?,
    ) else {
        return Ok(None);
    };
    let inst = store::institution(&env.conn, old.institution_id)?;
    let officers = match store::applying_officer(&env.conn, &new.serial)? {
        Some(o) => vec![o.email],
        None => store::institution_officers(&env.conn, old.institution_id)?
            .into_iter()
            .map(|o| o.email)
            .collect(),
    };
    let to = lower_dedup([new.admin_mail.clone(), old.admin_mail.clone()]);
    let cc: Vec<String> = lower_dedup(officers)
        .into_iter()
        .filter(|a| !to.contains(a))
        .collect();
    let view = views::RenewalReminder::new(
        &cn_of(&old.subject_dn),
        &old.subject_dn,
        (&old.serial, old.not_after),
        (&new.serial, new.issued_at),
        (now - new.issued_at).whole_days(),
        &cc.join(", "),
        &env.cfg.robot_address,
    );
    let institution = inst.map(|i| i.name).unwrap_or_default();
    let mut mail = Outgoing::new("renewal_reminder", &view);
    mail.to = to.clone();
    mail.cc = cc.clone();
    mail.tags = vec![
        ("Verdict".into(), "reminder".into()),
        ("Reminder".into(), "2-2-9".into()),
        ("Institution".into(), institution.clone()),
        ("Serial".into(), old.serial.to_string()),
    ];
    let tx = env.conn.unchecked_transaction()?;
    let outbox_id = queue_mail(env, &tx, &Answering::default(), mail, now)?;
    store::record_reminder(
        &tx,
        ReminderKind::RenewalRevoke,
        &old.serial,
        now,
        Some(outbox_id),
    )?;
    store::audit(
        &tx,
        now,
        ROBOT,
        "reminder-renewal-revoke",
        None,
        Some(&old.serial),
        &format!(
            "old certificate still valid {} days after renewal {}; reminded {}",
            (now - new.issued_at).whole_days(),
            new.serial,
            [to.clone(), cc.clone()].concat().join(" ")
        ),
    )?;
    tx.commit()?;
    tracing::info!(old = %old.serial, new = %new.serial, "2-2-9 reminder queued");
    Ok(Some(Queued {
        kind: ReminderKind::RenewalRevoke.as_str(),
        institution,
        serials: vec![old.serial.to_string()],
        to,
        cc,
        outbox_id,
    }))
}

/// Queues one institution's expiry digest to its officers, with the
/// pre-filled renewal file(s), and records each certificate it lists.
fn digest(
    env: &Env,
    plan: &DigestPlan,
    days: u32,
    now: OffsetDateTime,
) -> Result<Option<Queued>, RaError> {
    let Some(inst) = store::institution(&env.conn, plan.institution_id)? else {
        return Ok(None);
    };
    let officers = lower_dedup(
        store::institution_officers(&env.conn, inst.id)?
            .into_iter()
            .map(|o| o.email),
    );
    if officers.is_empty() {
        tracing::warn!(institution = %inst.name, "expiry digest due, but the institution has no officer");
        return Ok(None);
    }
    let mut certs = Vec::new();
    let mut listed = Vec::new();
    let (mut server_rows, mut client_rows) = (Vec::new(), Vec::new());
    for serial in &plan.serials {
        let Some(c) = store::certificate(&env.conn, serial)? else {
            continue;
        };
        let row = rows::renewal_row(&env.conn, &c)?;
        certs.push(ExpiringCert::new(
            &c.subject_dn,
            &cn_of(&c.subject_dn),
            &c.serial,
            c.renewal_profile().map_or(0, |p| p.id()),
            c.not_after,
            &c.admin_mail,
            row.is_some(),
        ));
        match row {
            Some(RenewalRow::Server(r)) => server_rows.push(r),
            Some(RenewalRow::Client(r)) => client_rows.push(r),
            None => {}
        }
        listed.push(c.serial);
    }
    if listed.is_empty() {
        return Ok(None);
    }
    let client_files = rows::client_files(client_rows);
    let tsv = "text/tab-separated-values; charset=Shift_JIS".to_string();
    let mut attachments = Vec::new();
    let server_files = rows::server_files(server_rows);
    for (name, rows) in &server_files {
        attachments.push((name.clone(), tsv.clone(), renewal_file::encode(rows)));
    }
    for f in &client_files {
        attachments.push((f.name.clone(), tsv.clone(), renewal_file::encode(&f.rows)));
    }
    let view = views::ExpiryDigest {
        institution: inst.name.clone(),
        days,
        certs,
        server_file: (!server_files.is_empty()).then(|| {
            let names: Vec<&str> = server_files.iter().map(|(n, _)| n.as_str()).collect();
            names.join(", ")
        }),
        client_files: client_files
            .iter()
            .map(|f| views::ClientFile::new(&f.name, f.method, f.rows.len()))
            .collect(),
        robot: env.cfg.robot_address.clone(),
    };
    let serials: Vec<String> = listed.iter().map(Serial::to_string).collect();
    let mut mail = Outgoing::new("expiry_digest", &view);
    mail.to = officers.clone();
    mail.attachments = attachments;
    mail.tags = vec![
        ("Verdict".into(), "reminder".into()),
        ("Reminder".into(), "expiry-digest".into()),
        ("Institution".into(), inst.name.clone()),
        ("Serial".into(), serials.join(", ")),
    ];
    let tx = env.conn.unchecked_transaction()?;
    let outbox_id = queue_mail(env, &tx, &Answering::default(), mail, now)?;
    for s in &listed {
        store::record_reminder(&tx, ReminderKind::ExpiryDigest, s, now, Some(outbox_id))?;
    }
    store::audit(
        &tx,
        now,
        ROBOT,
        "reminder-expiry-digest",
        None,
        None,
        &format!(
            "{} certificate(s) expiring within {days} days listed to {}: {}",
            listed.len(),
            officers.join(" "),
            serials.join(" ")
        ),
    )?;
    tx.commit()?;
    tracing::info!(institution = %inst.name, certificates = listed.len(), "expiry digest queued");
    Ok(Some(Queued {
        kind: ReminderKind::ExpiryDigest.as_str(),
        institution: inst.name,
        serials,
        to: officers,
        cc: vec![],
        outbox_id,
    }))
}
