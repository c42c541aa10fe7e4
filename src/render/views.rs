//! View models: how application files, rows and times appear in the replies.
//! The Japanese (and English) wording lives here, not in the workflow, so the
//! text mails, the annotated xlsx reply and reports share one view.

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::{
    ApplicationFile, ApplicationStatus, ClientRequest, Request, Serial, ServerRequest, Verdict,
};

/// A time as the replies show it: Japan time, to the second.
pub fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+9));
    t.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] JST"
    ))
    .unwrap_or_default()
}

/// Check names in Japanese, for the rejection reply.
pub fn check_ja(check: &str) -> &'static str {
    match check {
        "envelope" => "メールの構成(署名がメール全体を覆っていない等)",
        "structure" => "署名データの構造",
        "algorithms" => "署名・ダイジェストのアルゴリズム",
        "signed-attributes" => "署名属性",
        "digest" => "メッセージダイジェスト(署名後の改変)",
        "signature" => "署名値",
        "chain" => "証明書チェーン(登録担当者用CA)",
        "signer-certificate" => "署名者証明書",
        "revocation" => "署名者証明書の失効",
        "address" => "Fromアドレスと署名者証明書のアドレス",
        "signing-time" => "署名日時",
        "officer" => "登録担当者の登録",
        "review" => "事務局による確認",
        _ => "検証",
    }
}

/// How a file and its rows appear in the officer's reply.
#[derive(Debug, Serialize)]
pub struct FileView {
    pub name: String,
    pub form: String,
    pub form_ja: String,
    #[serde(skip)]
    pub form_code: Option<&'static str>,
    pub status: String,
    pub status_ja: String,
    pub rows: Vec<RowView>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// The name of the annotated workbook attached for this file (its
    /// errors marked at their cells), if one is.
    pub annotated: Option<String>,
    /// The sheet a workbook's rows are in (row numbers are then the sheet's).
    pub sheet: Option<String>,
}

/// One row of a file in the officer's reply.
#[derive(Debug, Serialize, Clone)]
pub struct RowView {
    pub line: usize,
    pub outcome: String,
    pub outcome_ja: String,
    pub serial: Option<String>,
    pub serial_dec: Option<String>,
    pub cn: Option<String>,
}

/// What was done with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    Issued,
    Renewed,
    Revoked,
}

impl RowOutcome {
    /// The word stored with the row and shown in English.
    pub fn as_str(self) -> &'static str {
        crate::model::RowOutcomeKind::from(self).as_str()
    }

    fn ja(self) -> &'static str {
        match self {
            RowOutcome::Issued => "発行しました",
            RowOutcome::Renewed => "更新(新証明書を発行)しました",
            RowOutcome::Revoked => "失効しました",
        }
    }
}

impl From<RowOutcome> for crate::model::RowOutcomeKind {
    fn from(o: RowOutcome) -> Self {
        match o {
            RowOutcome::Issued => crate::model::RowOutcomeKind::Issued,
            RowOutcome::Renewed => crate::model::RowOutcomeKind::Renewed,
            RowOutcome::Revoked => crate::model::RowOutcomeKind::Revoked,
        }
    }
}

impl RowView {
    /// A row carried out: `serial` is the new certificate's (issue, renewal)
    /// or the revoked one's, `cn` the host or DN it is about.
    pub fn executed(line: usize, outcome: RowOutcome, serial: &Serial, cn: String) -> RowView {
        RowView {
            line,
            outcome: outcome.as_str().into(),
            outcome_ja: outcome.ja().into(),
            serial: Some(serial.to_string()),
            serial_dec: Some(serial.to_decimal()),
            cn: Some(cn),
        }
    }

