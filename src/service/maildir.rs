//! The Maildir intake (the embedded default): each mail in the inbox's
//! `new/` is taken by the RA exactly once and filed into the Maildir++
//! folder its outcome chose.

use super::ServiceError;
use crate::mail::maildir;
use crate::ra::{self, Env, Outcome};

/// One pass over the Maildir inbox: every mail in `new/` is processed and
/// filed into the folder the rules chose (`Processed/Issued` is the Maildir++
/// folder `.Processed.Issued`). An internal error on one mail is
/// logged, the mail goes to `.Quarantine` (kept, never deleted), and the pass
/// goes on with the next.
pub fn process(env: &mut Env, stop: &dyn Fn() -> bool) -> Result<Vec<Outcome>, ServiceError> {
    let root = env.cfg.maildir.clone();
    maildir::ensure(&root)?;
    // Mails kept during a maintenance that has ended go first, in order.
    let mut out = ra::maintenance::resume(env, env.clock.now())?;
    for path in maildir::pending(&root)? {
        if stop() {
            break;
        }
        let source = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let raw = match std::fs::read(&path) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(mail = %source, error = %e, "cannot read mail");
                continue;
            }
        };
        match ra::take(env, &raw, &source, env.clock.now()) {
            Ok((o, _)) => {
                crate::fault::point("after-commit");
                maildir::file_into(&root, &path, &o.folder)?;
                if let Err(e) = ra::filed(env, o.mail_id, &o.folder, env.clock.now()) {
                    tracing::error!(mail = %source, error = %e, "filed, but the record of it failed");
                }
                tracing::info!(mail = %source, verdict = o.verdict.as_str(), folder = %o.folder, "{}", o.summary);
                super::heartbeat::touch(env);
                out.push(o);
            }
            Err(e) => {
                tracing::error!(mail = %source, error = %e, "internal error; mail moved to .Quarantine");
                maildir::file_into(&root, &path, crate::policy::rules::QUARANTINE)?;
            }
        }
    }
    Ok(out)
}
