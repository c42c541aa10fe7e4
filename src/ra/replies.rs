//! The per-mail context and the outcomes that carry nothing out: rejections,
//! duplicates, invalid mails and dry runs. Each records the mail, queues one
//! signed reply and an audit event in one transaction, then drains the outbox.

use rusqlite::Connection;
use time::OffsetDateTime;

use super::answer::{Outgoing, Rejection, SenderAnswer};
use super::{Env, Outcome, RaError, Verdict};
use crate::intake::smime::Report;
use crate::model::{
    ApplicationFile, ApplicationStatus, FormKind, Institution, Officer, RevocationReason,
};
use crate::policy::rules::{AttachmentKind, Decision, Facts};
use crate::render::notices::{self};
use crate::render::views::{FileView, summarize};
use crate::store;

/// The secretariat reviewing a held mail: the mail's own row is updated
/// instead of a new one being recorded.
pub(crate) struct Review {
    pub mail_id: i64,
    pub actor: String,
    /// `approve` or `reject`.
    pub action: &'static str,
    pub note: String,
}

pub(crate) struct MailCtx {
    pub source: String,
    pub raw: Vec<u8>,
    pub raw_sha: String,
    /// When the mail arrived (for a reviewed mail: its first arrival).
    pub received_at: OffsetDateTime,
    /// When this processing happens.
    pub now: OffsetDateTime,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub signer: String,
    pub officer: Option<Officer>,
    pub signed_sha: Option<String>,
    pub auto_submitted: bool,
    /// What the filing rules see, gathered as the pipeline learns it.
    pub unsigned: bool,
    pub institution: Option<String>,
    pub officer_since: Option<OffsetDateTime>,
    pub attachments: Option<Vec<AttachmentKind>>,
    pub forms: Vec<FormKind>,
    pub reasons: Vec<RevocationReason>,
    /// What the rules decided; set before the mail is recorded.
    pub decision: Option<Decision>,
    pub review: Option<Review>,
}

impl MailCtx {
    pub fn new(
        env: &Env,
        report: &Report,
        source: &str,
        raw: &[u8],
        raw_sha: &str,
        now: OffsetDateTime,
    ) -> MailCtx {
        let auto_submitted = crate::intake::mime::is_automatic(raw);
        let signer = match &report.outcome {
            Ok(v) => format!("{} ({})", v.signer_email, v.signer_subject),
            Err(_) => "-".into(),
        };
        let _ = env;
        // Not signed at all, even when an envelope check failed first.
        let unsigned = report.outcome.is_err() && report.unsigned;
        MailCtx {
            source: source.to_string(),
            raw: raw.to_vec(),
            raw_sha: raw_sha.to_string(),
            received_at: now,
            now,
            from: report.from.clone(),
            subject: report.subject.clone(),
            message_id: report.message_id.clone(),
            signer,
            officer: None,
            signed_sha: None,
            auto_submitted,
            unsigned,
            institution: None,
            officer_since: None,
            attachments: None,
            forms: vec![],
            reasons: vec![],
            decision: None,
            review: None,
        }
    }

    /// What the workflow learned of the signer (for the record and the rules).
    pub(super) fn learn_signer(
        &mut self,
        s: &super::steps::Signer,
        v: &crate::intake::smime::Verified,
    ) {
        self.officer_since = s.registered_at;
        self.officer = Some(s.officer.clone());
        self.institution = Some(s.institution.name.clone());
        self.signed_sha = Some(v.content_sha256.clone());
    }

    /// Notes the forms and revocation reasons of the application files.
    pub fn note_files(&mut self, files: &[ApplicationFile]) {
        for f in files {
            if let Some(k) = f.kind
                && !self.forms.contains(&k)
            {
                self.forms.push(k);
            }
            for r in &f.rows {
                if let Some(reason) = r.revocation_reason()
                    && !self.reasons.contains(&reason)
                {
                    self.reasons.push(reason);
                }
            }
        }
    }

    /// What the filing rules see of this mail with this verdict.
    pub fn facts(&self, verdict: Verdict, check: Option<&str>) -> Facts {
        // Mails whose signed content was never read (unsigned, rejected,
        // duplicates): their files as the raw mail shows them.
        let attachments = match &self.attachments {
            Some(a) => a.clone(),
            None => attachment_kinds_outside(&self.raw),
        };
        Facts {
            verdict,
            check: check.map(str::to_string),
            unsigned: self.unsigned,
            forms: self.forms.clone(),
            institution: self.institution.clone(),
            officer: self.officer.as_ref().map(|o| o.email.clone()),
            officer_registered_at: self.officer_since,
            sender: self.from.clone(),
            subject: self.subject.clone(),
            attachments,
            revocation_reasons: self.reasons.clone(),
            now: self.now,
        }
    }

