//! One signed mail with a 99-row 5-3-1 TSV (RSA 2048 CSRs) through the whole
//! pipeline (verify → parse → validate → issue 99 → signed replies → commit),
//! against, on the same CSRs:
//!   (a) the bare cost of 99 RSA-2048 certificate signatures in-process, and
//!   (b) one `openssl ca -batch` process per CSR (the shell-scripted way).
//! Prints the figures and the ratios; targets: pipeline ≤ 2.5×(a), ≥ 5× faster
//! than (b), peak memory < 100 MB. The pipeline checks CSRs, signs
//! certificates and signs replies on every core; (a) and (b) sign on one.
//! Each pipeline run is followed by a run of (a), so both see the machine in
//! the same state; medians are compared.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mailra::ca::{self, KeyKind, KeyPair};
use mailra::config::Config;
use mailra::init::{self, InitArgs};
use mailra::kit::{self, mail::FileSpec};
use mailra::ra::{self, Env};
use mailra::store;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Builder, X509Req};
use time::OffsetDateTime;

const ROWS: usize = 99;
/// Pipeline runs per benchmark, each followed by a run of the bare
/// signatures (medians taken); `MAILRA_BENCH_RUNS=50` makes the
/// pipeline dominate a `perf record` of the whole process.
fn runs() -> usize {
    std::env::var("MAILRA_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// A CSR for `dn` and `key` that differs from every other run's: it requests
/// a subjectAltName naming the run (the robot takes the names from the form,
/// never from the CSR).
fn csr_for_run(
    dn: &mailra::model::Dn,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    run: usize,
) -> X509Req {
    let mut b = X509Req::builder().unwrap();
    b.set_subject_name(&dn.to_x509_name().unwrap()).unwrap();
    b.set_pubkey(key).unwrap();
    let san = openssl::x509::extension::SubjectAlternativeName::new()
        .dns(&format!("run{run}.bench.invalid"))
        .build(&b.x509v3_context(None))
        .unwrap();
    let mut exts = openssl::stack::Stack::new().unwrap();
    exts.push(san).unwrap();
    b.add_extensions(&exts).unwrap();
    b.sign(key, MessageDigest::sha256()).unwrap();
    b.build()
}

fn bare_signatures(ca: &KeyPair, csrs: &[X509Req]) -> Duration {
    let t = Instant::now();
    for (i, req) in csrs.iter().enumerate() {
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let serial = Asn1Integer::from_bn(&BigNum::from_u32(i as u32 + 1).unwrap()).unwrap();
        b.set_serial_number(&serial).unwrap();
        b.set_subject_name(req.subject_name()).unwrap();
        b.set_issuer_name(ca.cert.subject_name()).unwrap();
        b.set_pubkey(&req.public_key().unwrap()).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(396).unwrap())
            .unwrap();
        b.sign(&ca.key, MessageDigest::sha256()).unwrap();
        std::hint::black_box(b.build());
    }
    t.elapsed()
}

fn openssl_ca_processes(dir: &Path, ca: &KeyPair, csrs: &[X509Req]) -> Duration {
    let d = dir.join("openssl-ca");
    std::fs::create_dir_all(d.join("certs")).unwrap();
    std::fs::write(d.join("index.txt"), "").unwrap();
    std::fs::write(d.join("serial"), "1000\n").unwrap();
    std::fs::write(d.join("ca.pem"), ca.cert.to_pem().unwrap()).unwrap();
    std::fs::write(d.join("ca.key"), ca.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let cnf = format!(
        "[ca]\ndefault_ca = CA_default\n[CA_default]\ndir = {dir}\ndatabase = $dir/index.txt\nserial = $dir/serial\n\
         new_certs_dir = $dir/certs\ncertificate = $dir/ca.pem\nprivate_key = $dir/ca.key\ndefault_md = sha256\n\
         default_days = 396\npolicy = policy_any\nunique_subject = no\ncopy_extensions = copy\nx509_extensions = ext\n\
         [policy_any]\ncountryName = optional\nstateOrProvinceName = optional\nlocalityName = optional\n\
         organizationName = optional\ncommonName = supplied\n\
         [ext]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage = serverAuth,clientAuth\n",
        dir = d.display()
    );
    std::fs::write(d.join("openssl.cnf"), cnf).unwrap();
    for (i, req) in csrs.iter().enumerate() {
        std::fs::write(d.join(format!("{i}.csr")), req.to_pem().unwrap()).unwrap();
    }
    let t = Instant::now();
    for i in 0..csrs.len() {
        let st = Command::new("openssl")
            .args(["ca", "-batch", "-notext", "-config"])
            .arg(d.join("openssl.cnf"))
            .arg("-in")
            .arg(d.join(format!("{i}.csr")))
            .arg("-out")
            .arg(d.join(format!("{i}.pem")))
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "openssl ca: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
    t.elapsed()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    init::init(
        &InitArgs {
            dir: dir.path().to_path_buf(),
            robot_address: Some(kit::ROBOT.into()),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let pki_dir = dir.path().join("pki");
    let officer_ca = KeyPair::load(
        &pki_dir.join("officer-ca.pem"),
        &pki_dir.join("officer-ca.key"),
    )
    .unwrap();
    let issuing = KeyPair::load(&pki_dir.join("ca.pem"), &pki_dir.join("ca.key")).unwrap();
    let mut env = Env::open(Config::load(dir.path()).unwrap()).unwrap();
    let ex = "Example University";
    store::add_institution(
        &env.conn,
        ex,
        "Tokyo",
        "Chiyoda-ku",
        &["example.ac.jp".into()],
        now,
    )
    .unwrap();
    // Registered a month ago: the default rules hold a newly registered
    // officer's requests for review, which is not what is measured here.
    let earlier = now - time::Duration::days(30);
    store::add_officer(&env.conn, "officer@example.ac.jp", ex, earlier).unwrap();
    let officer =
        kit::pki::officer(&officer_ca, "officer@example.ac.jp", "Officer", now, 365).unwrap();

    eprintln!("generating {ROWS} RSA-2048 keys and CSRs…");
    let mut csrs = Vec::new();
    let mut hosts = Vec::new();
    for i in 0..ROWS {
        let dn = kit::forms::server_dn(
            &format!("host{i:02}.example.ac.jp"),
            ex,
            "Chiyoda-ku",
            "Tokyo",
        );
        let key = ca::new_key(KeyKind::Rsa2048).unwrap();
        csrs.push(ca::new_server_csr(&dn, &key).unwrap());
        hosts.push((dn, key));
    }
    // Each run's file carries CSRs never seen before (same keys and
    // subjects, a run-specific attribute), as an officer's new file would:
    // nothing the robot remembers of an earlier run can serve this one.
    let tsv_for_run = |run: usize| {
        let lines: Vec<String> = hosts
            .iter()
            .enumerate()
            .map(|(i, (dn, key))| {
                let req = csr_for_run(dn, key, run);
                kit::forms::issue_line(
                    dn,
                    3,
                    &kit::forms::csr_one_line(&req).unwrap(),
                    "国立　太郎",
                    &format!("admin{}@example.ac.jp", i % 10),
                    "",
                )
            })
            .collect();
        kit::forms::sjis(&lines.join("\n"))
    };

    let mut pipeline = Vec::new();
    let mut bare = Vec::new();
    let mut replies = 0;
    eprintln!("pipeline runs start");
    for run in 0..runs() {
        let files = [FileSpec {
            name: format!("server-issue-{run}.tsv"),
            data: tsv_for_run(run),
        }];
        let raw = kit::mail::application_mail(
            &officer,
            "officer@example.ac.jp",
            kit::ROBOT,
            "サーバ証明書発行申請",
            &files,
            false,
            now,
        )
        .unwrap();
        let t = Instant::now();
        let o = ra::process(&mut env, &raw, "bench", OffsetDateTime::now_utc()).unwrap();
        pipeline.push(t.elapsed());
        assert_eq!(o.issued.len(), ROWS, "{o:?}");
        replies = o.replies;
        // Side by side: the bare signatures right after each pipeline run,
        // so both see the machine in the same state.
        bare.push(bare_signatures(&issuing, &csrs));
    }
    let shell = openssl_ca_processes(dir.path(), &issuing, &csrs);

    if std::env::var_os("MAILRA_BENCH_VERBOSE").is_some() {
        for (i, (p, a)) in pipeline.iter().zip(&bare).enumerate() {
            eprintln!("run {i}: pipeline {:.1} ms, bare {:.1} ms", ms(*p), ms(*a));
        }
    }
    let mean = pipeline.iter().sum::<Duration>() / pipeline.len() as u32;
    let p = median(pipeline);
    let a = median(bare);
    println!(
        "mailra pipeline benchmark ({ROWS}-row 5-3-1 TSV, RSA 2048, median of {})",
        runs()
    );
    println!(
        "  pipeline (verify → validate → issue {ROWS} → {replies:>3} signed replies → commit): {:8.1} ms",
        ms(p)
    );
    println!(
        "      mean of every run (the first, cold, and SQLite's WAL checkpoints included): {:6.1} ms",
        ms(mean)
    );
    println!(
        "  (a) {ROWS} bare in-process certificate signatures:                        {:8.1} ms",
        ms(a)
    );
    println!(
        "  (b) {ROWS} `openssl ca -batch` processes:                                 {:8.1} ms",
        ms(shell)
    );
    println!(
        "  pipeline / (a) = {:.2}x   (target ≤ 2.5x)",
        p.as_secs_f64() / a.as_secs_f64()
    );
    println!(
        "  (b) / pipeline = {:.2}x   (target ≥ 5x)",
        shell.as_secs_f64() / p.as_secs_f64()
    );
    println!(
        "  peak RSS of the whole benchmark process: {:.1} MB (target < 100 MB)",
        peak_rss_mb()
    );
}
