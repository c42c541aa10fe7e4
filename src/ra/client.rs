//! Carrying out the client forms' issuance and renewal rows (5-4-1, 5-4-2),
//! and delivering what they produce.
//!
//! - Keys are generated for a mail's rows **before** its transaction opens
//!   (≈ 250 ms a key: a 1000-row file must not hold the database for
//!   minutes): pooled keys first, the rest on every core, with a progress
//!   line in the log. They live in memory only.
//! - Each certificate goes through the CA's gate for generated keys
//!   (`ca::issue_generated_checked`, which re-checks policy), then key,
//!   certificate and chain are wrapped into a PKCS#12 under the row's access
//!   PIN (the officer's, method 2 only, or a generated one) with the
//!   institution's PKCS#12 encryption (or the instance's). The store keeps
//!   the certificate and what the row said, never the key or the PIN.
//! - Delivery mirrors the service's mails, and **a P12 and its PIN never
//!   share a mail**: method 1 sends each row's admin a P12 mail and a
//!   separate PIN mail; method 2 sends each admin of the file one bundle
//!   (split into self-describing parts under the message size limit) and
//!   the officer the PIN list `clientAllPin.txt`. Mails carrying a P12 or
//!   PINs are marked secret (wiped from the outbox once sent) and are
//!   encrypted whenever the robot holds the recipient's certificate: always
//!   for the officer (the certificate they signed with).

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rusqlite::Connection;

use super::answer::Outgoing;
use super::done::{Done, Generated, RowCtx, Signed, SignedCert, fresh_serial, record};
use super::mail::Mail;
use super::{Env, RaError};
use crate::ca::{self, PinSource, SerialSource};
use crate::model::{
    ApplicationFile, ClientIssueRow, ClientRequest, Dn, DownloadMethod, Institution, Request,
    Serial,
};
use crate::render::bundle::{
    self, BundleEntry, CertInfo, PinFile, PinLine, SplitLimit, bundle_parts, part_index,
};
use crate::render::client_notices::{
    ClientBundle, ClientCertView, ClientP12, ClientPin, ClientPinList,
};
use crate::store;

/// How many keys the rows to be carried out need.
fn keys_needed(files: &[ApplicationFile]) -> usize {
    files
        .iter()
        .filter(|f| f.ok())
        .flat_map(|f| &f.rows)
        .filter(|r| {
            matches!(
                r,
                Request::Client(ClientRequest::Issue(_) | ClientRequest::Renew(_))
            )
        })
        .count()
}

/// Keys for a mail's client rows, generated before its transaction:
/// pooled keys first, the rest on every core, in batches with a progress
/// line in the log for big files.
pub(super) fn keys_for(
    env: &Env,
    files: &[ApplicationFile],
) -> Result<Vec<PKey<Private>>, RaError> {
    const BATCH: usize = 100;
    let n = keys_needed(files);
    if n == 0 {
        return Ok(Vec::new());
    }
    let _hold = env.keys.hold();
    let started = std::time::Instant::now();
    let mut keys = Vec::with_capacity(n);
    while keys.len() < n {
        let k = (n - keys.len()).min(BATCH);
        keys.extend(env.keys.take(k)?);
        if n > BATCH {
            tracing::info!(
                done = keys.len(),
                of = n,
                secs = started.elapsed().as_secs(),
                "generating keys for client certificates"
            );
        }
    }
    Ok(keys)
}

