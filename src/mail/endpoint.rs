//! Where the robot reads and sends mail: `imap://user@host:port/MAILBOX`,
//! `imaps://…`, `smtp://[user@]host:port`, `smtps://…`, parsed and checked
//! without I/O so that a typo is a start-up error naming the key, not a
//! connection failure at 3 a.m.
//!
//! TLS policy: `imaps`/`smtps` are implicit TLS; on `imap`/`smtp` STARTTLS is
//! used whenever the server offers it, and a server that does not offer it is
//! refused unless plaintext was explicitly allowed — which is only accepted
//! for a loopback host (private test servers).

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (imaps, smtps).
    Implicit,
    /// STARTTLS when offered; plaintext only if `allow_plaintext` (loopback).
    StartTls { allow_plaintext: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub security: Security,
    /// IMAP only: the mailbox the robot reads (default INBOX).
    pub mailbox: Option<String>,
    /// PEM file of CA certificates to trust instead of the system store.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Smtp,
}

impl Protocol {
    fn schemes(self) -> (&'static str, &'static str, u16, u16) {
        match self {
            Protocol::Imap => ("imap", "imaps", 143, 993),
            Protocol::Smtp => ("smtp", "smtps", 587, 465),
        }
    }
}

/// Why a URL was refused (the caller adds file and key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{0:?} is not a URL: {1}")]
    Url(String, String),
    #[error("scheme {found}: must be {plain}:// or {tls}://")]
    Scheme {
        found: String,
        plain: &'static str,
        tls: &'static str,
    },
    #[error("has no host")]
    NoHost,
    #[error("a password does not belong in the URL; use password_file")]
    PasswordInUrl,
    #[error(
        "allow_plaintext is only accepted for a loopback host (127.0.0.1, ::1, localhost), not {0}"
    )]
    PlaintextNotLoopback(String),
    #[error("allow_plaintext means nothing with {0}:// (always TLS)")]
    PlaintextWithTls(&'static str),
    #[error("an SMTP URL has no mailbox path, found {0:?}")]
    SmtpPath(String),
    #[error("{0}")]
    Other(String),
}

pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses and checks an IMAP or SMTP URL.
pub fn parse(
    proto: Protocol,
    url: &str,
    allow_plaintext: bool,
    ca_file: Option<PathBuf>,
) -> Result<Endpoint, EndpointError> {
    let (plain, tls, plain_port, tls_port) = proto.schemes();
    let u = url::Url::parse(url).map_err(|e| EndpointError::Url(url.into(), e.to_string()))?;
    let security = match u.scheme() {
        s if s == plain => Security::StartTls { allow_plaintext },
        s if s == tls => {
            if allow_plaintext {
                return Err(EndpointError::PlaintextWithTls(tls));
            }
            Security::Implicit
        }
        s => {
            return Err(EndpointError::Scheme {
                found: s.into(),
                plain,
                tls,
            });
        }
    };
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(EndpointError::NoHost)?
        .to_string();
    if u.password().is_some() {
        return Err(EndpointError::PasswordInUrl);
    }
    if allow_plaintext && !is_loopback(&host) {
        return Err(EndpointError::PlaintextNotLoopback(host));
    }
    let port = u.port().unwrap_or(match security {
        Security::Implicit => tls_port,
        Security::StartTls { .. } => plain_port,
    });
    let user = match u.username() {
        "" => None,
        s => Some(
            percent_decode(s).map_err(|_| EndpointError::Other("bad %-escape in user".into()))?,
        ),
    };
    let path = u.path().trim_start_matches('/');
    let mailbox = match proto {
        Protocol::Imap => Some(if path.is_empty() {
            "INBOX".to_string()
        } else {
            percent_decode(path)
                .map_err(|_| EndpointError::Other("bad %-escape in mailbox".into()))?
        }),
        Protocol::Smtp => {
            if !path.is_empty() {
                return Err(EndpointError::SmtpPath(path.into()));
            }
            None
        }
    };
    Ok(Endpoint {
        host,
        port,
        user,
        security,
        mailbox,
        ca_file,
    })
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(h, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

impl std::fmt::Display for Endpoint {
    /// The URL without secrets, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match (self.mailbox.is_some(), self.security) {
            (true, Security::Implicit) => "imaps",
            (true, _) => "imap",
            (false, Security::Implicit) => "smtps",
            (false, _) => "smtp",
        };
        write!(f, "{scheme}://")?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        write!(f, "{}:{}", self.host, self.port)?;
        if let Some(m) = &self.mailbox {
            write!(f, "/{m}")?;
        }
        Ok(())
    }
}

/// The refusal when a server does not offer STARTTLS (`section` is `imap`
/// or `smtp`, the config section that could allow plaintext).
pub fn no_starttls(section: &str) -> String {
    format!(
        "the server offers no STARTTLS and plaintext is not allowed (set {section}.allow_plaintext only for a loopback test server)"
    )
}

