//! mailra: a mail-driven registration-authority robot.
//!
//! Components follow the data flow of one mail:
//! `intake` (pure: MIME, S/MIME, TSV → typed input) → `policy` (pure decisions)
//! → `ra` (the workflow; the only layer that sequences I/O) → `ca` (signing, CRLs)
//! and `store` (SQLite) → `render` (templates) → `mail` (signing and transport).
#![forbid(unsafe_code)]

pub mod ca;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod fault;
pub mod init;
pub mod intake;
pub mod mail;
pub mod model;
pub mod pki;
pub mod policy;
pub mod ra;
pub mod render;
pub mod service;
pub mod store;