/// Issues one client or S/MIME certificate for a generated key and wraps it
/// into its PKCS#12.
pub(super) fn issue(
    rc: &RowCtx<'_>,
    serials: &mut dyn SerialSource,
    pins: &mut dyn PinSource,
    row: &ClientIssueRow,
    renews: Option<&Serial>,
    key: PKey<Private>,
) -> Result<Generated, RaError> {
    let RowCtx {
        env,
        tx,
        inst,
        mail_id,
        actor,
        now,
    } = *rc;
    let serial = fresh_serial(tx, serials)?;
    let (ca_kind, issuing) = env.ca_for_profile(row.profile)?;
    let x509 = ca::issue_generated_checked(issuing, inst, row, &key, serial.clone(), now)?;
    let encryption = inst.p12_encryption.unwrap_or(env.cfg.p12_encryption);
    let pin = row.pin.clone().unwrap_or_else(|| pins.next_pin());
    let p12 = ca::build_p12(
        &row.p12_name,
        &key,
        &x509,
        &issuing.chain(),
        &pin,
        encryption,
    )?;
    drop(key);
    let subject = Dn::from_x509_name(x509.subject_name()).map_err(ca::CaError::from)?;
    let applied = row.dn.to_string();
    let made = SignedCert::new(x509)?;
    let signed = Signed {
        serial: &serial,
        ca: ca_kind,
        cert: &made,
        profile: row.profile,
        subject_dn: subject.to_string(),
        admin_mail: &row.admin_mail,
        renews,
    };
    let rec = store::CertRecord {
        applied_dn: (applied != subject.to_string()).then_some(applied),
        user_mail: row.user_mail.clone(),
        ..record(rc, signed)?
    };
    store::insert_certificate(tx, &rec)?;
    store::set_client_details(
        tx,
        &serial,
        &store::ClientDetails {
            admin_name: row.admin_name.clone(),
            admin_dept: row.admin_dept.clone(),
            user_name: row.user_name.clone(),
            user_dept: row.user_dept.clone(),
            p12_name: row.p12_name.clone(),
            method: row.method,
        },
    )?;
    let what = match renews {
        Some(old) => format!("renew {old}: profile {} {}", row.profile.id(), row.dn),
        None => format!("issue profile {} {}", row.profile.id(), row.dn),
    };
    store::audit(tx, now, actor, "issue", Some(mail_id), Some(&serial), &what)?;
    Ok(Generated {
        row: row.clone(),
        cert: rec,
        p12,
        pin,
        renewed_from: renews.cloned(),
        encryption,
    })
}

/// What the notices show of a generated certificate.
fn info(g: &Generated) -> CertInfo {
    CertInfo {
        p12_name: g.row.p12_name.clone(),
        serial: g.cert.serial.clone(),
        subject_dn: g.cert.subject_dn.clone(),
        profile: g.row.profile,
        not_before: g.cert.not_before,
        not_after: g.cert.not_after,
        user_mail: g.row.user_mail.clone().unwrap_or_default(),
    }
}

fn view(g: &Generated) -> ClientCertView {
    ClientCertView::new(
        &info(g),
        g.row.dn.cn().unwrap_or_default(),
        g.renewed_from.as_ref(),
    )
}

/// Where the secret mails of a mail's rows go, and to whom they can be
/// encrypted.
struct Delivery<'a> {
    env: &'a Env,
    mail: &'a Mail,
    tx: &'a Connection,
    mail_id: i64,
    inst: &'a Institution,
    officer: String,
}

impl Delivery<'_> {
    /// The certificates a mail to `to` can be encrypted to: the officer's
    /// (the one they signed with) when the mail goes to the officer alone;
    /// none otherwise (the robot holds no other recipient's certificate).
    fn encrypt_to(&self, to: &str) -> Vec<X509> {
        match &self.mail.known.signer_cert {
            Some(c) if to.eq_ignore_ascii_case(&self.officer) => vec![c.clone()],
            _ => vec![],
        }
    }

    /// Queues one secret mail to `to` alone.
    fn send(
        &self,
        mut out: Outgoing,
        to: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), RaError> {
        out.to = vec![to.to_string()];
        out.secret = true;
        out.encrypt_to = self.encrypt_to(to);
        out.tags = tags;
        self.mail.queue(self.env, self.tx, self.mail_id, out)
    }

    fn tags(&self, verdict: &str, form: &str, serials: &str) -> Vec<(String, String)> {
        vec![
            ("Verdict".into(), verdict.into()),
            ("Application".into(), form.into()),
            ("Institution".into(), self.inst.name.clone()),
            ("Serial".into(), serials.into()),
        ]
    }
}

/// Queues the mails delivering the generated certificates of the executed
/// rows, per download method; returns how many were queued.
pub(super) fn queue_deliveries(
    env: &Env,
    mail: &Mail,
    tx: &Connection,
    mail_id: i64,
    inst: &Institution,
    done: &[Done],
) -> Result<usize, RaError> {
    let d = Delivery {
        env,
        mail,
        tx,
        mail_id,
        inst,
        officer: mail.officer_email(),
    };
    let generated: Vec<&Generated> = done
        .iter()
        .filter_map(|x| match x {
            Done::Generated(g) => Some(g.as_ref()),
            _ => None,
        })
        .collect();
    let mut n = 0;
    for g in generated
        .iter()
        .filter(|g| g.row.method != DownloadMethod::P12Bundle)
    {
        n += each(&d, g)?;
    }
    let bundled: Vec<&Generated> = generated
        .into_iter()
        .filter(|g| g.row.method == DownloadMethod::P12Bundle)
        .collect();
    if !bundled.is_empty() {
        n += bundles(&d, &bundled)?;
    }
    Ok(n)
}

fn form_code(g: &Generated) -> &'static str {
    if g.renewed_from.is_some() {
        "5-4-2"
    } else {
        "5-4-1"
    }
}

