//! The rules of the code-signing revocation form (SPEC §4): the fields the
//! reader (`intake::codesign`) found by their labels, checked like a
//! revocation row — serial (decimal or `0x`-hex), reason code (as 5-3-3),
//! mail syntax — plus the form's own: the institution name is the
//! officer's institution (optionally after its legal-entity name), and the
//! certificate is one of its code-signing certificates, still valid, whose
//! CN or DN the form repeats. Errors name the label and the cell
//! (`4-2!C9 (certificate serial): …`).

#[cfg(test)]
mod tests;

use super::check::{Checked, Context};
use super::values::{check_mail, parse_reason, parse_serial_at_most};
use crate::intake::codesign::{self, CellError, CodeSignForm, Field, LABELS};
use crate::intake::workbook::Workbook;
use crate::model::{
    CertKind, CertStatus, CodeSignRevokeRow, FormKind, LookupError, Request, RowError,
};

/// Longest serial accepted (as the server forms).
pub const MAX_SERIAL_LEN: usize = 50;

/// Longest value per field (characters).
fn max_len(f: Field) -> usize {
    match f {
        Field::Address | Field::Subject => 256,
        Field::Comment | Field::Institution => 128,
        Field::AdminMail => super::values::MAX_MAIL_LEN,
        Field::Serial => MAX_SERIAL_LEN,
        _ => 64,
    }
}

/// Reads a code-signing revocation form and checks it. `Err` only when a
/// certificate look-up failed (the form was not checked).
pub fn check_codesign(wb: &Workbook, ctx: &Context) -> Result<Checked, LookupError> {
    let form = match codesign::read(wb) {
        Ok(f) => f,
        Err(errs) => {
            return Ok(Checked {
                kind: Some(FormKind::CodeSignRevoke),
                errors: errs.iter().map(row_error).collect(),
                ..Checked::default()
            });
        }
    };
    let mut c = FormCheck {
        form: &form,
        errors: Vec::new(),
    };
    for l in &LABELS {
        let len = c.text(l.field).chars().count();
        if l.required && len == 0 {
            c.err(l.field, "is required".into());
        } else if len > max_len(l.field) {
            c.err(
                l.field,
                format!("is {len} characters, at most {} allowed", max_len(l.field)),
            );
        }
    }
    let serial = match parse_serial_at_most(c.text(Field::Serial), MAX_SERIAL_LEN) {
        Ok(s) => Some(s),
        Err(e) => {
            if !c.text(Field::Serial).is_empty() {
                c.err(Field::Serial, e);
            }
            None
        }
    };
    let reason = match parse_reason(c.text(Field::Reason)) {
        Ok(r) => Some(r),
        Err(e) => {
            if !c.text(Field::Reason).is_empty() {
                c.err(Field::Reason, e);
            }
            None
        }
    };
    let mail = c.text(Field::AdminMail).to_string();
    if !mail.is_empty()
        && let Err(e) = check_mail(&mail)
    {
        c.err(Field::AdminMail, e);
    }
    if let Some(inst) = ctx.institution {
        let written = c.text(Field::Institution).to_string();
        if !written.is_empty() && !same_institution(&written, &inst.name) {
            c.err(
                Field::Institution,
                format!(
                    "must be your institution's registered name ({}), optionally after its legal-entity name \
                     (e.g. 学校法人申請学園 {}), not `{written}`",
                    inst.name, inst.name
                ),
            );
        }
    }
    if let (Some(certs), Some(s)) = (ctx.certs, &serial) {
        match certs.by_serial(s)? {
            None => c.err(
                Field::Serial,
                format!("no certificate with serial {s} is registered with this CA"),
            ),
            Some(cert) => {
                if ctx.institution.is_some_and(|i| i.id != cert.institution_id) {
                    c.err(
                        Field::Serial,
                        format!("certificate {s} belongs to another institution"),
                    );
                } else if cert.kind != CertKind::CodeSigning {
                    c.err(
                        Field::Serial,
                        format!(
                            "certificate {s} is a {} certificate, not a code-signing one; revoke it with {}",
                            cert.kind.label(),
                            match cert.kind.family() {
                                crate::model::FormFamily::Server => "form 5-3-3",
                                _ => "form 5-4-3",
                            }
                        ),
                    );
                } else if cert.status == CertStatus::Revoked {
                    c.err(Field::Serial, format!("certificate {s} is already revoked"));
                } else {
                    let subject = c.text(Field::Subject).to_string();
                    if !subject.is_empty() && !same_subject(&subject, &cert.dn) {
                        c.err(
                            Field::Subject,
                            format!(
                                "must be the CN or the DN of certificate {s} ({}), not `{subject}`",
                                cert.dn
                            ),
                        );
                    }
                }
            }
        }
    }
    let line = form.at(Field::Serial).map_or(0, |(r, _)| r as usize + 1);
    let rows = match (serial, reason, c.errors.is_empty()) {
        (Some(serial), Some(reason), true) => vec![Request::CodeSigning(CodeSignRevokeRow {
            line,
            institution_name: form.text(Field::Institution).into(),
            address: form.text(Field::Address).into(),
            admin_name: form.text(Field::AdminName).into(),
            admin_dept: form.text(Field::AdminDept).into(),
            admin_mail: (!mail.is_empty()).then_some(mail),
            serial,
            subject: form.text(Field::Subject).into(),
            reason,
            comment: form.text(Field::Comment).into(),
            application_date: form.text(Field::ApplicationDate).into(),
        })],
        _ => Vec::new(),
    };
    Ok(Checked {
        kind: Some(FormKind::CodeSignRevoke),
        rows,
        errors: c.errors,
        warnings: Vec::new(),
    })
}

