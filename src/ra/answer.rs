//! Answering a mail: each reply is one [`Outgoing`] value (template, view,
//! recipients, files, tags) rendered, signed and queued in the outbox table
//! inside the mail's transaction; and why a mail is refused as a whole.

use rusqlite::Connection;
use serde::Serialize;

use super::mail::Mail;
use super::{Env, RaError, Verdict};
use crate::intake::smime;
use crate::mail::compose::{self, Reply};
use crate::model::{ApplicationFile, Institution};
use crate::policy::rules::Decision;
use crate::render::notices::{MailFacts, OfficerResult};
use crate::render::views::FileView;
use crate::render::{annotated, xlsx_forms};
use crate::store;

/// One reply to queue: the template and its view, the recipients, files and
/// the machine-readable `X-Mailra-*` tags; whether it carries a secret (a
/// PKCS#12 or access PINs: its outbox row is wiped to a stub once sent) and
/// the certificates it is encrypted to (every recipient's, or none).
pub(crate) struct Outgoing {
    pub template: &'static str,
    pub view: minijinja::Value,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub attachments: Vec<(String, String, Vec<u8>)>,
    pub tags: Vec<(String, String)>,
    pub secret: bool,
    pub encrypt_to: Vec<openssl::x509::X509>,
}

impl Outgoing {
    pub fn new(template: &'static str, view: &impl Serialize) -> Outgoing {
        Outgoing {
            template,
            view: minijinja::Value::from(minijinja::value::Serde(view)),
            to: vec![],
            cc: vec![],
            attachments: vec![],
            tags: vec![],
            secret: false,
            encrypt_to: vec![],
        }
    }
}

/// Why a mail is refused as a whole (told to the sender), as opposed to an
/// internal error (told to the operator, the mail processed again later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// A check of the S/MIME verification failed.
    Signature(smime::Failure),
    /// The signature is good but the signer is no registered officer.
    NotOfficer { signer: String },
    /// The secretariat refused the held mail.
    Review { reason: String },
}

impl Rejection {
    /// The name of the failed check (rules match on it; the reply shows it).
    pub fn check(&self) -> &'static str {
        match self {
            Rejection::Signature(f) => f.check.name(),
            Rejection::NotOfficer { .. } => "officer",
            Rejection::Review { .. } => "review",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Rejection::Signature(f) => f.reason.clone(),
            Rejection::NotOfficer { signer } => {
                format!("the signer {signer} is not a registered officer")
            }
            Rejection::Review { reason } => reason.clone(),
        }
    }
}

/// A mail that carries nothing out, answered to its sender.
pub(crate) struct SenderAnswer {
    pub verdict: Verdict,
    pub check: Option<&'static str>,
    pub detail: String,
    pub reply: Outgoing,
}

/// What the officer's result of a mail with application files reports.
pub(crate) struct Results<'a> {
    /// One view per file of `checked`, in the same order.
    pub files: Vec<FileView>,
    /// The files as checked: those with row errors go back annotated.
    pub checked: &'a [ApplicationFile],
    pub notes: &'a [String],
    pub verdict: Verdict,
    pub summary: &'a str,
}

impl Mail {
    /// Facts about this mail that every reply shows.
    pub fn facts_for_reply<'a>(&'a self, env: &'a Env) -> MailFacts<'a> {
        MailFacts {
            received_at: self.incoming.received_at,
            signer: &self.incoming.signer,
            message_id: self.incoming.message_id.as_deref(),
            robot: &env.cfg.robot_address,
        }
    }

    /// Renders, signs and queues one reply inside the caller's transaction.
    pub fn queue(
        &self,
        env: &Env,
        conn: &Connection,
        mail_id: i64,
        out: Outgoing,
    ) -> Result<(), RaError> {
        queue_mail(env, conn, &self.answering(mail_id), out, self.incoming.now)?;
        Ok(())
    }

    /// [`Mail::queue`] for several replies, signed at once on every core.
    pub fn queue_all(
        &self,
        env: &Env,
        conn: &Connection,
        mail_id: i64,
        outs: Vec<Outgoing>,
    ) -> Result<(), RaError> {
        queue_mails(env, conn, &self.answering(mail_id), outs, self.incoming.now)?;
        Ok(())
    }

    /// What a reply to this mail (recorded as `mail_id`) answers.
    fn answering(&self, mail_id: i64) -> Answering {
        Answering {
            mail_id: Some(mail_id),
            in_reply_to: self.incoming.message_id.clone(),
        }
    }

    /// The officer's result of a mail with application files.
    pub fn officer_reply(
        &self,
        env: &Env,
        inst: &Institution,
        r: Results<'_>,
        d: &Decision,
    ) -> Outgoing {
        let Results {
            mut files,
            checked,
            notes,
            verdict,
            summary,
        } = r;
        let attachments = annotate(checked, &mut files);
        let officer = self.officer_email();
        let rows: usize = files.iter().map(|f| f.rows.len().max(f.errors.len())).sum();
        let forms: Vec<&str> = files.iter().filter_map(|f| f.form_code).collect();
        let tags = vec![
            ("Verdict".into(), verdict.as_str().into()),
            (
                "Application".into(),
                if forms.is_empty() {
                    "-".into()
                } else {
                    forms.join(",")
                },
            ),
            ("Institution".into(), inst.name.clone()),
            ("Rows".into(), rows.to_string()),
        ];
        let mut cc: Vec<String> = env.cfg.secretariat.iter().cloned().collect();
        for a in d.notify.iter().cloned() {
            if !cc.contains(&a) {
                cc.push(a);
            }
        }
        let view = OfficerResult::new(
            &self.facts_for_reply(env),
            &officer,
            verdict,
            summary,
            files,
            notes,
        );
        let mut out = Outgoing::new(OfficerResult::template(verdict), &view);
        out.to = vec![officer];
        out.cc = cc;
        out.tags = tags;
        out.attachments = attachments;
        out
    }
}

