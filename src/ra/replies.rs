//! The outcomes that carry nothing out: rejections, duplicates, invalid
//! mails, dry runs and held mails. Each records the mail, queues one signed
//! reply and an audit event in one transaction, then drains the outbox.

use rusqlite::Connection;

use super::answer::{Outgoing, Rejection, SenderAnswer};
use super::mail::Mail;
use super::{Env, Outcome, RaError, Verdict};
use crate::model::{ApplicationFile, ApplicationStatus, Institution};
use crate::policy::rules::Decision;
use crate::render::notices::{self};
use crate::render::views::{FileView, summarize};
use crate::store;

impl Mail {
    /// Records the mail (or, under review, updates its held row) with the
    /// decision that files it.
    pub fn record(
        &self,
        conn: &Connection,
        verdict: Verdict,
        detail: &str,
        executed: bool,
        d: &Decision,
    ) -> Result<i64, RaError> {
        let (i, k) = (&self.incoming, &self.known);
        // A registered officer's verified signing key, kept so that no CSR
        // of any later mail certifies it (`keys::reserved_keys`).
        let signer_key = k
            .officer
            .as_ref()
            .and(k.signer_cert.as_ref())
            .map(crate::ca::cert_spki_sha256)
            .filter(|h| !h.is_empty());
        let record = store::MailRecord {
            received_at: i.received_at,
            source: &i.source,
            raw: &i.raw,
            raw_sha256: &i.raw_sha,
            message_id: i.message_id.as_deref(),
            from_addr: i.from.as_deref(),
            subject: i.subject.as_deref(),
            signed_sha256: k.signed_sha.as_deref(),
            signer_spki_sha256: signer_key.as_deref(),
            officer_id: k.officer.as_ref().map(|o| o.id),
            verdict,
            detail,
            dry_run: verdict == Verdict::Checked,
            executed,
            folder: &d.folder,
            keywords: &d.keywords,
            rule: d.rule.as_deref(),
        };
        let Some(review) = &i.review else {
            return Ok(store::insert_mail(conn, &record)?);
        };
        // Outcomes that record applications of their own replace the held ones.
        let replace = !matches!(
            verdict,
            Verdict::Rejected | Verdict::Duplicate | Verdict::Ignored
        );
        let id = store::update_reopened_mail(
            conn,
            review.mail_id,
            &record,
            replace,
            review.waiting_as(),
        )?;
        let (action, detail) = match review.action {
            "reject" => ("review-reject", format!("refused: {}", review.note)),
            super::mail::RESUME => (
                "maintenance-resume",
                format!(
                    "processed after maintenance: {} ({detail})",
                    verdict.as_str()
                ),
            ),
            _ => (
                "review-approve",
                format!("approved: {} ({detail})", verdict.as_str()),
            ),
        };
        store::audit(conn, i.now, &review.actor, action, Some(id), None, &detail)?;
        Ok(id)
    }

    /// The outcome of a mail that carried nothing out.
    fn outcome(&self, mail_id: i64, a: Answered<'_>, d: Decision) -> Outcome {
        Outcome {
            source: self.incoming.source.clone(),
            mail_id,
            verdict: a.verdict,
            check: a.check.map(str::to_string),
            summary: a.summary,
            issued: vec![],
            revoked: vec![],
            replies: a.replies,
            folder: d.folder,
            keywords: d.keywords,
            rule: d.rule,
        }
    }

    /// Where a reply to the sender goes: the From address, when it is one.
    fn sender(&self, env: &Env) -> Option<String> {
        self.incoming.from.clone().filter(|f| {
            crate::policy::is_mail_address(f) && !f.eq_ignore_ascii_case(&env.cfg.robot_address)
        })
    }