    /// Has the rules decide for a mail that carries nothing out (unless a
    /// decision was made already).
    fn decide(&mut self, env: &Env, verdict: Verdict, check: Option<&str>) {
        if self.decision.is_none() {
            let facts = self.facts(verdict, check);
            self.decision = Some(env.rules.evaluate(&facts));
        }
    }

    /// The decision the mail is recorded with.
    pub fn decision(&self, verdict: Verdict) -> Decision {
        self.decision
            .clone()
            .unwrap_or_else(|| Decision::fallback(verdict))
    }

    /// The rule's extra addresses for the reply to the officer or sender.
    pub(super) fn notify(&self) -> Vec<String> {
        self.decision
            .as_ref()
            .map(|d| d.notify.clone())
            .unwrap_or_default()
    }

    /// Our own replies and other automatic mail are never answered (no mail loops).
    pub fn is_loop(&self) -> bool {
        self.auto_submitted
    }

    pub fn record(
        &self,
        conn: &Connection,
        verdict: Verdict,
        detail: &str,
        executed: bool,
    ) -> Result<i64, RaError> {
        let d = self.decision(verdict);
        let record = store::MailRecord {
            received_at: self.received_at,
            source: &self.source,
            raw: &self.raw,
            raw_sha256: &self.raw_sha,
            message_id: self.message_id.as_deref(),
            from_addr: self.from.as_deref(),
            subject: self.subject.as_deref(),
            signed_sha256: self.signed_sha.as_deref(),
            officer_id: self.officer.as_ref().map(|o| o.id),
            verdict,
            detail,
            dry_run: verdict == Verdict::Checked,
            executed,
            folder: &d.folder,
            keywords: &d.keywords,
            rule: d.rule.as_deref(),
        };
        let Some(review) = &self.review else {
            return Ok(store::insert_mail(conn, &record)?);
        };
        // Outcomes that record applications of their own replace the held ones.
        let replace = !matches!(
            verdict,
            Verdict::Rejected | Verdict::Duplicate | Verdict::Ignored
        );
        let id = store::update_held_mail(conn, review.mail_id, &record, replace)?;
        let detail = match review.action {
            "reject" => format!("refused: {}", review.note),
            _ => format!("approved: {} ({detail})", verdict.as_str()),
        };
        store::audit(
            conn,
            self.now,
            &review.actor,
            &format!("review-{}", review.action),
            Some(id),
            None,
            &detail,
        )?;
        Ok(id)
    }

    fn outcome(
        &self,
        mail_id: i64,
        verdict: Verdict,
        check: Option<&str>,
        summary: String,
        replies: usize,
    ) -> Outcome {
        let d = self.decision(verdict);
        Outcome {
            source: self.source.clone(),
            mail_id,
            verdict,
            check: check.map(str::to_string),
            summary,
            issued: vec![],
            revoked: vec![],
            replies,
            folder: d.folder,
            keywords: d.keywords,
            rule: d.rule,
        }
    }

    /// Where a reply to the sender goes: the From address, when it is one.
    fn sender(&self, env: &Env) -> Option<String> {
        self.from.clone().filter(|f| {
            crate::policy::is_mail_address(f) && !f.eq_ignore_ascii_case(&env.cfg.robot_address)
        })
    }

    pub fn finish_without_reply(
        mut self,
        env: &mut Env,
        verdict: Verdict,
        why: &str,
    ) -> Result<Outcome, RaError> {
        self.decide(env, verdict, None);
        let tx = env.conn.unchecked_transaction()?;
        let id = self.record(&tx, verdict, why, false)?;
        store::audit(
            &tx,
            self.now,
            "robot",
            verdict.as_str(),
            Some(id),
            None,
            why,
        )?;
        tx.commit()?;
        Ok(self.outcome(id, verdict, None, why.to_string(), 0))
    }

    pub fn reject(self, env: &mut Env, why: Rejection) -> Result<Outcome, RaError> {
        let (check, reason) = (why.check(), why.reason());
        let view = notices::Rejected::new(&self.facts_for_reply(env), check, &reason);
        let mut reply = Outgoing::new("rejected", &view);
        reply.tags = vec![("Check".into(), check.into())];
        self.answer_sender(
            env,
            SenderAnswer {
                verdict: Verdict::Rejected,
                check: Some(check),
                detail: format!("{check}: {reason}"),
                reply,
            },
        )
    }

    pub fn duplicate(
        self,
        env: &mut Env,
        first_id: i64,
        first_at: &str,
    ) -> Result<Outcome, RaError> {
        let view = notices::Duplicate {
            first_id,
            first_at: first_at.to_string(),
            robot: env.cfg.robot_address.clone(),
        };
        self.answer_sender(
            env,
            SenderAnswer {
                verdict: Verdict::Duplicate,
                check: None,
                detail: format!("already processed as mail #{first_id} at {first_at}"),
                reply: Outgoing::new("duplicate", &view),
            },
        )
    }