/// A TLS library's error put in the operator's terms, with the setting that
/// fixes it; the library's own text is kept at the end.
pub fn explain_tls(section: &str, error: &str) -> String {
    if error.contains("STARTTLS is not supported") {
        return no_starttls(section);
    }
    let error = error.replace("Connection error: Connection error: ", "Connection error: ");
    if !error.contains("certificate verify failed") {
        return error;
    }
    if error.contains("hostname mismatch") || error.contains("IP address mismatch") {
        format!("the server's certificate does not name the host of {section}.url: {error}")
    } else {
        format!(
            "the server's certificate is not trusted (set {section}.ca_file to the CA that issued it): {error}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// host, port, user, security, mailbox
    type Want<'a> = (&'a str, u16, Option<&'a str>, Security, Option<&'a str>);

    #[test]
    fn urls() {
        use Protocol::*;
        let ok = |p, u: &str, plain| parse(p, u, plain, None).map_err(|e| e.to_string());
        let cases: Vec<(Protocol, &str, bool, Result<Want, &str>)> = vec![
            (
                Imap,
                "imap://robot@mail.example.ac.jp/INBOX",
                false,
                Ok((
                    "mail.example.ac.jp",
                    143,
                    Some("robot"),
                    Security::StartTls {
                        allow_plaintext: false,
                    },
                    Some("INBOX"),
                )),
            ),
            (
                Imap,
                "imaps://robot%40certs.example.ac.jp@mail.example.ac.jp",
                false,
                Ok((
                    "mail.example.ac.jp",
                    993,
                    Some("robot@certs.example.ac.jp"),
                    Security::Implicit,
                    Some("INBOX"),
                )),
            ),
            (
                Imap,
                "imap://r@127.0.0.1:10143/Robot%20Inbox",
                true,
                Ok((
                    "127.0.0.1",
                    10143,
                    Some("r"),
                    Security::StartTls {
                        allow_plaintext: true,
                    },
                    Some("Robot Inbox"),
                )),
            ),
            (
                Smtp,
                "smtp://127.0.0.1:10025",
                true,
                Ok((
                    "127.0.0.1",
                    10025,
                    None,
                    Security::StartTls {
                        allow_plaintext: true,
                    },
                    None,
                )),
            ),
            (
                Smtp,
                "smtps://relay.example.ac.jp",
                false,
                Ok(("relay.example.ac.jp", 465, None, Security::Implicit, None)),
            ),
            (
                Smtp,
                "smtp://u@relay.example.ac.jp",
                false,
                Ok((
                    "relay.example.ac.jp",
                    587,
                    Some("u"),
                    Security::StartTls {
                        allow_plaintext: false,
                    },
                    None,
                )),
            ),
            (
                Imap,
                "imap://r@mail.example.ac.jp",
                true,
                Err(
                    "allow_plaintext is only accepted for a loopback host (127.0.0.1, ::1, localhost), not mail.example.ac.jp",
                ),
            ),
            (
                Imap,
                "imaps://127.0.0.1",
                true,
                Err("allow_plaintext means nothing with imaps:// (always TLS)"),
            ),
            (
                Imap,
                "pop3://mail.example.ac.jp",
                false,
                Err("scheme pop3: must be imap:// or imaps://"),
            ),
            (
                Smtp,
                "imap://mail.example.ac.jp",
                false,
                Err("scheme imap: must be smtp:// or smtps://"),
            ),
            (
                Imap,
                "imap://r:secret@mail.example.ac.jp",
                false,
                Err("a password does not belong in the URL; use password_file"),
            ),
            (
                Smtp,
                "smtp://relay.example.ac.jp/INBOX",
                false,
                Err("an SMTP URL has no mailbox path, found \"INBOX\""),
            ),
            (
                Imap,
                "mail.example.ac.jp",
                false,
                Err("\"mail.example.ac.jp\" is not a URL: relative URL without a base"),
            ),
        ];
        for (p, u, plain, want) in cases {
            let got = ok(p, u, plain);
            match (got, want) {
                (Ok(e), Ok((h, port, user, sec, mb))) => {
                    assert_eq!(
                        (
                            e.host.as_str(),
                            e.port,
                            e.user.as_deref(),
                            e.security,
                            e.mailbox.as_deref()
                        ),
                        (h, port, user, sec, mb),
                        "{u}"
                    );
                }
                (Err(e), Err(w)) => assert_eq!(e, w, "{u}"),
                (g, w) => panic!("{u}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn display_never_shows_more_than_user_and_host() {
        let e = parse(
            Protocol::Imap,
            "imaps://robot@mail.example.ac.jp/INBOX",
            false,
            None,
        )
        .unwrap();
        assert_eq!(e.to_string(), "imaps://robot@mail.example.ac.jp:993/INBOX");
    }

    #[test]
    fn tls_errors_name_the_setting_that_fixes_them() {
        let untrusted = "Connection error: Connection error: error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (unable to get local issuer certificate)";
        let e = explain_tls("smtp", untrusted);
        assert!(
            e.starts_with("the server's certificate is not trusted (set smtp.ca_file"),
            "{e}"
        );
        assert!(
            e.contains(": Connection error: error:0A000086")
                && e.ends_with("(unable to get local issuer certificate)"),
            "{e}"
        );
        let e = explain_tls(
            "imap",
            "error:0A000086:SSL routines::certificate verify failed:x.c:1: (hostname mismatch)",
        );
        assert!(
            e.starts_with("the server's certificate does not name the host of imap.url"),
            "{e}"
        );
        assert_eq!(
            explain_tls(
                "smtp",
                "internal client error: STARTTLS is not supported on this server"
            ),
            no_starttls("smtp")
        );
        assert!(no_starttls("smtp").contains("smtp.allow_plaintext"));
        assert_eq!(
            explain_tls("smtp", "Connection refused"),
            "Connection refused"
        );
    }
}