    /// Records a mail that is not answered (our own or automatic mail).
    pub fn finish_without_reply(
        self,
        env: &mut Env,
        verdict: Verdict,
        why: &str,
    ) -> Result<Outcome, RaError> {
        let d = self.decide(env, verdict, None);
        let tx = env.conn.unchecked_transaction()?;
        let id = self.record(&tx, verdict, why, false, &d)?;
        store::audit(
            &tx,
            self.incoming.now,
            "robot",
            verdict.as_str(),
            Some(id),
            None,
            why,
        )?;
        tx.commit()?;
        let a = Answered {
            verdict,
            check: None,
            summary: why.to_string(),
            replies: 0,
        };
        Ok(self.outcome(id, a, d))
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
    fn answer_sender(self, env: &mut Env, a: SenderAnswer) -> Result<Outcome, RaError> {
        let SenderAnswer {
            verdict,
            check,
            detail,
            mut reply,
        } = a;
        let d = self.decide(env, verdict, check);
        let now = self.incoming.now;
        let tx = env.conn.unchecked_transaction()?;
        let id = self.record(&tx, verdict, &detail, false, &d)?;
        let actor = match &self.incoming.review {
            Some(r) if r.action != super::mail::RESUME => r.actor.as_str(),
            _ => self.incoming.from.as_deref().unwrap_or("-"),
        };
        store::audit(&tx, now, actor, verdict.as_str(), Some(id), None, &detail)?;
        let mut n = 0;
        if let Some(to) = self.sender(env) {
            reply
                .tags
                .insert(0, ("Verdict".into(), verdict.as_str().into()));
            reply.to = vec![to];
            reply.cc = d.notify.clone();
            self.queue(env, &tx, id, reply)?;
            n = 1;
        }
        tx.commit()?;
        env.deliver_local(now)?;
        let a = Answered {
            verdict,
            check,
            summary: detail,
            replies: n,
        };
        Ok(self.outcome(id, a, d))
    }

    /// No file can be carried out: every error is reported to the officer.
    pub fn invalid(
        self,
        env: &mut Env,
        inst: &Institution,
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
    ) -> Result<Outcome, RaError> {
        let d = self.decide(env, Verdict::Invalid, None);
        self.report_only(env, inst, (files, notes), Verdict::Invalid, d)
    }

    /// `[check]`: validated and reported, nothing carried out.
    pub fn dry_run(
        self,
        env: &mut Env,
        inst: &Institution,
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
    ) -> Result<Outcome, RaError> {
        let d = self.decide(env, Verdict::Checked, None);
        self.report_only(env, inst, (files, notes), Verdict::Checked, d)
    }

    /// Held for the secretariat's review (the decision said so): recorded,
    /// the officer told, nothing carried out.
    pub fn held(
        self,
        env: &mut Env,
        inst: &Institution,
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
        d: Decision,
    ) -> Result<Outcome, RaError> {
        self.report_only(env, inst, (files, notes), Verdict::Held, d)
    }

    fn report_only(
        self,
        env: &mut Env,
        inst: &Institution,
        (files, notes): (Vec<ApplicationFile>, Vec<String>),
        verdict: Verdict,
        d: Decision,
    ) -> Result<Outcome, RaError> {
        let now = self.incoming.now;
        let tx = env.conn.unchecked_transaction()?;
        let summary = summarize(&files, &notes, verdict);
        let id = self.record(&tx, verdict, &summary, false, &d)?;
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
        let actor = self.incoming.from.as_deref().unwrap_or("-");
        store::audit(&tx, now, actor, verdict.as_str(), Some(id), None, &summary)?;
        let result = super::answer::Results {
            files: views,
            checked: &files,
            notes: &notes,
            verdict,
            summary: &summary,
        };
        let reply = self.officer_reply(env, inst, result, &d);
        self.queue(env, &tx, id, reply)?;
        tx.commit()?;
        env.deliver_local(now)?;
        let a = Answered {
            verdict,
            check: None,
            summary,
            replies: 1,
        };
        Ok(self.outcome(id, a, d))
    }
}

/// What a mail that carried nothing out came to.
struct Answered<'a> {
    verdict: Verdict,
    check: Option<&'a str>,
    summary: String,
    replies: usize,
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
