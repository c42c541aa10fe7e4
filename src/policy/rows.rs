//! What every form family's row checks share: the per-row error collector
//! ([`RowCheck`]) with the field rules common to all forms, recognising a
//! file's form from its first row ([`detect`]), the certificate a renewal or
//! revocation names ([`RowCheck::existing`]) and the serial named twice in
//! one file ([`duplicate_serials`]). Each family brings its field names and
//! its own rules (`policy::server`, `policy::client`).

use std::collections::HashMap;

use crate::intake::application::Record;
use crate::model::{
    CertLookup, CertStatus, CertSummary, FormFamily, FormKind, LookupError, RevocationReason,
    RowError, Serial,
};
use crate::policy::check::Context;
use crate::policy::values::{check_mail, parse_reason, parse_serial_at_most};

/// A family's English field names, by form (`None`: form not known yet) and field number.
pub(crate) type FieldNames = fn(Option<FormKind>, usize) -> &'static str;

/// A row error on field `n`, named as the family names it.
pub(crate) fn field_error(
    names: FieldNames,
    line: usize,
    kind: Option<FormKind>,
    n: usize,
    rule: impl Into<String>,
) -> RowError {
    RowError {
        line,
        field: Some(n),
        field_name: names(kind, n),
        rule: rule.into(),
        ..Default::default()
    }
}

/// Collects the errors of one row.
pub(crate) struct RowCheck<'a> {
    pub(crate) rec: &'a Record,
    pub(crate) kind: FormKind,
    pub(crate) errors: Vec<RowError>,
    pub(crate) names: FieldNames,
}

impl<'a> RowCheck<'a> {
    pub(crate) fn new(rec: &'a Record, kind: FormKind, names: FieldNames) -> Self {
        RowCheck {
            rec,
            kind,
            errors: Vec::new(),
            names,
        }
    }

    /// Field `n` (1-based).
    pub(crate) fn f(&self, n: usize) -> &str {
        &self.rec.fields[n - 1]
    }

    pub(crate) fn err(&mut self, n: usize, rule: impl Into<String>) {
        self.errors.push(field_error(
            self.names,
            self.rec.line,
            Some(self.kind),
            n,
            rule,
        ));
    }

    pub(crate) fn must_be_empty(&mut self, fields: &[usize]) {
        let form = self.kind.code();
        for &n in fields {
            if !self.f(n).is_empty() {
                self.err(n, format!("must be empty in a {form} row"));
            }
        }
    }

    pub(crate) fn length(&mut self, n: usize, max: usize, required: bool) {
        let len = self.f(n).chars().count();
        if required && len == 0 {
            self.err(n, "is required");
        } else if len > max {
            self.err(n, format!("is {len} characters, at most {max} allowed"));
        }
    }

    pub(crate) fn mail(&mut self, n: usize, required: bool) {
        let v = self.f(n).to_string();
        if v.is_empty() {
            if required {
                self.err(n, "is required");
            }
        } else if let Err(e) = check_mail(&v) {
            self.err(n, e);
        }
    }

    /// Field 4, the serial of a certificate to renew or revoke.
    pub(crate) fn serial(&mut self, max: usize) -> Option<Serial> {
        match parse_serial_at_most(self.f(4), max) {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(4, e);
                None
            }
        }
    }

    /// Field 5 of a revocation row.
    pub(crate) fn reason(&mut self) -> Option<RevocationReason> {
        match parse_reason(self.f(5)) {
            Ok(r) => Some(r),
            Err(e) => {
                self.err(5, e);
                None
            }
        }
    }

    /// Looks up a certificate named by field 4 and applies the rules shared by
    /// renewal and revocation: it exists, belongs to the institution, is of
    /// the form's family, and is not revoked. `Ok(None)` when a rule is broken
    /// (the row error is recorded); a failing look-up is not "no certificate"
    /// but `Err`, which stops the check of the whole file.
    pub(crate) fn existing(
        &mut self,
        certs: &dyn CertLookup,
        serial: &Serial,
        ctx: &Context,
    ) -> Result<Option<CertSummary>, LookupError> {
        let Some(cert) = certs.by_serial(serial)? else {
            self.err(
                4,
                format!("no certificate with serial {serial} was issued by this CA"),
            );
            return Ok(None);
        };
        if let Some(i) = ctx.institution
            && cert.institution_id != i.id
        {
            self.err(
                4,
                format!("certificate {serial} belongs to another institution"),
            );
            return Ok(None);
        }
        let family = self.kind.family();
        if cert.kind.family() != family {
            let (what, forms) = match cert.kind.family() {
                FormFamily::Server => (
                    "a server certificate",
                    "a server form (5-3-2 to renew, 5-3-3 to revoke; 13 fields per row)",
                ),
                FormFamily::Client => (
                    "a client certificate",
                    "a client form (5-4-2 to renew, 5-4-3 to revoke; 15 fields per row)",
                ),
                FormFamily::CodeSigning => (
                    "a code-signing certificate",
                    "the code-signing revocation form (an Excel workbook)",
                ),
            };
            let profile = match cert.profile {
                Some(p) => format!("profile {}", p.id()),
                None => "imported".into(),
            };
            self.err(
                4,
                format!("certificate {serial} is {what} ({profile}); name it in {forms}"),
            );
            return Ok(None);
        }
        if cert.status == CertStatus::Revoked {
            self.err(4, format!("certificate {serial} is already revoked"));
            return Ok(None);
        }
        Ok(Some(cert))
    }
}

