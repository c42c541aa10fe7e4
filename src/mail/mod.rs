//! Mail at the edges: composing, S/MIME-signing (and, for keys and PINs,
//! encrypting) outgoing mail, and transports.

pub mod compose;
pub mod encrypt;
pub mod endpoint;
pub mod imap;
pub mod maildir;
pub mod outbox;
pub mod sign;
pub mod smtp;

/// The mail layer's error, as the layers above see it: a transport that
/// failed (IMAP, SMTP, the Maildir) or a reply that could not be built. The
/// transports keep their own detailed enums; this is the one the layer hands up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Imap(#[from] imap::ImapError),
    #[error(transparent)]
    Smtp(#[from] smtp::SmtpError),
    #[error(transparent)]
    Maildir(#[from] maildir::MaildirError),
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
}

/// A folder path as IMAP4rev1 spells it on the wire (and Dovecot and Courier
/// in a Maildir's folder names): modified UTF-7 (RFC 3501 5.1.3), so the
/// secretariat can name folders in Japanese. ASCII names are unchanged but
/// for `&`, which becomes `&-`.
pub fn folder_name(folder: &str) -> String {
    utf7_imap::encode_utf7_imap(folder.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn folder_names_are_modified_utf7() {
        for (name, wire) in [
            ("Processed/Issued", "Processed/Issued"),
            ("受信トレイ", "&U9dP4TDIMOwwpA-"),
            ("処理済み/発行", "&UeZ0Bm4IMH8-/&dnqITA-"),
            ("R&D", "R&-D"),
            ("Boîte de réception", "Bo&AO4-te de r&AOk-ception"),
        ] {
            assert_eq!(super::folder_name(name), wire, "{name}");
        }
    }
}
