//! The steps of one mail, each a function that takes what it needs and
//! returns a value: what `ra::run` reads as screen → authorise → used
//! before? → extract and check → decide. Nothing here records or answers;
//! `replies`, `execute` and `answer` do, from the values returned here.

use super::mail::{Incoming, Mail};
use super::workbook::Contents;
use super::{Env, RaError, Rejection, execute, is_dry_run, keys, sha256_hex};
use crate::intake::application::{self, AttachmentKind, ReadError};
use crate::intake::{mime, smime};
use crate::model::{
    ApplicationFile, CertLookup, CertSummary, Institution, KeyHolder, LookupError, Officer,
    RowError, Serial,
};
use crate::policy;
use crate::policy::forms::{self, Checked};
use crate::policy::rules::Decision;
use crate::store;

/// Why a mail is not processed at all.
pub(super) enum Screened {
    /// Our own reply or other automatic mail (RFC 3834): never answered.
    Automatic,
    /// These very bytes were processed before.
    SeenBefore { first_id: i64, first_at: String },
}

/// Mails that are not processed, whatever they carry.
pub(super) fn screen(env: &Env, mail: &Incoming) -> Result<Option<Screened>, RaError> {
    if mail.is_loop() {
        return Ok(Some(Screened::Automatic));
    }
    Ok(match store::mail_by_raw(&env.conn, &mail.raw_sha)? {
        Some((first_id, _)) => Some(Screened::SeenBefore {
            first_id,
            first_at: store::mail_received_at(&env.conn, first_id)?,
        }),
        None => None,
    })
}

/// The registered officer who signed, with their institution.
pub(super) struct Signer {
    pub officer: Officer,
    pub registered_at: Option<time::OffsetDateTime>,
    pub institution: Institution,
}

/// Is the signer a registered officer? Err(Rejection) when not; an
/// officer whose institution is missing is an internal error.
pub(super) fn authorise(
    env: &Env,
    verified: &smime::Verified,
) -> Result<Result<Signer, Rejection>, RaError> {
    let Some(officer) = store::officer_by_email(&env.conn, &verified.signer_email)? else {
        return Ok(Err(Rejection::NotOfficer {
            signer: verified.signer_email.clone(),
        }));
    };
    let registered_at = store::officer_registered_at(&env.conn, officer.id)?;
    let institution = store::institution(&env.conn, officer.institution_id)?.ok_or_else(|| {
        store::StoreError::NotFound(format!("institution #{}", officer.institution_id))
    })?;
    Ok(Ok(Signer {
        officer,
        registered_at,
        institution,
    }))
}

/// Signed content is used once: carried out, or checked as a dry run. A dry
/// run re-sent without `[check]` in the outer Subject is a duplicate; the
/// officer signs a fresh mail to have it carried out. Returns the mail that
/// used it first, with its arrival.
pub(super) fn used_before(
    env: &Env,
    mail: &Incoming,
    verified: &smime::Verified,
) -> Result<Option<(i64, String)>, RaError> {
    let this_mail = mail.review.as_ref().map(|r| r.mail_id);
    Ok(store::mail_using_content(
        &env.conn,
        &verified.content_sha256,
        this_mail,
    )?)
}

/// What the signed content carries.
pub(super) enum Extracted {
    /// The application files, checked, with notes on the other attachments
    /// and the kinds of every attachment (for the filing rules).
    Files {
        files: Vec<ApplicationFile>,
        notes: Vec<String>,
        attachments: Vec<AttachmentKind>,
    },
    /// The signed content cannot be read as MIME.
    Unreadable(String),
}

