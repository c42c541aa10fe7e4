//! The notices of carried-out rows that carry no key: server certificates
//! issued (the certificates and their chain attached) and certificates of
//! either family revoked — one mail per admin and kind of event. Generated
//! keys are delivered by `client`.

use time::OffsetDateTime;

use super::answer::Outgoing;
use super::done::Done;
use super::mail::Mail;
use super::{Env, RaError};
use crate::ca;
use crate::model::{CaKind, FormKind, Institution};
use crate::render::client_notices::ClientRevoked;
use crate::render::codesign_notice::{Applied, CodeSignRevoked};
use crate::render::notices::{self, IssuedCert, RevokedCert};

/// The notices for the executed rows: one mail per admin address and
/// kind of event (issued / revoked), carrying all of that admin's certificates,
/// rather than one mail per certificate — an admin of 30 hosts gets one mail,
/// and the officer (cc) is not sent 99 copies for a 99-row file.
///
/// Issued certificates are grouped per issuing CA as well, so the one
/// `chain.pem` of a notice is the chain of every certificate in it: an admin
/// given both a profile 3 and a profile 11 certificate gets two notices.
pub(super) fn notices(
    env: &Env,
    mail: &Mail,
    inst: &Institution,
    done: &[Done],
) -> Result<Vec<Outgoing>, RaError> {
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
                cert.ca,
            ),
            Done::Revoked { cert, .. } => (
                FormKind::ServerRevoke,
                cert.admin_mail.to_ascii_lowercase(),
                None,
            ),
            Done::ClientRevoked { cert, .. } => (
                FormKind::ClientRevoke,
                cert.admin_mail.to_ascii_lowercase(),
                None,
            ),
            // One notice per form (one certificate each): the admin address
            // is the form's, if it gave one.
            Done::CodeSignRevoked { row, cert } => (
                FormKind::CodeSignRevoke,
                format!(
                    "{}\n{}",
                    row.admin_mail
                        .as_deref()
                        .unwrap_or_default()
                        .to_ascii_lowercase(),
                    cert.serial
                ),
                None,
            ),
            Done::Generated(_) => continue,
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(d),
            None => groups.push((key, vec![d])),
        }
    }
    let mut outs = Vec::with_capacity(groups.len());
    for ((form, _, _), ds) in &groups {
        let serials = ds
            .iter()
            .map(|d| d.cert().serial.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let (mut reply, verdict, admin) = match form {
            FormKind::ServerRevoke | FormKind::ClientRevoke => {
                revoked_notice(env, mail.incoming.now, &officer, ds)
            }
            FormKind::CodeSignRevoke => codesign_notice(env, mail.incoming.now, &officer, ds),
            _ => issued_notice(env, &officer, ds)?,
        };
        // A code-signing form without an admin address: the officer alone.
        if *form == FormKind::CodeSignRevoke
            && (admin.is_empty() || admin.eq_ignore_ascii_case(&officer))
        {
            reply.to = vec![officer.clone()];
        } else {
            reply.to = vec![admin];
            reply.cc = vec![officer.clone()];
        }
        reply.tags = vec![
            ("Verdict".into(), verdict.into()),
            ("Application".into(), form.code().into()),
            ("Institution".into(), inst.name.clone()),
            ("Serial".into(), serials),
        ];
        outs.push(reply);
    }
    Ok(outs)
}

/// The notice of the revoked certificates of one admin (one family):
/// (reply, verdict tag, admin). The certificate carries the admin address
/// the row named, if it named a new one.
fn revoked_notice(
    env: &Env,
    now: OffsetDateTime,
    officer: &str,
    ds: &[&Done],
) -> (Outgoing, &'static str, String) {
    let mut certs = Vec::new();
    let mut admin = String::new();
    let mut client = false;
    for d in ds {
        let (dn, serial, reason, comment, cert) = match d {
            Done::Revoked { row, cert } => (&row.dn, &row.serial, row.reason, &row.comment, cert),
            Done::ClientRevoked { row, cert } => {
                client = true;
                (&row.dn, &row.serial, row.reason, &row.comment, cert)
            }
            _ => continue,
        };
        admin = cert.admin_mail.clone();
        certs.push(RevokedCert::new(
            dn.cn().unwrap_or_default(),
            &cert.subject_dn,
            serial,
            reason,
            comment,
        ));
    }
    let robot = &env.cfg.robot_address;
    let reply = if client {
        let view = ClientRevoked::new(certs, now, officer, robot);
        Outgoing::new(ClientRevoked::TEMPLATE, &view)
    } else {
        Outgoing::new(
            "server_revoked",
            &notices::Revoked::new(certs, now, officer, robot),
        )
    };
    (reply, "revoked", admin)
}

/// The completion notice of a code-signing revocation form: (reply, verdict
/// tag, the form's admin address or empty).
fn codesign_notice(
    env: &Env,
    now: OffsetDateTime,
    officer: &str,
    ds: &[&Done],
) -> (Outgoing, &'static str, String) {
    let Some(Done::CodeSignRevoked { row, cert }) = ds.first() else {
        unreachable!("a code-signing group holds code-signing revocations");
    };
    let subject = openssl::x509::X509::from_pem(cert.pem.as_bytes()).ok();
    let cn = subject
        .as_ref()
        .and_then(|x| {
            x.subject_name()
                .entries_by_nid(openssl::nid::Nid::COMMONNAME)
                .next()
                .and_then(|e| e.data().to_string().ok())
        })
        .unwrap_or_else(|| row.subject.clone());
    let view = CodeSignRevoked::new(
        RevokedCert::new(&cn, &cert.subject_dn, &row.serial, row.reason, &row.comment),
        &Applied {
            institution: &row.institution_name,
            admin_name: &row.admin_name,
            application_date: &row.application_date,
            on_crl: cert.ca.is_some(),
        },
        now,
        officer,
        &env.cfg.robot_address,
    );
    let reply = Outgoing::new(CodeSignRevoked::TEMPLATE, &view);
    (reply, "revoked", row.admin_mail.clone().unwrap_or_default())
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
        chain_ca = cert.ca.unwrap_or(chain_ca);
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