/// How a family tells its forms apart.
pub(crate) struct Forms {
    /// Fields per record.
    pub(crate) fields: usize,
    /// The form a row looks like, if any.
    pub(crate) classify: fn(&Record) -> Option<FormKind>,
    /// What made a row look like a form, e.g. "a CSR and no serial".
    pub(crate) describe: fn(FormKind) -> &'static str,
    /// The rule for a row that looks like no form.
    pub(crate) unknown: &'static str,
}

/// Detects the form of a file by content (TSV files carry no header). One
/// form per file, and the **first** row decides: that is the row an officer
/// looks at first, and the rule is easy to state in an error. Every other row
/// that looks like another form, or like none, is an error naming its line.
/// Returns the form, those errors, and which records fit it.
pub(crate) fn detect(
    records: &[Record],
    forms: &Forms,
) -> (Option<FormKind>, Vec<RowError>, Vec<bool>) {
    let fields = forms.fields;
    let mut errors = Vec::new();
    let mut fits = Vec::with_capacity(records.len());
    let mut file: Option<(FormKind, usize)> = None;
    let whole_row = |line: usize, rule: String| RowError {
        line,
        field: None,
        field_name: "",
        rule,
        ..Default::default()
    };
    for rec in records {
        if rec.fields.len() < fields {
            errors.push(whole_row(
                rec.line,
                format!("the row has {} fields, {fields} expected", rec.fields.len()),
            ));
            fits.push(false);
            continue;
        }
        match ((forms.classify)(rec), file) {
            (None, _) => {
                errors.push(whole_row(rec.line, forms.unknown.to_string()));
                fits.push(false);
            }
            (Some(k), None) => {
                file = Some((k, rec.line));
                fits.push(true);
            }
            (Some(k), Some((fk, first))) if k != fk => {
                errors.push(whole_row(
                    rec.line,
                    format!(
                        "has {} so it looks like a {} row ({}), but the file is {} ({}) as decided by its first row, line {first}; put each form in its own file",
                        (forms.describe)(k),
                        k.code(),
                        k.label(),
                        fk.code(),
                        fk.label()
                    ),
                ));
                fits.push(false);
            }
            (Some(_), Some(_)) => fits.push(true),
        }
    }
    (file.map(|(k, _)| k), errors, fits)
}

/// A certificate named twice in one renewal or revocation file (field 4).
pub(crate) fn duplicate_serials(
    records: &[Record],
    fits: &[bool],
    kind: FormKind,
    names: FieldNames,
    max_serial: usize,
) -> Vec<RowError> {
    let mut seen: HashMap<Serial, usize> = HashMap::new();
    let mut errors = Vec::new();
    if matches!(kind, FormKind::ServerIssue | FormKind::ClientIssue) {
        return errors;
    }
    for (rec, _) in records.iter().zip(fits).filter(|(_, f)| **f) {
        if let Ok(s) = parse_serial_at_most(&rec.fields[3], max_serial) {
            if let Some(first) = seen.get(&s) {
                errors.push(field_error(
                    names,
                    rec.line,
                    Some(kind),
                    4,
                    format!("serial {s} already appears on line {first}; name each certificate once per file"),
                ));
            } else {
                seen.insert(s, rec.line);
            }
        }
    }
    errors
}
