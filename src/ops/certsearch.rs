//! `mailra cert search` / `cert export` (issue 11): certificates found by
//! serial, DN fragment, institution, mail, profile, kind, status and
//! expiry, listed or exported as TSV / xlsx.
//!
//! The query is one `clap::Args` struct, so the command line and a
//! command by signed mail (`cert search --dn www --status valid`, read by
//! [`CertQuery::from_words`]) accept exactly the same words. The filtering
//! is SQL (`store::find_certificates`).
//!
//! Decisions: `--dn` and `--institution` are fragments, compared without
//! regard to ASCII case (`--institution example` finds "Example
//! University"); `--mail` is a whole address (administrator or user),
//! case-insensitive; `--status valid` means not revoked and notAfter still
//! ahead, `expired` not revoked with notAfter passed, `revoked` revoked
//! (whenever it expires); `--expires-from` / `--expires-to` are JST
//! calendar days, both included.

use clap::Parser;
use rusqlite::Connection;
use time::{Date, OffsetDateTime};

use super::cert::{CertView, institution_names, view};
use super::{OpsError, Result};
use crate::model::{CertKind, CertStatus, Profile};
use crate::render::cert_export::{self, ExportError, ExportRow, TextEncoding};
use crate::store::{self, CertFilter, CertRecord, Period};

/// What a search's `--status` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFilter {
    /// Not revoked, notAfter still ahead.
    Valid,
    /// Revoked.
    Revoked,
    /// Not revoked, notAfter passed.
    Expired,
}

/// What to look for; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct CertQuery {
    /// Serial, decimal or 0x-hex.
    #[arg(long, value_parser = serial_arg)]
    pub serial: Option<String>,
    /// A fragment of the subject DN (`www`, `CN=www.example.ac.jp`), any ASCII case.
    #[arg(long, visible_alias = "cn", value_name = "FRAGMENT")]
    pub dn: Option<String>,
    /// A fragment of the institution's name, any ASCII case.
    #[arg(long, value_name = "NAME")]
    pub institution: Option<String>,
    /// The administrator's or the user's address (whole, any case).
    #[arg(long, value_name = "ADDRESS")]
    pub mail: Option<String>,
    /// Profile ID (3, 5, 7, 11, 13, 14, 15, 16).
    #[arg(long, value_name = "ID", value_parser = profile_arg)]
    pub profile: Option<u8>,
    /// server, client, smime or codesign.
    #[arg(long, value_parser = kind_arg)]
    pub kind: Option<CertKind>,
    /// valid (not revoked, not expired), revoked, or expired (not revoked, notAfter passed).
    #[arg(long, value_enum)]
    pub status: Option<StatusFilter>,
    /// Expiring on or after this JST day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub expires_from: Option<Date>,
    /// Expiring on or before this JST day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub expires_to: Option<Date>,
    /// The moment `valid` and `expired` are judged at (the caller's "now";
    /// `None`: the wall clock). Not a command-line word.
    #[arg(skip)]
    pub at: Option<OffsetDateTime>,
}

/// The query's words alone (a mail command after `cert search`).
#[derive(Parser)]
#[command(
    name = "cert search",
    no_binary_name = true,
    disable_version_flag = true
)]
struct Words {
    #[command(flatten)]
    q: CertQuery,
}

impl CertQuery {
    /// Reads the words of a mail command (`cert search --dn www --status valid`
    /// without `cert search`): the same options as the command line. The
    /// error is clap's message (usage included), ready to be echoed.
    pub fn from_words(words: &[&str]) -> std::result::Result<CertQuery, String> {
        let q = Words::try_parse_from(words)
            .map_err(|e| e.to_string().trim_end().to_string())?
            .q;
        q.check().map_err(|e| e.to_string())?;
        Ok(q)
    }

    /// What the words cannot say by themselves: a range the wrong way round.
    fn check(&self) -> Result<()> {
        if let (Some(a), Some(b)) = (self.expires_from, self.expires_to)
            && a > b
        {
            return Err(OpsError::Invalid(format!(
                "--expires-from {a} is after --expires-to {b}"
            )));
        }
        if let Some(s) = &self.serial {
            serial_arg(s).map_err(OpsError::Invalid)?;
        }
        Ok(())
    }