struct FormCheck<'a> {
    form: &'a CodeSignForm,
    errors: Vec<RowError>,
}

impl FormCheck<'_> {
    fn text(&self, f: Field) -> &str {
        self.form.text(f)
    }
    fn err(&mut self, f: Field, rule: String) {
        self.errors.push(row_error(&CellError {
            sheet: self.form.sheet.clone(),
            at: self.form.at(f),
            field: Some(f),
            rule,
        }));
    }
}

/// A form error as a row error at its cell (`4-2!C9 (Certificate serial): …`);
/// one whose cell was not found (a missing label) is about the whole file.
fn row_error(e: &CellError) -> RowError {
    match e.at {
        Some((r, c)) => RowError {
            line: r as usize + 1,
            field: Some(c as usize + 1),
            field_name: e
                .field
                .map_or("", |f| crate::intake::codesign::layout::label(f).name()),
            rule: e.rule.clone(),
            sheet: Some(e.sheet.clone()),
        },
        None => RowError {
            line: 0,
            field: None,
            field_name: "",
            rule: e.to_string(),
            sheet: None,
        },
    }
}

/// Compared loosely: half-width, spaces collapsed, case ignored.
fn loose(s: &str) -> String {
    crate::intake::sheet::fold(s)
}

/// The written institution name is the registered one, alone or after its
/// legal-entity name (SPEC §4: 利用機関名 starts with the legal entity, e.g.
/// 学校法人申請学園 申請大学). Compared without width, case or spaces; what
/// precedes the registered name must name a legal entity (…法人…, or
/// "… Corporation" / "Juridical …" in English), so that another
/// institution whose name merely ends the same is not taken for it.
pub fn same_institution(written: &str, registered: &str) -> bool {
    let (w, r) = (loose(written), loose(registered));
    if r.is_empty() {
        return false;
    }
    let (w, r) = (w.replace(' ', ""), r.replace(' ', ""));
    w.strip_suffix(&r).is_some_and(|prefix| {
        prefix.is_empty()
            || ["法人", "corporation", "juridical"]
                .iter()
                .any(|k| prefix.contains(k))
    })
}

/// The written subject is the certificate's CN, or its DN (either order).
fn same_subject(written: &str, dn: &crate::model::Dn) -> bool {
    let w = loose(written);
    if dn.cn().is_some_and(|cn| loose(cn) == w) || loose(&dn.to_string()) == w {
        return true;
    }
    super::dn::parse(written).is_ok_and(|d| d.same_as(dn))
}