    /// A valid row not carried out (dry run, held).
    fn valid(r: &Request) -> RowView {
        let (what, ja) =
            match r {
                Request::Server(ServerRequest::Issue(_))
                | Request::Client(ClientRequest::Issue(_)) => ("valid: would be issued", "発行可"),
                Request::Server(ServerRequest::Renew(_))
                | Request::Client(ClientRequest::Renew(_)) => ("valid: would be renewed", "更新可"),
                Request::Server(ServerRequest::Revoke(_))
                | Request::Client(ClientRequest::Revoke(_))
                | Request::CodeSigning(_) => ("valid: would be revoked", "失効可"),
            };
        RowView {
            line: r.line(),
            outcome: what.into(),
            outcome_ja: ja.into(),
            serial: None,
            serial_dec: None,
            cn: None,
        }
    }
}

impl FileView {
    /// `done` is the file's status when it has no errors; `executed` the rows
    /// carried out (for an executed file).
    pub fn new(
        f: &ApplicationFile,
        done: Option<ApplicationStatus>,
        executed: &[RowView],
    ) -> FileView {
        let (status, status_ja) = match done {
            Some(ApplicationStatus::Executed) => {
                ("executed".to_string(), "処理しました".to_string())
            }
            Some(ApplicationStatus::Checked) => (
                "valid: nothing executed (dry run)".into(),
                "内容に問題はありません(確認のみ)".into(),
            ),
            Some(ApplicationStatus::Held) => (
                "held for the secretariat's review: nothing executed yet".into(),
                "事務局の確認待ちのため、まだ処理していません".into(),
            ),
            _ if f.errors.is_empty() => ("refused".into(), "処理していません".into()),
            _ => (
                format!("NOT executed: {} error(s)", f.errors.len()),
                format!("エラー {} 件のため処理していません", f.errors.len()),
            ),
        };
        let rows = if !executed.is_empty() {
            executed.to_vec()
        } else if done.is_some() {
            f.rows.iter().map(RowView::valid).collect()
        } else {
            vec![]
        };
        FileView {
            name: f.name.clone(),
            form: f
                .kind
                .map(|k| format!("{} {}", k.code(), k.label()))
                .unwrap_or_else(|| "form not recognised".into()),
            form_ja: f
                .kind
                .map(|k| format!("{} {}", k.code(), k.label_ja()))
                .unwrap_or_else(|| "様式不明".into()),
            form_code: f.kind.map(|k| k.code()),
            status,
            status_ja,
            rows,
            errors: f.errors.iter().map(|e| e.to_string()).collect(),
            warnings: f.warnings.iter().map(|e| e.to_string()).collect(),
            annotated: None,
            sheet: f.sheet.clone(),
        }
    }
}

/// One line on what a mail's files came to (the mail's record and log line).
pub fn summarize(files: &[ApplicationFile], notes: &[String], verdict: Verdict) -> String {
    let errors: usize = files.iter().map(|f| f.errors.len()).sum();
    let rows: usize = files.iter().map(|f| f.rows.len()).sum();
    match verdict {
        Verdict::Checked if errors == 0 => format!(
            "{} file(s), {rows} valid row(s), nothing executed",
            files.len()
        ),
        Verdict::Held if errors == 0 => format!(
            "{} file(s), {rows} row(s) held for the secretariat's review",
            files.len()
        ),
        Verdict::Held => format!(
            "{} file(s), {rows} row(s) held for the secretariat's review, {errors} error(s)",
            files.len()
        ),
        _ if errors > 0 => format!("{} file(s), {errors} error(s)", files.len()),
        _ => notes
            .first()
            .cloned()
            .unwrap_or_else(|| format!("{} file(s)", files.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_japan_time() {
        let t = time::macros::datetime!(2026-11-30 15:30:05 UTC);
        assert_eq!(stamp(t), "2026-12-01 00:30:05 JST");
    }

    #[test]
    fn executed_rows_show_both_serial_forms() {
        let s = Serial::from_bytes(&[0x01, 0x00]);
        let v = RowView::executed(3, RowOutcome::Renewed, &s, "www.example.ac.jp".into());
        assert_eq!(v.outcome, "renewed: new certificate issued");
        assert_eq!(v.outcome_ja, "更新(新証明書を発行)しました");
        assert_eq!(v.serial_dec.as_deref(), Some("256"));
    }
}
