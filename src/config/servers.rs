//! The `[imap]` and `[smtp]` sections: the mail servers of a live robot,
//! each checked into an endpoint, a password read from its file, and the
//! loop's timings, every problem pushed with its key.

use std::path::Path;

use super::raw::{RawImap, RawSmtp};
use crate::mail::endpoint::{self, Endpoint, Protocol};

/// A password read from its file; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub endpoint: Endpoint,
    pub password: Option<Secret>,
    pub poll: std::time::Duration,
    pub idle: std::time::Duration,
    pub quarantine: String,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub endpoint: Endpoint,
    pub password: Option<Secret>,
    pub max_attempts: u32,
    pub retry_min: std::time::Duration,
    pub retry_max: std::time::Duration,
    pub timeout: std::time::Duration,
}

impl SmtpConfig {
    /// What the SMTP transport needs to connect. The connection is kept for a
    /// minute after the last reply, so replies of mails that follow each other
    /// go out on it too.
    pub fn params(&self) -> crate::mail::smtp::SmtpParams {
        crate::mail::smtp::SmtpParams {
            endpoint: self.endpoint.clone(),
            password: self.password.as_ref().map(|p| p.0.clone()),
            timeout: self.timeout,
            idle: std::time::Duration::from_secs(60),
        }
    }
}

/// Checks `[imap]`; None when its URL is missing or broken.
pub(super) fn imap(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    r: &RawImap,
) -> Option<ImapConfig> {
    let endpoint = live_endpoint(
        problems,
        f,
        dir,
        Section {
            proto: Protocol::Imap,
            name: "imap",
            url: &r.url,
            ca_file: &r.ca_file,
            allow_plaintext: r.allow_plaintext,
        },
    )?;
    let password = password(problems, f, dir, "imap", &r.password_file);
    if endpoint.user.is_none() {
        problems.push(format!(
            "{f}: key imap.url: no user (imap://USER@host/MAILBOX)"
        ));
    }
    let poll = r.poll_seconds.unwrap_or(60);
    if !(1..=3600).contains(&poll) {
        problems.push(format!(
            "{f}: key imap.poll_seconds: {poll} is outside 1..=3600"
        ));
    }
    let idle = r.idle_minutes.unwrap_or(25);
    if !(1..=28).contains(&idle) {
        problems.push(format!(
            "{f}: key imap.idle_minutes: {idle} is outside 1..=28 (servers drop IDLE after 29 minutes)"
        ));
    }
    Some(ImapConfig {
        endpoint,
        password,
        poll: std::time::Duration::from_secs(poll),
        idle: std::time::Duration::from_secs(idle * 60),
        quarantine: r.quarantine.clone().unwrap_or_else(|| "Quarantine".into()),
    })
}

/// Checks `[smtp]`; None when its URL is missing or broken.
pub(super) fn smtp(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    r: &RawSmtp,
) -> Option<SmtpConfig> {
    let endpoint = live_endpoint(
        problems,
        f,
        dir,
        Section {
            proto: Protocol::Smtp,
            name: "smtp",
            url: &r.url,
            ca_file: &r.ca_file,
            allow_plaintext: r.allow_plaintext,
        },
    )?;
    let password = password(problems, f, dir, "smtp", &r.password_file);
    if password.is_some() != endpoint.user.is_some() {
        problems.push(format!(
            "{f}: key smtp.password_file: a user in smtp.url and a password_file go together"
        ));
    }
    let max_attempts = r.max_attempts.unwrap_or(10);
    if !(1..=100).contains(&max_attempts) {
        problems.push(format!(
            "{f}: key smtp.max_attempts: {max_attempts} is outside 1..=100"
        ));
    }
    let min = r.retry_min_seconds.unwrap_or(30);
    let max = r.retry_max_seconds.unwrap_or(3600);
    if min == 0 || max < min {
        problems.push(format!(
            "{f}: key smtp.retry_max_seconds: need 0 < retry_min_seconds ({min}) <= retry_max_seconds ({max})"
        ));
    }
    Some(SmtpConfig {
        endpoint,
        password,
        max_attempts,
        retry_min: std::time::Duration::from_secs(min),
        retry_max: std::time::Duration::from_secs(max),
        timeout: std::time::Duration::from_secs(r.timeout_seconds.unwrap_or(60)),
    })
}

/// Where a `[imap]` / `[smtp]` section's endpoint is read from.
struct Section<'a> {
    proto: Protocol,
    name: &'a str,
    url: &'a Option<String>,
    ca_file: &'a Option<String>,
    allow_plaintext: Option<bool>,
}

fn live_endpoint(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    s: Section<'_>,
) -> Option<Endpoint> {
    let Section {
        proto,
        name: section,
        url,
        ca_file,
        allow_plaintext,
    } = s;
    let ca = ca_file.as_ref().map(|c| dir.join(c));
    if let Some(c) = &ca
        && !c.is_file()
    {
        problems.push(format!(
            "{f}: key {section}.ca_file: file {} not found",
            c.display()
        ));
    }
    let Some(url) = url else {
        problems.push(format!("{f}: key {section}.url: missing"));
        return None;
    };
    match endpoint::parse(proto, url, allow_plaintext.unwrap_or(false), ca) {
        Ok(e) => Some(e),
        Err(e) => {
            problems.push(format!("{f}: key {section}.url: {e}"));
            None
        }
    }
}

fn password(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    section: &str,
    file: &Option<String>,
) -> Option<Secret> {
    let p = dir.join(file.as_ref()?);
    match std::fs::read_to_string(&p) {
        Ok(t) => {
            let pw = t.lines().next().unwrap_or("").to_string();
            if pw.is_empty() {
                problems.push(format!(
                    "{f}: key {section}.password_file: {} is empty",
                    p.display()
                ));
            }
            Some(Secret(pw))
        }
        Err(e) => {
            problems.push(format!(
                "{f}: key {section}.password_file: cannot read {} ({e})",
                p.display()
            ));
            None
        }
    }
}
