//! The secretariat's tools (issue 11), on real instance directories: each
//! command run as the real binary (human and `--json` output) or through
//! its operation, maintenance mode with mails arriving, commands by signed
//! mail, and the report read back with calamine. One test binary, a module
//! per tool.

mod support;

#[path = "secretariat/applications.rs"]
mod applications;
#[path = "secretariat/commands.rs"]
mod commands;
#[path = "secretariat/maintenance.rs"]
mod maintenance;
#[path = "secretariat/search_report.rs"]
mod search_report;
#[path = "secretariat/status.rs"]
mod status;