/// Reads the application files of the signed content and checks every row
/// against the form's rules, the institution and the certificates issued.
/// A failed look-up in the store is an internal error (the mail is processed
/// again later), never a row error told to the officer.
pub(super) fn extract_and_check(
    env: &Env,
    inst: &Institution,
    verified: &smime::Verified,
) -> Result<Extracted, RaError> {
    let body = match mime::extract(&verified.content) {
        Ok(b) => b,
        Err(e) => {
            return Ok(Extracted::Unreadable(format!(
                "the signed content could not be read: {e}"
            )));
        }
    };
    let attachments = body
        .attachments
        .iter()
        .map(|a| AttachmentKind::of(&a.filename))
        .collect();
    let reserved_keys = keys::reserved_keys(env, &verified.signer_cert_der)?;
    let lookup = Lookup(&env.conn);
    let ctx = forms::Context {
        institution: Some(inst),
        certs: Some(&lookup),
        ecdsa_ca: Some(env.ec_ca.is_some()),
        reserved_keys: &reserved_keys,
    };
    let mut notes = Vec::new();
    let mut files = Vec::new();
    for a in &body.attachments {
        let read = if AttachmentKind::of(&a.filename) == AttachmentKind::Xlsx {
            super::workbook::contents(&env.workbooks, &a.filename, &a.data)?
        } else {
            application::records(&a.filename, &a.data).map(Contents::Records)
        };
        let (checked, as_read, sheet) = match read {
            Ok(Contents::Records(records)) => (
                forms::check(&records, &ctx).map_err(lookup_failed)?,
                records
                    .as_read()
                    .map(|(line, fields)| (line, fields.to_vec()))
                    .collect(),
                records.sheet_name().map(str::to_owned),
            ),
            // A form read by its labels: no table of rows to annotate.
            Ok(Contents::CodeSigning(wb)) => (
                policy::codesign::check_codesign(&wb, &ctx).map_err(lookup_failed)?,
                Vec::new(),
                None,
            ),
            Err(e @ ReadError::NotApplication) => {
                notes.push(format!("{}: {e}; ignored", a.filename));
                continue;
            }
            Err(e) => (Checked::unreadable(&e), Vec::new(), None),
        };
        files.push(ApplicationFile {
            name: a.filename.clone(),
            sha256: sha256_hex(&a.data),
            kind: checked.kind,
            rows: checked.rows,
            errors: checked.errors,
            warnings: checked.warnings,
            as_read,
            sheet,
        });
    }
    cross_file_checks(&mut files);
    if files.is_empty() {
        notes.push(
            "no application file (.tsv, .txt, .xlsx, .xlsm or .xls) was found inside the signed content"
                .into(),
        );
    }
    Ok(Extracted::Files {
        files,
        notes,
        attachments,
    })
}

/// What is done with a mail's checked files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// No file to carry out: every error is reported.
    Invalid,
    /// `[check]`: validated, nothing carried out.
    DryRun,
    /// A filing rule holds it for the secretariat's review (its decision).
    Hold(Decision),
    /// The valid files are carried out (the rules' decision files the mail).
    Execute(Decision),
}

/// Decides, before anything is carried out, what happens to the files: the
/// outer Subject may only make a mail do less (`[check]` in either the signed
/// or the outer Subject makes a dry run), and a rule may hold the request.
pub(super) fn decide(
    env: &Env,
    mail: &Mail,
    report: &smime::Report,
    files: &[ApplicationFile],
) -> Plan {
    if files.is_empty() {
        return Plan::Invalid;
    }
    if is_dry_run(report.subject.as_deref()) || is_dry_run(report.outer_subject.as_deref()) {
        return Plan::DryRun;
    }
    if files.iter().all(|f| !f.ok()) {
        return Plan::Invalid;
    }
    let facts = mail.facts(execute::verdict_of(files), None);
    // Only the secretariat's approval lifts a hold; a mail kept during
    // maintenance is decided as a fresh arrival.
    let decision = if mail.incoming.review.as_ref().is_some_and(|r| r.approves()) {
        env.rules.evaluate_approved(&facts)
    } else {
        env.rules.evaluate(&facts)
    };
    if decision.hold {
        Plan::Hold(decision)
    } else {
        Plan::Execute(decision)
    }
}

/// The same certificate may be named only once per mail, and the same key
/// certified for one subject only, across all its files.
fn cross_file_checks(files: &mut [ApplicationFile]) {
    // Where a serial was first named: the file, and its line (or sheet row).
    let mut seen: std::collections::HashMap<Serial, (String, String)> = Default::default();
    for f in files.iter_mut() {
        let mut extra = Vec::new();
        for r in &f.rows {
            let Some((serial, line)) = r.named_certificate() else {
                continue;
            };
            if let Some((other, other_line)) = seen.get(serial) {
                if other != &f.name {
                    extra.push(RowError {
                        line,
                        field: Some(4),
                        field_name: "serial",
                        rule: format!(
                            "certificate {serial} is already named in {other} {other_line}"
                        ),
                        sheet: f.sheet.clone(),
                    });
                }
            } else {
                let place = match &f.sheet {
                    Some(s) => format!("{}!D{line}", crate::model::sheet_ref(s)), // field 4: column D
                    None => format!("line {line}"),
                };
                seen.insert(serial.clone(), (f.name.clone(), place));
            }
        }
        f.errors.extend(extra);
    }
    // One key for two subjects, in two files (each file checked its own rows).
    let views: Vec<policy::server::FileRows> = files
        .iter()
        .map(|f| policy::server::FileRows {
            name: &f.name,
            sheet: f.sheet.as_deref(),
            rows: &f.rows,
        })
        .collect();
    let repeated = policy::server::keys_repeated_across_files(&views);
    for (i, e) in repeated {
        files[i].errors.push(e);
    }
    for f in files.iter_mut() {
        f.errors.sort_by_key(|e| (e.line, e.field.unwrap_or(0)));
    }
}

