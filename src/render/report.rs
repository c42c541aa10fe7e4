//! The workbook of `mailra report`: the certificates issued, renewed and
//! revoked in a date range, a sheet each, and a summary sheet of counts per
//! institution and profile (the service's bulk download of certificate
//! information for a period).
//!
//! Sheet names are Japanese with English; every sheet is a listing
//! (`render::listing`): frozen header, autofilter, IDs as text, times as
//! JST date-times.

use rust_xlsxwriter::{DocProperties, Workbook, XlsxError};
use time::{Date, OffsetDateTime};

use super::listing::{self, Cell, Column, col};

pub const SUMMARY_SHEET: &str = "集計 summary";
pub const ISSUED_SHEET: &str = "発行 issued";
pub const RENEWED_SHEET: &str = "更新 renewed";
pub const REVOKED_SHEET: &str = "失効 revoked";
/// The label of the summary's last line.
pub const TOTAL: &str = "合計 total";

/// A certificate issued (or renewed) in the range.
#[derive(Debug, Clone)]
pub struct IssuedLine {
    /// `0x`-hex.
    pub serial: String,
    pub serial_decimal: String,
    /// The certificate it renewed (`0x`-hex); `None` on the issued sheet.
    pub renewed_from: Option<String>,
    pub institution: String,
    pub profile: Option<u8>,
    pub kind: &'static str,
    pub subject: String,
    pub issued_at: OffsetDateTime,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub admin_mail: String,
    pub user_mail: Option<String>,
    /// The issuing CA (`rsa`, `ec`).
    pub ca: String,
}

/// A revocation made in the range.
#[derive(Debug, Clone)]
pub struct RevokedLine {
    pub serial: String,
    pub serial_decimal: String,
    pub revoked_at: OffsetDateTime,
    pub reason_code: u8,
    pub reason: &'static str,
    pub institution: String,
    pub profile: Option<u8>,
    pub kind: &'static str,
    pub subject: String,
    pub comment: String,
}

/// One line of the summary: the counts of one institution and profile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SummaryLine {
    pub institution: String,
    /// `None`: an imported certificate without a profile (kind says what).
    pub profile: Option<u8>,
    pub kind: &'static str,
    pub issued: u64,
    pub renewed: u64,
    pub revoked: u64,
}

/// What the workbook shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The range, JST calendar days, inclusive.
    pub from: Date,
    pub to: Date,
    pub institution: Option<String>,
    pub issued: Vec<IssuedLine>,
    pub renewed: Vec<IssuedLine>,
    pub revoked: Vec<RevokedLine>,
    pub summary: Vec<SummaryLine>,
}

impl ReportData {
    /// The rows the workbook will have (what progress counts to).
    pub fn rows(&self) -> u64 {
        (self.issued.len() + self.renewed.len() + self.revoked.len() + self.summary.len()) as u64
    }
}

const SUMMARY: [Column; 6] = [
    col("機関 institution", 34.0),
    col("プロファイル profile", 12.0),
    col("種別 kind", 10.0),
    col("発行 issued", 10.0),
    col("更新 renewed", 10.0),
    col("失効 revoked", 10.0),
];

const ISSUED: [Column; 12] = [
    col("シリアル番号 serial (hex)", 26.0),
    col("シリアル番号 serial (decimal)", 28.0),
    col("機関 institution", 30.0),
    col("プロファイル profile", 12.0),
    col("種別 kind", 10.0),
    col("サブジェクトDN subject DN", 60.0),
    col("発行日時 issued at (JST)", 21.0),
    col("有効期間開始 notBefore (JST)", 21.0),
    col("有効期間満了 notAfter (JST)", 21.0),
    col("管理者メール admin mail", 30.0),
    col("利用者メール user mail", 30.0),
    col("発行CA CA", 8.0),
];

const RENEWED_FROM: Column = col("旧シリアル番号 old serial (hex)", 28.0);

const REVOKED: [Column; 10] = [
    col("シリアル番号 serial (hex)", 26.0),
    col("シリアル番号 serial (decimal)", 28.0),
    col("失効日時 revoked at (JST)", 21.0),
    col("理由コード reason code", 12.0),
    col("理由 reason", 20.0),
    col("機関 institution", 30.0),
    col("サブジェクトDN subject DN", 60.0),
    col("種別 kind", 10.0),
    col("プロファイル profile", 12.0),
    col("備考 comment", 30.0),
];

