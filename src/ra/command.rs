//! Commands by signed mail from the secretariat (issue 11): recognising a
//! secretariat's mail, checking it with every rule applied to officers'
//! mails, refusing it when it also carries applications, and answering
//! with a signed transcript. What each command line does is not decided
//! here: the operations layer (above `ra`) implements [`Commands`] and the
//! wiring puts it into [`Env::commands`].

use time::OffsetDateTime;

use super::mail::Incoming;
use super::{Env, Flow, RaError};
use crate::intake::smime;

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

/// Takes a secretariat's mail over; hands any other mail back.
pub(crate) fn intercept(
    _env: &mut Env,
    incoming: Incoming,
    _report: &smime::Report,
) -> Result<Flow, RaError> {
    Ok(Flow::Go(incoming))
}