    fn filter(&self, at: OffsetDateTime) -> Result<CertFilter> {
        self.check()?;
        let serial = self
            .serial
            .as_deref()
            .map(|s| super::cert::parse_serial(s).ok_or_else(|| OpsError::Invalid(s.into())))
            .transpose()?;
        let mut f = CertFilter {
            serial,
            subject_contains: self.dn.clone(),
            institution_contains: self.institution.clone(),
            mail: self.mail.clone(),
            profile: self.profile.and_then(Profile::from_id),
            kind: self.kind,
            expires: jst_days(self.expires_from, self.expires_to),
            ..Default::default()
        };
        match self.status {
            None => {}
            Some(StatusFilter::Revoked) => f.status = Some(CertStatus::Revoked),
            Some(StatusFilter::Valid) => {
                f.status = Some(CertStatus::Valid);
                f.unexpired_at = Some(at);
            }
            Some(StatusFilter::Expired) => {
                f.status = Some(CertStatus::Valid);
                f.expired_at = Some(at);
            }
        }
        Ok(f)
    }
}

fn serial_arg(s: &str) -> std::result::Result<String, String> {
    super::cert::parse_serial(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("{s:?} is not a serial (decimal or 0x-hex)"))
}

fn profile_arg(s: &str) -> std::result::Result<u8, String> {
    s.parse::<u8>()
        .ok()
        .filter(|&p| Profile::from_id(p).is_some())
        .ok_or_else(|| format!("{s:?} is not a profile ID (3, 5, 7, 11, 13, 14, 15, 16)"))
}

fn kind_arg(s: &str) -> std::result::Result<CertKind, String> {
    CertKind::parse(s).ok_or_else(|| format!("{s:?} is not server, client, smime or codesign"))
}

/// A calendar day `YYYY-MM-DD`.
pub fn date_arg(s: &str) -> std::result::Result<Date, String> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// The span of JST calendar days `from..=to` (either end open).
pub fn jst_days(from: Option<Date>, to: Option<Date>) -> Period {
    let jst = time::macros::offset!(+9);
    let start = |d: Date| d.midnight().assume_offset(jst);
    Period {
        from: from.map(start),
        until: to.map(|d| d.next_day().map_or(start(d) + time::Duration::DAY, start)),
    }
}

/// The records matching `q`, with the status a search shows.
fn find(conn: &Connection, q: &CertQuery) -> Result<Vec<(CertRecord, CertView)>> {
    let at = q.at.unwrap_or_else(OffsetDateTime::now_utc);
    let records = store::find_certificates(conn, &q.filter(at)?)?;
    let names = institution_names(conn)?;
    Ok(records
        .into_iter()
        .map(|c| {
            let mut v = view(
                &c,
                names.get(&c.institution_id).cloned().unwrap_or_default(),
            );
            if c.status == CertStatus::Valid && c.not_after <= at {
                v.status = "expired";
            }
            (c, v)
        })
        .collect())
}

/// The certificates matching `q`, in the order they were issued; `status`
/// says `valid`, `revoked` or `expired` (judged at `q.at`).
pub fn search(conn: &Connection, q: &CertQuery) -> Result<Vec<CertView>> {
    Ok(find(conn, q)?.into_iter().map(|(_, v)| v).collect())
}

/// The file formats of `cert export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Tsv,
    Xlsx,
}

/// An export: the file and how many certificates it lists.
#[derive(Debug, Clone)]
pub struct Export {
    pub count: usize,
    pub bytes: Vec<u8>,
}