    /// Records a mail that carries nothing out and answers its sender (when
    /// the From is an address we may answer) with one signed reply.
    fn answer_sender(mut self, env: &mut Env, a: SenderAnswer) -> Result<Outcome, RaError> {
        let SenderAnswer {
            verdict,
            check,
            detail,
            mut reply,
        } = a;
        self.decide(env, verdict, check);
        let tx = env.conn.unchecked_transaction()?;
        let id = self.record(&tx, verdict, &detail, false)?;
        let actor = match &self.review {
            Some(r) => r.actor.as_str(),
            None => self.from.as_deref().unwrap_or("-"),
        };
        store::audit(
            &tx,
            self.now,
            actor,
            verdict.as_str(),
            Some(id),
            None,
            &detail,
        )?;
        let mut n = 0;
        if let Some(to) = self.sender(env) {
            reply
                .tags
                .insert(0, ("Verdict".into(), verdict.as_str().into()));
            reply.to = vec![to];
            reply.cc = self.notify();
            self.queue(env, &tx, id, reply)?;
            n = 1;
        }
        tx.commit()?;
        env.deliver_local(self.now)?;
        Ok(self.outcome(id, verdict, check, detail, n))
    }

    pub fn invalid(
        self,
        env: &mut Env,
        inst: &Institution,
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
    ) -> Result<Outcome, RaError> {
        self.report_only(env, inst, files, notes, Verdict::Invalid)
    }

    pub fn dry_run(
        self,
        env: &mut Env,
        inst: &Institution,
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
    ) -> Result<Outcome, RaError> {
        self.report_only(env, inst, files, notes, Verdict::Checked)
    }

    /// Held for the secretariat's review (the decision said so): recorded,
    /// the officer told, nothing carried out.
    pub fn held(
        self,
        env: &mut Env,
        inst: &Institution,
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
    ) -> Result<Outcome, RaError> {
        self.report_only(env, inst, files, notes, Verdict::Held)
    }

    fn report_only(
        mut self,
        env: &mut Env,
        inst: &Institution,
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
        verdict: Verdict,
    ) -> Result<Outcome, RaError> {
        self.decide(env, verdict, None);
        let tx = env.conn.unchecked_transaction()?;
        let summary = summarize(&files, &notes, verdict);
        let id = self.record(&tx, verdict, &summary, false)?;
        let status = match verdict {
            Verdict::Checked => ApplicationStatus::Checked,
            Verdict::Held => ApplicationStatus::Held,
            _ => ApplicationStatus::Refused,
        };
        let mut views = Vec::new();
        for f in &files {
            record_file(&tx, id, f, status)?;
            views.push(FileView::new(
                f,
                if f.ok() { Some(status) } else { None },
                &[],
            ));
        }
        store::audit(
            &tx,
            self.now,
            self.from.as_deref().unwrap_or("-"),
            verdict.as_str(),
            Some(id),
            None,
            &summary,
        )?;
        let reply = self.officer_reply(env, inst, views, &notes, verdict, &summary);
        self.queue(env, &tx, id, reply)?;
        tx.commit()?;
        env.deliver_local(self.now)?;
        Ok(self.outcome(id, verdict, None, summary, 1))
    }
}

/// The kinds of the files a mail carries, read from the raw mail (for mails
/// whose signed content is not available: unsigned, rejected, duplicates).
/// Signature parts are not files.
fn attachment_kinds_outside(raw: &[u8]) -> Vec<AttachmentKind> {
    let Ok(body) = crate::intake::mime::extract(raw) else {
        return vec![];
    };
    body.attachments
        .iter()
        .filter(|a| {
            !matches!(
                a.content_type.as_str(),
                "application/pkcs7-signature"
                    | "application/x-pkcs7-signature"
                    | "application/pkcs7-mime"
                    | "application/x-pkcs7-mime"
            )
        })
        .map(|a| AttachmentKind::of(&a.filename))
        .collect()
}

/// Records one application file of mail `mail_id`: with `status` when it has
/// rows to carry out and no error, else refused with every error as a row.
/// Returns the application's id.
pub(super) fn record_file(
    tx: &Connection,
    mail_id: i64,
    f: &ApplicationFile,
    status: ApplicationStatus,
) -> Result<i64, RaError> {
    let status = if f.ok() {
        status
    } else {
        ApplicationStatus::Refused
    };
    let app = store::insert_application(
        tx,
        mail_id,
        &f.name,
        f.kind.map(|k| k.code()),
        &f.sha256,
        status,
    )?;
    for e in &f.errors {
        store::insert_row(
            tx,
            app,
            e.line,
            crate::model::RowOutcomeKind::Error,
            None,
            &e.to_string(),
        )?;
    }
    Ok(app)
}