/// Method 1: the row's admin gets the P12 in one mail and its PIN in another.
fn each(d: &Delivery<'_>, g: &Generated) -> Result<usize, RaError> {
    let robot = &d.env.cfg.robot_address;
    let cert = view(g);
    let serial = g.cert.serial.to_string();
    let mut p12 = Outgoing::new(
        ClientP12::TEMPLATE,
        &ClientP12::new(
            &g.row.admin_name,
            cert.clone(),
            g.encryption,
            &d.officer,
            robot,
        ),
    );
    p12.attachments = vec![(
        format!("{}.p12", g.row.p12_name),
        "application/x-pkcs12".into(),
        g.p12.clone(),
    )];
    d.send(
        p12,
        &g.row.admin_mail,
        d.tags("issued", form_code(g), &serial),
    )?;
    let pin = Outgoing::new(
        ClientPin::TEMPLATE,
        &ClientPin::new(&g.row.admin_name, &cert, &g.pin, &d.officer, robot),
    );
    d.send(pin, &g.row.admin_mail, d.tags("pin", form_code(g), &serial))?;
    Ok(2)
}

/// Method 2: each admin of the file gets their certificates' bundle (in
/// parts when it would exceed the message size limit); the officer gets the
/// PIN list of all of them, in a mail of its own.
fn bundles(d: &Delivery<'_>, gs: &[&Generated]) -> Result<usize, RaError> {
    let robot = &d.env.cfg.robot_address;
    let now = d.mail.incoming.now;
    let mut admins: Vec<String> = Vec::new();
    for g in gs {
        if !admins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&g.row.admin_mail))
        {
            admins.push(g.row.admin_mail.clone());
        }
    }
    let mut n = 0;
    let mut all_parts = Vec::new();
    for admin in &admins {
        let mine: Vec<&&Generated> = gs
            .iter()
            .filter(|g| g.row.admin_mail.eq_ignore_ascii_case(admin))
            .collect();
        let entries: Vec<BundleEntry> = mine
            .iter()
            .map(|g| BundleEntry {
                info: info(g),
                p12: g.p12.clone(),
            })
            .collect();
        let limit = SplitLimit {
            max_message_bytes: d.env.cfg.max_message_bytes,
            encrypted_to: d.encrypt_to(admin).len(),
            ..SplitLimit::default()
        };
        let parts = bundle_parts(&entries, &limit, now)?;
        let index = part_index(&parts);
        for (part, idx) in parts.into_iter().zip(&index) {
            // The certificates this part carries, found once.
            let files: std::collections::HashSet<&str> =
                part.p12_files.iter().map(String::as_str).collect();
            let members: Vec<&Generated> = mine
                .iter()
                .copied()
                .copied()
                .filter(|g| files.contains(format!("{}.p12", g.row.p12_name).as_str()))
                .collect();
            let certs: Vec<ClientCertView> = members.iter().map(|g| view(g)).collect();
            let serials: Vec<String> = members.iter().map(|g| g.cert.serial.to_string()).collect();
            let enc = mine[0].encryption;
            let name = mine[0].row.admin_name.as_str();
            let mut out = Outgoing::new(
                ClientBundle::TEMPLATE,
                &ClientBundle::new(name, idx, certs, &index, enc, &d.officer, robot),
            );
            out.attachments = vec![(part.file_name.clone(), "application/zip".into(), part.zip)];
            d.send(
                out,
                admin,
                d.tags("issued", form_code(mine[0]), &serials.join(", ")),
            )?;
            n += 1;
        }
        all_parts.extend(index);
    }
    let lines: Vec<PinLine> = gs
        .iter()
        .map(|g| PinLine {
            p12_name: g.row.p12_name.clone(),
            serial: g.cert.serial.clone(),
            cn: g.row.dn.cn().unwrap_or_default().to_string(),
            pin: g.pin.clone(),
        })
        .collect();
    let file = bundle::pin_file(PinFile::All, &lines)?;
    let mut out = Outgoing::new(
        ClientPinList::TEMPLATE,
        &ClientPinList::new(&d.officer, &admins, &all_parts, robot),
    );
    out.attachments = vec![(
        PinFile::All.file_name().into(),
        "text/tab-separated-values; charset=Shift_JIS".into(),
        file,
    )];
    let serials: Vec<String> = gs.iter().map(|g| g.cert.serial.to_string()).collect();
    d.send(
        out,
        &d.officer,
        d.tags("pin", form_code(gs[0]), &serials.join(", ")),
    )?;
    Ok(n + 1)
}