/// The policy layer's read access to issued certificates, on the store: a
/// plain adapter. A store error, or a stored DN that does not parse (damage
/// in the store, never a "DN differs" told to the officer), is a
/// [`LookupError`] that stops the check; [`lookup_failed`] makes it the
/// internal error it is.
struct Lookup<'a>(&'a rusqlite::Connection);

impl Lookup<'_> {
    fn summary(&self, serial: &Serial) -> store::Result<Option<CertSummary>> {
        let Some(c) = store::certificate(self.0, serial)? else {
            return Ok(None);
        };
        Ok(Some(CertSummary {
            dn: record_dn(&c)?,
            serial: c.serial,
            institution_id: c.institution_id,
            status: c.status,
            spki_sha256: c.spki_sha256,
            profile: c.profile,
            kind: c.kind,
        }))
    }

    fn holders(&self, spki_sha256: &str) -> store::Result<Vec<KeyHolder>> {
        store::key_uses(self.0, spki_sha256)?
            .into_iter()
            .map(|u| {
                let parsed = match dn(&u.subject_dn, &u.serial) {
                    Ok(d) => d,
                    Err(e) => match store::certificate(self.0, &u.serial)? {
                        Some(c) if c.imported_at.is_some() => record_dn(&c)?,
                        _ => return Err(e),
                    },
                };
                Ok(KeyHolder {
                    dn: parsed,
                    serial: u.serial,
                    revoked_for: u.revoked_for,
                })
            })
            .collect()
    }
}

/// A certificate's DN as the forms compare it. An imported certificate's
/// subject may carry attributes no form names (a code-signing DN above
/// all): it is then read from the certificate itself.
fn record_dn(c: &store::CertRecord) -> store::Result<crate::model::Dn> {
    match dn(c.dn_as_applied(), &c.serial) {
        Err(_) if c.imported_at.is_some() => openssl::x509::X509::from_pem(c.pem.as_bytes())
            .ok()
            .and_then(|x| crate::model::Dn::from_x509_name_cn_first(x.subject_name()).ok())
            .ok_or_else(|| store::StoreError::Unreadable {
                what: "imported certificate",
                value: c.serial.to_string(),
            }),
        other => other,
    }
}

/// A stored DN read back; one that does not parse is damage in the store.
fn dn(stored: &str, serial: &Serial) -> store::Result<crate::model::Dn> {
    crate::policy::dn::parse(stored).map_err(|_| store::StoreError::Unreadable {
        what: "certificate DN",
        value: format!("{stored} (serial {serial})"),
    })
}

impl CertLookup for Lookup<'_> {
    fn by_serial(&self, serial: &Serial) -> Result<Option<CertSummary>, LookupError> {
        self.summary(serial).map_err(LookupError::new)
    }

    fn key_holders(&self, spki_sha256: &str) -> Result<Vec<KeyHolder>, LookupError> {
        self.holders(spki_sha256).map_err(LookupError::new)
    }
}

/// A failed look-up is the store's failure: told to the operator, and the
/// mail is processed again later. [`Lookup`] only ever fails with a
/// [`store::StoreError`], which comes back unchanged.
fn lookup_failed(e: LookupError) -> RaError {
    tracing::error!(error = %e, "certificate look-up failed");
    let text = e.to_string();
    match e.into_cause().downcast::<store::StoreError>() {
        Ok(cause) => RaError::Store(*cause),
        Err(_) => RaError::Store(store::StoreError::Unreadable {
            what: "certificate look-up",
            value: text,
        }),
    }
}