/// The certificates matching `q` as a file (`encoding` for TSV only). A
/// value Shift_JIS cannot hold, or a tab or line break in a TSV value, is
/// refused ([`OpsError::Invalid`], naming the certificate).
pub fn export(
    conn: &Connection,
    q: &CertQuery,
    format: ExportFormat,
    encoding: TextEncoding,
) -> Result<Export> {
    let rows: Vec<ExportRow> = find(conn, q)?
        .into_iter()
        .map(|(c, v)| ExportRow {
            serial: v.serial,
            serial_decimal: v.serial_decimal,
            status: v.status,
            profile: v.profile,
            kind: v.kind,
            subject: v.subject,
            institution: v.institution,
            not_before: c.not_before,
            not_after: c.not_after,
            admin_mail: v.admin_mail,
            user_mail: v.user_mail,
            renewed_from: v.renewed_from,
        })
        .collect();
    let bytes = match format {
        ExportFormat::Tsv => cert_export::tsv(&rows, encoding),
        ExportFormat::Xlsx => cert_export::xlsx(&rows),
    }
    .map_err(|e| match e {
        ExportError::Xlsx(e) => OpsError::Xlsx(e),
        e => OpsError::Invalid(e.to_string()),
    })?;
    Ok(Export {
        count: rows.len(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn words_read_as_the_command_line_reads_them() {
        let q = |f: fn(&mut CertQuery)| {
            let mut q = CertQuery::default();
            f(&mut q);
            Ok(q)
        };
        let table: Vec<(&[&str], std::result::Result<CertQuery, &str>)> = vec![
            (&[], q(|_| {})),
            (
                &["--dn", "www", "--status", "valid"],
                q(|q| {
                    q.dn = Some("www".into());
                    q.status = Some(StatusFilter::Valid);
                }),
            ),
            (&["--cn", "WWW"], q(|q| q.dn = Some("WWW".into()))),
            (
                &["--serial", "0x112210E261FEC92B"],
                q(|q| q.serial = Some("0x112210E261FEC92B".into())),
            ),
            (
                &["--serial=1234567812345678123", "--kind", "smime"],
                q(|q| {
                    q.serial = Some("1234567812345678123".into());
                    q.kind = Some(CertKind::Smime);
                }),
            ),
            (
                &["--institution", "国立大学", "--mail", "A@Example.ac.jp"],
                q(|q| {
                    q.institution = Some("国立大学".into());
                    q.mail = Some("A@Example.ac.jp".into());
                }),
            ),
            (
                &["--profile", "11", "--status", "expired"],
                q(|q| {
                    q.profile = Some(11);
                    q.status = Some(StatusFilter::Expired);
                }),
            ),
            (
                &["--expires-from", "2026-12-01", "--expires-to", "2026-12-31"],
                q(|q| {
                    q.expires_from = Some(date!(2026 - 12 - 01));
                    q.expires_to = Some(date!(2026 - 12 - 31));
                }),
            ),
            (&["--serial", "12a"], Err("not a serial")),
            (&["--serial", "0x"], Err("not a serial")),
            (&["--profile", "4"], Err("not a profile ID")),
            (&["--profile", "three"], Err("not a profile ID")),
            (&["--kind", "email"], Err("not server, client")),
            (&["--status", "alive"], Err("invalid value 'alive'")),
            (&["--expires-from", "2026/12/01"], Err("not a date")),
            (&["--expires-to", "2026-02-30"], Err("not a date")),
            (
                &["--expires-from", "2026-12-02", "--expires-to", "2026-12-01"],
                Err("is after --expires-to"),
            ),
            (&["www"], Err("unexpected argument 'www'")),
            (&["--dn"], Err("a value is required")),
            (&["--color", "red"], Err("unexpected argument '--color'")),
        ];
        for (words, expected) in table {
            match (CertQuery::from_words(words), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{words:?}"),
                (Err(got), Err(want)) => {
                    assert!(got.contains(want), "{words:?}: {got}");
                    assert!(
                        !got.contains('\u{1b}'),
                        "{words:?}: no colour codes: {got:?}"
                    );
                }
                (got, want) => panic!("{words:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn jst_days_cover_whole_japanese_days() {
        use time::macros::datetime;
        for ((from, to), (start, end)) in [
            (
                (Some(date!(2026 - 04 - 01)), Some(date!(2026 - 04 - 30))),
                (
                    Some(datetime!(2026-03-31 15:00 UTC)),
                    Some(datetime!(2026-04-30 15:00 UTC)),
                ),
            ),
            (
                (None, Some(date!(2026 - 12 - 31))),
                (None, Some(datetime!(2026-12-31 15:00 UTC))),
            ),
            ((None, None), (None, None)),
        ] {
            let p = jst_days(from, to);
            assert_eq!((p.from, p.until), (start, end), "{from:?} {to:?}");
        }
    }
}