fn profile_cell(p: Option<u8>) -> Cell {
    Cell::opt_id(p.map(|p| p.to_string()))
}

fn issued_cells(l: &IssuedLine, renewal: bool) -> Vec<Cell> {
    let mut v = vec![Cell::id(&l.serial)];
    if renewal {
        v.push(Cell::opt_id(l.renewed_from.as_deref()));
    }
    v.extend([
        Cell::id(&l.serial_decimal),
        Cell::text(&l.institution),
        profile_cell(l.profile),
        Cell::text(l.kind),
        Cell::text(&l.subject),
        Cell::Time(l.issued_at),
        Cell::Time(l.not_before),
        Cell::Time(l.not_after),
        Cell::text(&l.admin_mail),
        Cell::opt(l.user_mail.as_deref()),
        Cell::id(&l.ca),
    ]);
    v
}

fn revoked_cells(l: &RevokedLine) -> Vec<Cell> {
    vec![
        Cell::id(&l.serial),
        Cell::id(&l.serial_decimal),
        Cell::Time(l.revoked_at),
        Cell::id(l.reason_code.to_string()),
        Cell::text(l.reason),
        Cell::text(&l.institution),
        Cell::text(&l.subject),
        Cell::text(l.kind),
        profile_cell(l.profile),
        Cell::text(&l.comment),
    ]
}

/// The workbook; `progress(done, total)` after each row written.
pub fn workbook(
    data: &ReportData,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<u8>, XlsxError> {
    let total = data.rows();
    let mut done = 0u64;
    let mut tick = || {
        done += 1;
        progress(done, total);
    };
    let f = listing::Formats::new();
    let mut wb = Workbook::new();
    let scope = data
        .institution
        .as_deref()
        .map(|i| format!(", {i}"))
        .unwrap_or_default();
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!(
                "mailra report {} – {} (JST){scope}",
                data.from, data.to
            ))
            .set_comment(
                "Certificates issued, renewed and revoked; times are Japan Standard Time.",
            ),
    );

    let ws = wb.add_worksheet();
    ws.set_name(SUMMARY_SHEET)?;
    listing::header(ws, &SUMMARY, &f)?;
    let mut sums = (0, 0, 0);
    let mut r = 0u32;
    for l in &data.summary {
        r += 1;
        sums = (sums.0 + l.issued, sums.1 + l.renewed, sums.2 + l.revoked);
        let cells = [
            Cell::text(&l.institution),
            profile_cell(l.profile),
            Cell::text(l.kind),
            Cell::Count(l.issued),
            Cell::Count(l.renewed),
            Cell::Count(l.revoked),
        ];
        listing::row(ws, r, &cells, false, &f)?;
        tick();
    }
    listing::finish(ws, SUMMARY.len(), r)?;
    // The total under the filtered table, so a filter leaves it alone.
    let totals = [
        Cell::text(TOTAL),
        Cell::Empty,
        Cell::Empty,
        Cell::Count(sums.0),
        Cell::Count(sums.1),
        Cell::Count(sums.2),
    ];
    listing::row(ws, r + 1, &totals, true, &f)?;

    let ws = wb.add_worksheet();
    ws.set_name(ISSUED_SHEET)?;
    let rows = data.issued.iter().map(|l| issued_cells(l, false));
    listing::sheet(ws, &ISSUED, rows, &f, &mut tick)?;

    let ws = wb.add_worksheet();
    ws.set_name(RENEWED_SHEET)?;
    let mut renewed_cols = vec![ISSUED[0], RENEWED_FROM];
    renewed_cols.extend_from_slice(&ISSUED[1..]);
    let rows = data.renewed.iter().map(|l| issued_cells(l, true));
    listing::sheet(ws, &renewed_cols, rows, &f, &mut tick)?;

    let ws = wb.add_worksheet();
    ws.set_name(REVOKED_SHEET)?;
    let rows = data.revoked.iter().map(revoked_cells);
    listing::sheet(ws, &REVOKED, rows, &f, &mut tick)?;

    wb.save_to_buffer()
}