/// The content type of an .xlsx attachment.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The annotated workbook of every file with row errors whose records were
/// read (`<stem>-errors.xlsx`: the file rebuilt with its faulty cells marked,
/// see [`annotated`]); each such file's view is told the attachment's name.
/// A file refused as a whole (unreadable, or only whole-file errors) gets
/// none: there is no cell to mark. A workbook that cannot be built is left
/// out with a warning: the reply's text lists every error anyway.
fn annotate(checked: &[ApplicationFile], views: &mut [FileView]) -> Vec<(String, String, Vec<u8>)> {
    let mut out: Vec<(String, String, Vec<u8>)> = Vec::new();
    for (f, view) in checked.iter().zip(views.iter_mut()) {
        if f.as_read.is_empty() || !f.errors.iter().any(|e| e.line > 0) {
            continue;
        }
        let columns = f.kind.map(xlsx_forms::columns);
        let rows = f.as_read.iter().map(|(l, fields)| (*l, fields.as_slice()));
        let bytes = match annotated::workbook(&f.name, rows, columns.as_deref(), &f.errors) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(file = %f.name, error = %e, "annotated workbook not built");
                continue;
            }
        };
        // Two files of one stem (`a.tsv`, `a.txt`) get `a-errors.xlsx`, `a-errors-2.xlsx`.
        let first = annotated::attachment_name(&f.name);
        let mut name = first.clone();
        let mut n = 1;
        while out.iter().any(|(taken, _, _)| *taken == name) {
            n += 1;
            name = format!("{}-{n}.xlsx", first.trim_end_matches(".xlsx"));
        }
        view.annotated = Some(name.clone());
        out.push((name, XLSX.into(), bytes));
    }
    out
}

/// What a queued mail answers: the mail it belongs to and its Message-ID
/// (neither for a mail the robot starts, such as a reminder).
#[derive(Debug, Clone, Default)]
pub(crate) struct Answering {
    pub mail_id: Option<i64>,
    pub in_reply_to: Option<String>,
}

/// Renders, signs and queues one mail inside the caller's transaction, as
/// every reply is; returns its outbox id.
pub(crate) fn queue_mail(
    env: &Env,
    conn: &Connection,
    answering: &Answering,
    out: Outgoing,
    now: time::OffsetDateTime,
) -> Result<i64, RaError> {
    let ready = Composer::of(env).compose(answering, out, now)?;
    enqueue(env, conn, answering, ready, now)
}

/// [`queue_mail`] for several mails at once: rendered and signed on every
/// core (a signature is most of a reply's cost), then queued in order.
pub(crate) fn queue_mails(
    env: &Env,
    conn: &Connection,
    answering: &Answering,
    outs: Vec<Outgoing>,
    now: time::OffsetDateTime,
) -> Result<Vec<i64>, RaError> {
    use rayon::prelude::*;
    let composer = Composer::of(env);
    let ready: Vec<Result<Ready, RaError>> = outs
        .into_par_iter()
        .map(|out| composer.compose(answering, out, now))
        .collect();
    ready
        .into_iter()
        .map(|r| enqueue(env, conn, answering, r?, now))
        .collect()
}

/// What rendering and signing a reply needs of the [`Env`] (whose database
/// connection stays on its thread).
struct Composer<'a> {
    renderer: &'a crate::render::Renderer,
    signer: &'a crate::mail::sign::Signer,
    from: &'a str,
}

/// A reply rendered and signed, waiting to be queued.
struct Ready {
    template: &'static str,
    subject: String,
    recipients: Vec<String>,
    secret: bool,
    composed: compose::Composed,
}

impl<'a> Composer<'a> {
    fn of(env: &'a Env) -> Self {
        Composer {
            renderer: &env.renderer,
            signer: &env.signer,
            from: &env.cfg.robot_address,
        }
    }

    fn compose(
        &self,
        answering: &Answering,
        out: Outgoing,
        now: time::OffsetDateTime,
    ) -> Result<Ready, RaError> {
        let text = self.renderer.render(out.template, &out.view)?;
        let reply = Reply {
            from: self.from.to_string(),
            to: out.to.clone(),
            cc: out.cc.clone(),
            subject: text.subject.clone(),
            body: text.body,
            attachments: out.attachments,
            in_reply_to: answering.in_reply_to.clone(),
            tags: out.tags,
        };
        let composed = compose::compose_encrypted(&reply, self.signer, now, &out.encrypt_to)?;
        let mut recipients = out.to;
        recipients.extend(out.cc);
        recipients.sort();
        recipients.dedup();
        Ok(Ready {
            template: out.template,
            subject: text.subject,
            recipients,
            secret: out.secret,
            composed,
        })
    }
}

fn enqueue(
    env: &Env,
    conn: &Connection,
    answering: &Answering,
    ready: Ready,
    now: time::OffsetDateTime,
) -> Result<i64, RaError> {
    let new = store::NewReply {
        mail_id: answering.mail_id,
        message_id: &ready.composed.message_id,
        from: &env.cfg.robot_address,
        recipients: &ready.recipients,
        kind: ready.template,
        subject: &ready.subject,
        raw: &ready.composed.raw,
    };
    Ok(if ready.secret {
        store::enqueue_secret(conn, &new, now)?
    } else {
        store::enqueue(conn, &new, now)?
    })
}
