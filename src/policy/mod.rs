//! Pure decisions on application rows, from rules and registry data.

pub mod dn;
pub mod server;
