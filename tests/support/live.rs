//! Real mail servers for the live tests: a private Dovecot (IMAP + LMTP) and
//! Postfix (SMTP → LMTP) on 127.0.0.1 started by `scripts/mail-servers`, an
//! IMAP client for the test's side (APPEND, read mailboxes), and `mailra run`
//! as a real child process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;

pub const PASSWORD: &str = "test-password";
pub const ADMIN: &str = "admin@example.ac.jp";
pub const SECRETARIAT: &str = "secretariat@example.ac.jp";
/// How long a test waits for a reply to arrive.
pub const WAIT: Duration = Duration::from_secs(20);

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mail-servers")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How the servers are set up beyond the plaintext defaults.
#[derive(Default)]
pub struct Options {
    /// A test CA (`Servers::ca_file`), STARTTLS on the plain ports and
    /// implicit TLS on `imaps` / `smtps`.
    pub tls: bool,
    /// Dovecot announces exactly these capabilities after login.
    pub imap_capability: Option<&'static str>,
    /// Addresses Postfix accepts but cannot deliver: it bounces them.
    pub undeliverable: Vec<&'static str>,
}

pub struct Servers {
    pub dir: tempfile::TempDir,
    pub imap: u16,
    pub smtp: u16,
    /// Implicit-TLS ports (with `Options::tls`).
    pub imaps: u16,
    pub smtps: u16,
}

impl Servers {
    /// Starts both servers (plaintext only) with an account for each address.
    pub fn start(addresses: &[&str]) -> Servers {
        Self::start_with(&Options::default(), addresses)
    }

