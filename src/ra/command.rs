//! Commands by signed mail from the secretariat (issue 11): recognising a
//! secretariat's mail, checking it with every rule applied to officers'
//! mails, refusing it when it also carries applications, and answering
//! with a signed transcript. What each command line does is not decided
//! here: the operations layer (above `ra`) implements [`Commands`] and the
//! wiring puts it into [`Env::commands`].
//!
//! A mail is a command mail only when ALL of these hold: `[secretariat]` is
//! configured; its From is one of `[secretariat] addresses`; its signature
//! passes every check of `intake::smime::verify` (envelope, structure,
//! algorithms, digest, signature, signing time, address = From, …) with the
//! secretariat CA as the only trust anchor; and the signer's address is one
//! of the addresses. Any other mail — an officer's, a forged "From:
//! secretariat", one signed under the officer CA — goes on through the
//! normal pipeline and meets its rejections. Only the text of the signed
//! content is obeyed, never outer headers or unsigned parts; the same
//! signed content is obeyed once (a replay is a duplicate).

use time::OffsetDateTime;

use super::answer::Outgoing;
use super::mail::{Incoming, Known, Mail};
use super::{Env, Flow, Outcome, RaError, Verdict};
use crate::intake::application::AttachmentKind;
use crate::intake::{mime, smime};
use crate::render::notices::CommandReply;
use crate::store;

/// A file the transcript carries (the `report` command's workbook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What obeying a mail's command lines gave: the transcript text (each
/// command echoed with its result) and its attachments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub text: String,
    pub attachments: Vec<Attachment>,
}

/// Carries out the command lines of a verified secretariat mail, line by
/// line; `actor` names the secretariat member for the audit log.
pub trait Commands: Send + Sync {
    fn obey(&self, env: &mut Env, body: &str, actor: &str, now: OffsetDateTime) -> Transcript;
}

/// The trust of command mails: the officers' rules, with the secretariat
/// CA(s) as the only anchors (no CRL: the secretariat's CA is small and
/// its members few; take a member out of `addresses` to stop them).
pub(crate) fn trust(officers: &smime::Trust, anchors: Vec<openssl::x509::X509>) -> smime::Trust {
    smime::Trust {
        officer_cas: anchors,
        officer_crls: Vec::new(),
        robot_cert: officers.robot_cert.clone(),
        allow_legacy_digests: officers.allow_legacy_digests,
        max_age: officers.max_age,
    }
}

/// The audit actor of a secretariat member.
pub fn actor(addr: &str) -> String {
    format!("secretariat ({addr})")
}

/// Takes a secretariat's mail over; hands any other mail back.
pub(crate) fn intercept(
    env: &mut Env,
    incoming: Incoming,
    _report: &smime::Report,
) -> Result<Flow, RaError> {
    let Some(verified) = command_signature(env, &incoming) else {
        return Ok(Flow::Go(incoming));
    };
    let member = verified.signer_email.clone();
    let incoming = Incoming {
        signer: format!("{} ({})", verified.signer_email, verified.signer_subject),
        unsigned: false,
        ..incoming
    };
    let body = mime::extract(&verified.content);
    let attachments: Vec<AttachmentKind> = body
        .as_ref()
        .map(|b| {
            b.attachments
                .iter()
                .map(|a| AttachmentKind::of(&a.filename))
                .collect()
        })
        .unwrap_or_default();
    let key = replay_key(&verified);
    let mail = Mail {
        incoming,
        known: Known {
            signed_sha: Some(key.clone()),
            attachments: Some(attachments.clone()),
            ..Known::default()
        },
    };
    let this_mail = mail.incoming.review.as_ref().map(|r| r.mail_id);
    if let Some((first_id, first_at)) = store::mail_using_content(&env.conn, &key, this_mail)? {
        tracing::warn!(%member, first_id, "a command mail's signed content again: not obeyed twice");
        return Ok(Flow::Done(mail.duplicate(env, first_id, &first_at)?));
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let why = format!("the signed content could not be read ({e})");
            return refuse(env, mail, &member, why).map(Flow::Done);
        }
    };
    if attachments.iter().any(|k| k.is_application()) {
        let why = "the mail also carries application files; a mail is either an application \
                   (from an officer) or commands (from the secretariat), never both: send them apart"
            .to_string();
        return refuse(env, mail, &member, why).map(Flow::Done);
    }
    let Some(commands) = env.commands.clone() else {
        let why = "this robot takes no commands by mail (none are installed)".to_string();
        return refuse(env, mail, &member, why).map(Flow::Done);
    };
    obey(env, mail, &member, commands.as_ref(), &body.text).map(Flow::Done)
}

