//! mailra: a mail-driven registration-authority robot.
//!
//! Officers of member institutions send S/MIME-signed mails carrying
//! application files; mailra verifies them, checks every row, has its CA
//! issue or revoke, answers with signed notices and files every mail.
//!
//! # Layout
//!
//! Data flows one way, from the top of this list to the bottom; a module
//! imports only modules below it (never one above, and no circle):
//!
//! - `main.rs`, [`cli`]: the command line, a file per command group; it only
//!   parses arguments, calls the layers below and prints.
//! - [`demo`], [`init`]: `mailra demo` and `mailra init` (instance set-up).
//! - [`kit`]: the test kit — the officers' PKI, the application mails and
//!   the form lines the demo, the tests and the benches build alike (it
//!   uses `ca`, `mail` and `model` only).
//! - [`service`]: the robot as a daemon — the IMAP and Maildir intake loops
//!   and the outbox sender; decides *when* things run.
//! - [`ops`]: the secretariat's operations behind the CLI and the commands
//!   by signed mail alike (registry, applications and review, audit,
//!   certificates and their search, export and report, status, maintenance,
//!   outbox), returning typed values the CLI prints and a mail transcript
//!   quotes; `ops::commands` reads a secretariat's command mail and is what
//!   `ra` calls back through its `Commands` trait.
//! - [`ra`]: the workflow of one mail (verify → authorise → extract → check →
//!   decide → execute in one transaction → answer): the only layer that
//!   sequences I/O on the store, the CA and the outbox. Right after
//!   screening, a secretariat's command mail is taken over (`ra::command`)
//!   and, during maintenance, any other mail is kept (`ra::maintenance`).
//! - [`config`]: `mailra.toml`, read raw then checked with every error at once.
//! - [`mail`]: transports only — IMAP session and filing primitives, SMTP
//!   send, Maildir, composing and S/MIME-signing replies.
//! - [`ca`]: the embedded CA, one certificate builder per profile, CRLs; it
//!   re-checks policy before it signs.
//! - [`store`]: SQLite, the only place with SQL; a file per table group, statuses as enums.
//! - [`policy`]: pure decisions — the form rules per family, DN rules, weak
//!   and reused keys, the filing rules.
//! - [`render`]: reply texts from `templates/` and the view models (wording
//!   in Japanese and English); the workbooks mailra writes (blank forms, and
//!   the annotated copy of a file with errors the officer's result carries).
//! - [`intake`]: pure parsers, bytes → records: MIME, S/MIME verification,
//!   application files (which files are, and their records), TSV, a
//!   workbook's application sheet (`intake::sheet`), the registry import file.
//! - [`model`], [`clock`], [`fault`]: leaves — the domain types shared by
//!   every layer, where "now" comes from, test-only fault points.
//!
//! # Errors
//!
//! Two kinds, kept apart on every path:
//!
//! - a **rejection** is told to the officer: a failed S/MIME check
//!   (`intake::smime::Check`), a signer who is no officer or a refused review
//!   (`ra`'s `Rejection`), or a row error ([`model::RowError`]: line, field,
//!   rule; for a workbook, the sheet, so it reads `Sheet1!G7`). The pure layers (`intake`, `policy`) only ever produce these, each
//!   parser with its own enum of causes (`TsvError`, `MimeError`, `CsrError`,
//!   `DnError`, `WeakKey`, …) rendered into the rule the officer reads;
//! - an **internal error** is told to the operator and the mail is processed
//!   again later: one enum per layer that does I/O — [`store::StoreError`],
//!   [`ca::CaError`], [`mail::MailError`], [`render::RenderError`],
//!   [`ra::RaError`], [`service::ServiceError`], [`ops::OpsError`] (which
//!   sorts the user's mistakes from mailra's), [`config::ConfigError`].
//!
//! The line between them is typed where the pure layers meet the store:
//! `policy` sees issued certificates through [`model::CertLookup`], whose
//! methods answer a [`model::LookupError`] when they cannot tell, and a
//! check that meets one returns it instead of a verdict
//! (`policy::forms::check` gives `Result<Checked, LookupError>` for every
//! form family). `ra` turns it into its internal error, so a store failure
//! met while checking rows (a query, a damaged stored value) stops the mail
//! and never reads as "no such certificate", "the DN differs" or a key that
//! seems free.
#![forbid(unsafe_code)]

pub mod ca;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod fault;
pub mod init;
pub mod intake;
pub mod kit;
pub mod mail;
pub mod model;
pub mod ops;
pub mod policy;
pub mod ra;
pub mod render;
pub mod service;
pub mod store;