    pub fn start_with(opts: &Options, addresses: &[&str]) -> Servers {
        let dir = tempfile::Builder::new()
            .prefix("mailra-servers")
            .tempdir()
            .unwrap();
        let (imap, lmtp, smtp) = (free_port(), free_port(), free_port());
        let (imaps, smtps) = if opts.tls {
            (free_port(), free_port())
        } else {
            (0, 0)
        };
        let mut args = Vec::new();
        if opts.tls {
            args.extend(["--tls".to_string(), imaps.to_string(), smtps.to_string()]);
        }
        if let Some(caps) = opts.imap_capability {
            args.extend(["--imap-capability".to_string(), caps.to_string()]);
        }
        for a in &opts.undeliverable {
            args.extend(["--undeliverable".to_string(), a.to_string()]);
        }
        // Not `.output()`: the daemons would hold its pipes open forever.
        let log = dir.path().join("mail-servers.log");
        let st = Command::new(script())
            .arg("up")
            .args(args)
            .arg(dir.path())
            .args([imap.to_string(), lmtp.to_string(), smtp.to_string()])
            .arg(PASSWORD)
            .args(addresses)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("mail-servers.err")).unwrap())
            .status()
            .unwrap();
        assert!(
            st.success(),
            "mail servers did not start:\n{}",
            std::fs::read_to_string(dir.path().join("mail-servers.err")).unwrap_or_default()
        );
        Servers {
            dir,
            imap,
            smtp,
            imaps,
            smtps,
        }
    }

    /// The test CA that issued the servers' certificate (with `Options::tls`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    pub fn log(&self, server: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{server}.log"))).unwrap_or_default()
    }

    pub fn ctl(&self, what: &str) {
        let st = Command::new(script())
            .arg(what)
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "mail-servers {what} failed");
    }

    /// Waits until Postfix has handed every queued mail on (nothing in
    /// incoming/active/deferred), so stopping Dovecot cuts no LMTP delivery.
    pub fn wait_queue_empty(&self) {
        fn files(p: &Path) -> usize {
            std::fs::read_dir(p)
                .map(|d| {
                    d.flatten()
                        .map(|e| {
                            let p = e.path();
                            if p.is_dir() { files(&p) } else { 1 }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        let q = self.dir.path().join("postfix-queue");
        let deadline = Instant::now() + Duration::from_secs(60);
        while ["incoming", "active", "deferred"]
            .iter()
            .any(|d| files(&q.join(d)) > 0)
        {
            assert!(Instant::now() < deadline, "Postfix queue not empty");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn imap_url(&self, user: &str) -> String {
        format!(
            "imap://{}@127.0.0.1:{}/INBOX",
            user.replace('@', "%40"),
            self.imap
        )
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("down")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// One message as the test sees it in a mailbox.
#[derive(Debug, Clone)]
pub struct Msg {
    pub uid: u32,
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
}

impl Msg {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }
}

type Session = async_imap::Session<tokio::net::TcpStream>;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn login(port: u16, user: &str) -> Session {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut c = async_imap::Client::new(tcp);
    c.read_response().await.unwrap();
    c.login(user, PASSWORD).await.map_err(|(e, _)| e).unwrap()
}

/// APPENDs `raw` to `user`'s `mailbox`.
pub fn append(port: u16, user: &str, mailbox: &str, raw: &[u8]) {
    rt().block_on(async {
        let mut s = login(port, user).await;
        s.append(mailbox, None, None, raw).await.unwrap();
        s.logout().await.ok();
    })
}

/// Creates (or, with `delete`, first deletes) `user`'s `mailbox`.
pub fn recreate(port: u16, user: &str, mailbox: &str, delete: bool) {
    rt().block_on(async {
        let mut s = login(port, user).await;
        if delete {
            s.delete(mailbox).await.unwrap();
        }
        s.create(mailbox).await.unwrap();
        s.logout().await.ok();
    })
}

/// Moves message `uid` of `user`'s `from` to `to`, as a mail client does.
pub fn move_message(port: u16, user: &str, from: &str, uid: u32, to: &str) {
    rt().block_on(async {
        let mut s = login(port, user).await;
        s.select(from).await.unwrap();
        s.uid_mv(uid.to_string(), to).await.unwrap();
        s.logout().await.ok();
    })
}

/// Every message of `user`'s `mailbox` (empty if the mailbox does not exist).
pub fn messages(port: u16, user: &str, mailbox: &str) -> Vec<Msg> {
    rt().block_on(async {
        let mut s = login(port, user).await;
        if s.examine(mailbox).await.is_err() {
            return vec![];
        }
        let mut out = Vec::new();
        {
            let st = s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])").await;
            if let Ok(st) = st {
                let all: Vec<_> = st.try_collect().await.unwrap_or_default();
                for f in all {
                    out.push(Msg {
                        uid: f.uid.unwrap_or(0),
                        flags: f.flags().map(|fl| format!("{fl:?}")).collect(),
                        raw: f.body().unwrap_or_default().to_vec(),
                    });
                }
            }
        }
        s.logout().await.ok();
        out.sort_by_key(|m| m.uid);
        out
    })
}

/// Waits until `user`'s `mailbox` holds at least `n` messages; returns them.
pub fn wait_for(port: u16, user: &str, mailbox: &str, n: usize, within: Duration) -> Vec<Msg> {
    let deadline = Instant::now() + within;
    loop {
        let m = messages(port, user, mailbox);
        if m.len() >= n {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{user} {mailbox}: {} message(s) after {within:?}, expected {n}",
            m.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `mailra run` as a child process, its stderr kept in a file.
pub struct Robot {
    pub child: Child,
    pub log: PathBuf,
}

impl Robot {
    pub fn start(dir: &Path, envs: &[(&str, &str)]) -> Robot {
        let n = std::fs::read_dir(dir)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("run-"))
                })
                .count()
            })
            .unwrap_or(0);
        let log = dir.join(format!("run-{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_mailra"))
            .args(["run", "--dir"])
            .arg(dir)
            .env("MAILRA_LOG", "mailra=debug")
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Robot { child, log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill9(mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait; returns whether it exited successfully.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Robot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- mailra run log ({}):\n{}",
                self.log.display(),
                self.log_text()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (up to a minute) until `done` holds; panics naming `what`.
pub fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a file to appear (e.g. a fault marker).
pub fn wait_file(p: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !p.exists() {
        assert!(Instant::now() < deadline, "{} did not appear", p.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Replaces the line of `key` in `section` of the instance's mailra.toml
/// (`value` is TOML), or removes it when `value` is None.
pub fn set_key(dir: &Path, section: &str, key: &str, value: Option<&str>) {
    let p = dir.join("mailra.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut found = false;
    for line in text.lines() {
        if line.starts_with('[') {
            current = line.trim_matches(['[', ']']).to_string();
        }
        if current == section && line.split('=').next().map(str::trim) == Some(key) {
            found = true;
            if let Some(v) = value {
                out.push(format!("{key} = {v}"));
            }
            continue;
        }
        out.push(line.to_string());
    }
    assert!(found, "no {section}.{key} in {text}");
    std::fs::write(&p, out.join("\n") + "\n").unwrap();
}

/// Sets keys in a section of the instance's mailra.toml.
pub fn configure(dir: &Path, section: &str, lines: &str) {
    let p = dir.join("mailra.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    let head = format!("[{section}]\n");
    assert!(text.contains(&head), "no [{section}] in {text}");
    std::fs::write(&p, text.replacen(&head, &format!("{head}{lines}\n"), 1)).unwrap();
}
