//! One mail as the workflow sees it, in two immutable parts: what arrived
//! ([`Incoming`], fixed once the mail is read) and what the steps learned of
//! it ([`Known`], built by `ra::run` from the values the steps return — the
//! steps themselves only read). A [`Mail`] is the pair handed to the outcome
//! that records and answers it; the rules' [`Decision`] travels beside it as
//! a value, never stored into it.

use time::OffsetDateTime;

use super::Env;
use crate::intake::application::AttachmentKind;
use crate::intake::smime::Report;
use crate::model::{ApplicationFile, FormKind, Officer, RevocationReason, Verdict};
use crate::policy::rules::{Decision, Facts};

/// A stored mail taken up again — the secretariat reviewing a held mail,
/// or the robot processing a mail kept during maintenance — so the mail's
/// own row is updated instead of a new one being recorded.
pub(crate) struct Review {
    pub mail_id: i64,
    pub actor: String,
    /// `approve` or `reject` (a review), or [`RESUME`].
    pub action: &'static str,
    pub note: String,
}

/// The action of a mail kept during maintenance, processed once it ended as
/// if it had just arrived.
pub(crate) const RESUME: &str = "resume";

impl Review {
    /// The secretariat approved the mail: no rule holds it again.
    pub fn approves(&self) -> bool {
        self.action == "approve"
    }

    /// The verdict the mail's row has while it waits.
    pub fn waiting_as(&self) -> Verdict {
        if self.action == RESUME {
            Verdict::Deferred
        } else {
            Verdict::Held
        }
    }
}

/// What arrived, as read from the mail and its verification report.
pub(crate) struct Incoming {
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
    /// The signer as replies show it, `-` when the signature failed.
    pub signer: String,
    /// RFC 3834 automatic mail (our own replies included): never answered.
    pub auto_submitted: bool,
    /// Not signed at all, even when an envelope check failed first.
    pub unsigned: bool,
    /// Set when the secretariat reviews a held mail.
    pub review: Option<Review>,
}

impl Incoming {
    pub fn new(
        report: &Report,
        source: &str,
        raw: &[u8],
        raw_sha: &str,
        now: OffsetDateTime,
    ) -> Incoming {
        let signer = match &report.outcome {
            Ok(v) => format!("{} ({})", v.signer_email, v.signer_subject),
            Err(_) => "-".into(),
        };
        Incoming {
            source: source.to_string(),
            raw: raw.to_vec(),
            raw_sha: raw_sha.to_string(),
            received_at: now,
            now,
            from: report.from.clone(),
            subject: report.subject.clone(),
            message_id: report.message_id.clone(),
            signer,
            auto_submitted: crate::intake::mime::is_automatic(raw),
            unsigned: report.outcome.is_err() && report.unsigned,
            review: None,
        }
    }

    /// The same mail taken up again by the secretariat's review: it keeps
    /// its first arrival time.
    pub fn reviewed(self, received_at: OffsetDateTime, review: Review) -> Incoming {
        Incoming {
            received_at,
            review: Some(review),
            ..self
        }
    }

    /// Our own replies and other automatic mail are never answered (no mail loops).
    pub fn is_loop(&self) -> bool {
        self.auto_submitted
    }
}

/// What the steps learned of the mail: who signed it and what its signed
/// content carries. Empty for a mail refused before its signer was known.
#[derive(Default)]
pub(crate) struct Known {
    pub officer: Option<Officer>,
    pub officer_since: Option<OffsetDateTime>,
    /// The officer's institution's name.
    pub institution: Option<String>,
    /// Hex SHA-256 of the signed content.
    pub signed_sha: Option<String>,
    /// The officer's signing certificate: mails carrying a PKCS#12 or PINs
    /// to the officer are encrypted to it.
    pub signer_cert: Option<openssl::x509::X509>,
    /// The kinds of the signed content's attachments; `None` when the
    /// signed content was never read.
    pub attachments: Option<Vec<AttachmentKind>>,
    pub forms: Vec<FormKind>,
    pub reasons: Vec<RevocationReason>,
}

impl Known {
    /// A registered officer signed (their registration and institution).
    pub fn signed_by(
        officer: Officer,
        officer_since: Option<OffsetDateTime>,
        institution: &str,
        verified: &crate::intake::smime::Verified,
    ) -> Known {
        Known {
            officer: Some(officer),
            officer_since,
            institution: Some(institution.to_string()),
            signed_sha: Some(verified.content_sha256.clone()),
            signer_cert: openssl::x509::X509::from_der(&verified.signer_cert_der).ok(),
            ..Known::default()
        }
    }

    /// What the signed content carries: the kinds of its attachments, the
    /// forms and the revocation reasons of its application files.
    pub fn with_files(self, attachments: Vec<AttachmentKind>, files: &[ApplicationFile]) -> Known {
        let mut forms = Vec::new();
        let mut reasons = Vec::new();
        for f in files {
            if let Some(k) = f.kind
                && !forms.contains(&k)
            {
                forms.push(k);
            }
            for r in &f.rows {
                if let Some(reason) = r.revocation_reason()
                    && !reasons.contains(&reason)
                {
                    reasons.push(reason);
                }
            }
        }
        Known {
            attachments: Some(attachments),
            forms,
            reasons,
            ..self
        }
    }
}

/// A mail with what is known of it: what an outcome records and answers.
pub(crate) struct Mail {
    pub incoming: Incoming,
    pub known: Known,
}

impl Mail {
    /// What the filing rules see of this mail with this verdict.
    pub fn facts(&self, verdict: Verdict, check: Option<&str>) -> Facts {
        let (i, k) = (&self.incoming, &self.known);
        // Mails whose signed content was never read (unsigned, rejected,
        // duplicates): their files as the raw mail shows them.
        let attachments = match &k.attachments {
            Some(a) => a.clone(),
            None => attachment_kinds_outside(&i.raw),
        };
        Facts {
            verdict,
            check: check.map(str::to_string),
            unsigned: i.unsigned,
            forms: k.forms.clone(),
            institution: k.institution.clone(),
            officer: k.officer.as_ref().map(|o| o.email.clone()),
            officer_registered_at: k.officer_since,
            sender: i.from.clone(),
            subject: i.subject.clone(),
            attachments,
            revocation_reasons: k.reasons.clone(),
            now: i.now,
        }
    }

    /// The rules' decision for a mail with this verdict.
    pub fn decide(&self, env: &Env, verdict: Verdict, check: Option<&str>) -> Decision {
        env.rules.evaluate(&self.facts(verdict, check))
    }

    /// The signing officer's address ("" when the signer is unknown).
    pub fn officer_email(&self) -> String {
        self.known
            .officer
            .as_ref()
            .map(|o| o.email.clone())
            .unwrap_or_default()
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
