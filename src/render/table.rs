//! Tables for people on a terminal (the CLI's lists, the demo's verdicts):
//! columns padded by comfy-table, a rule under the header and no other
//! borders, and no blank before the first column, so every line stays
//! greppable (`grep '^01-issue'`).

use comfy_table::{LineStyle, Table, TableStyle};

const STYLE: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('-'));

/// An empty table with these column headers.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(STYLE);
    t.set_header(header.to_vec());
    // Lines start with the first column's value, not a blank.
    for c in t.column_iter_mut() {
        c.set_padding((0, 1));
    }
    t
}

/// The table as text, without trailing blanks.
pub fn text(t: &Table) -> String {
    t.trim_fmt()
}