/// A command mail's exactly-once key: its signature act (signer, signing
/// time, signed content), not its content alone. The same words are a new
/// command when signed again ("status" every morning), and a command mail's
/// content never makes an officer's mail with the same bytes a duplicate
/// (the keys of command mails are apart from applications' content keys);
/// a replay of the same signed mail, under any outer headers, is caught.
fn replay_key(v: &smime::Verified) -> String {
    let material = format!(
        "command\n{}\n{}\n{}",
        super::sha256_hex(&v.signer_cert_der),
        v.signing_time.unix_timestamp_nanos(),
        v.content_sha256
    );
    format!("command:{}", super::sha256_hex(material.as_bytes()))
}

/// The verification of a mail as a command: `Some` only when the From is a
/// secretariat address and every check passes against the secretariat CA
/// with the signer's address also a secretariat address.
fn command_signature(env: &Env, incoming: &Incoming) -> Option<smime::Verified> {
    let (Some(sec), Some(trust)) = (&env.cfg.commands, &env.command_trust) else {
        return None;
    };
    let from = incoming.from.as_deref()?;
    if !sec.allows(from) {
        return None;
    }
    let report = smime::verify(&incoming.raw, trust, incoming.now);
    match report.outcome {
        Ok(v) if sec.allows(&v.signer_email) => Some(v),
        Ok(v) => {
            tracing::warn!(from, signer = %v.signer_email, "a mail from a secretariat address signed by another: not a command");
            None
        }
        Err(f) => {
            tracing::warn!(from, check = %f, "a mail from a secretariat address that fails the secretariat's checks: not a command");
            None
        }
    }
}

/// Records the command mail (claiming its signed content), obeys it, then
/// answers with the transcript. Recorded first so that a crash while obeying
/// never obeys it a second time.
fn obey(
    env: &mut Env,
    mail: Mail,
    member: &str,
    commands: &dyn Commands,
    text: &str,
) -> Result<Outcome, RaError> {
    let now = mail.incoming.now;
    let actor = actor(member);
    let d = mail.decide(env, Verdict::Command, None);
    let tx = env.conn.unchecked_transaction()?;
    let id = mail.record(&tx, Verdict::Command, "commands being obeyed", true, &d)?;
    store::audit(&tx, now, &actor, "command-mail", Some(id), None, "obeying")?;
    tx.commit()?;
    let transcript = commands.obey(env, text, &actor, now);
    let lines = transcript
        .text
        .lines()
        .filter(|l| l.starts_with("> "))
        .count();
    let summary = format!("{lines} command(s) obeyed from {member}");
    let view = CommandReply::new(&mail.facts_for_reply(env), member, None, &transcript.text);
    let mut reply = Outgoing::new("command", &view);
    reply.attachments = transcript
        .attachments
        .into_iter()
        .map(|a| (a.file_name, a.content_type, a.bytes))
        .collect();
    let tx = env.conn.unchecked_transaction()?;
    store::set_mail_detail(&tx, id, &summary)?;
    let n = answer(env, &tx, &mail, id, member, reply, &d)?;
    tx.commit()?;
    env.deliver_local(now)?;
    Ok(outcome(&mail, id, summary, n, d))
}

/// Refuses a command mail as a whole: recorded, nothing obeyed, the member
/// told why.
fn refuse(env: &mut Env, mail: Mail, member: &str, why: String) -> Result<Outcome, RaError> {
    let now = mail.incoming.now;
    let d = mail.decide(env, Verdict::Command, None);
    let detail = format!("refused: {why}");
    let view = CommandReply::new(&mail.facts_for_reply(env), member, Some(why), "");
    let tx = env.conn.unchecked_transaction()?;
    let id = mail.record(&tx, Verdict::Command, &detail, false, &d)?;
    store::audit(
        &tx,
        now,
        &actor(member),
        "command-mail",
        Some(id),
        None,
        &detail,
    )?;
    let n = answer(
        env,
        &tx,
        &mail,
        id,
        member,
        Outgoing::new("command", &view),
        &d,
    )?;
    tx.commit()?;
    env.deliver_local(now)?;
    Ok(outcome(&mail, id, detail, n, d))
}

/// Queues the signed answer to the member; returns how many replies.
fn answer(
    env: &Env,
    tx: &rusqlite::Connection,
    mail: &Mail,
    id: i64,
    member: &str,
    mut reply: Outgoing,
    d: &crate::policy::rules::Decision,
) -> Result<usize, RaError> {
    reply.to = vec![member.to_string()];
    reply.cc = d.notify.iter().filter(|a| *a != member).cloned().collect();
    reply.tags = vec![("Verdict".into(), Verdict::Command.as_str().into())];
    mail.queue(env, tx, id, reply)?;
    Ok(1)
}

fn outcome(
    mail: &Mail,
    id: i64,
    summary: String,
    replies: usize,
    d: crate::policy::rules::Decision,
) -> Outcome {
    Outcome {
        source: mail.incoming.source.clone(),
        mail_id: id,
        verdict: Verdict::Command,
        check: None,
        summary,
        issued: vec![],
        revoked: vec![],
        replies,
        folder: d.folder,
        keywords: d.keywords,
        rule: d.rule,
    }
}
