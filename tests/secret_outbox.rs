//! Replies carrying a key or PINs, delivered by the embedded file transport:
//! the `.eml` handed on is whole (and, encrypted, only for the officer); the
//! row left in the database is a stub, and the database file holds no PIN.

mod support;

use mailra::kit;
use mailra::mail::compose::{self, Composed, Reply};
use mailra::store;
use support::*;

const PIN: &str = "kq7WzX4mRt9vPh2JcN8aYeBd";
const ORDINARY: &str = "an-ordinary-reply-Zx81Qw";

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn reply(body: String) -> Reply {
    Reply {
        from: kit::ROBOT.into(),
        to: vec![O1.into()],
        cc: vec![],
        subject: "アクセスPIN発行通知 / Access PIN (taro)".into(),
        body,
        attachments: vec![],
        in_reply_to: None,
        tags: vec![],
    }
}

#[test]
fn a_secret_reply_written_to_the_outbox_folder_leaves_a_stub_in_the_store() {
    let f = Fixture::new();
    let pin_reply = reply(format!("Access PIN: {PIN}\n"));
    let encrypted = compose::compose_encrypted(
        &pin_reply,
        &f.env.signer,
        now(),
        std::slice::from_ref(&f.o1.cert),
    )
    .unwrap();
    let plain = compose::compose(&pin_reply, &f.env.signer, now()).unwrap();
    let ordinary = compose::compose(&reply(ORDINARY.into()), &f.env.signer, now()).unwrap();
    let rcpt = vec![O1.to_string()];
    let queue = |c: &Composed, secret: bool| {
        let r = store::NewReply {
            mail_id: None,
            message_id: &c.message_id,
            from: kit::ROBOT,
            recipients: &rcpt,
            kind: "client_pin",
            subject: "アクセスPIN発行通知 / Access PIN (taro)",
            raw: &c.raw,
        };
        if secret {
            store::enqueue_secret(&f.env.conn, &r, now()).unwrap()
        } else {
            store::enqueue(&f.env.conn, &r, now()).unwrap()
        }
    };
    let on_disk = || {
        store::scrub(&f.env.conn).unwrap();
        let mut bytes = std::fs::read(&f.env.cfg.database).unwrap();
        let mut wal = f.env.cfg.database.clone().into_os_string();
        wal.push("-wal");
        if let Ok(w) = std::fs::read(wal) {
            bytes.extend(w);
        }
        bytes
    };
    let ids = [
        queue(&encrypted, true),
        queue(&plain, true),
        queue(&ordinary, false),
    ];
    // The search finds the PIN while the replies wait (the test can fail).
    assert!(has(&on_disk(), PIN.as_bytes()));

    assert_eq!(f.env.deliver_local(now()).unwrap(), 3);

    let rows = store::outbox_rows(&f.env.conn, None).unwrap();
    assert!(rows.iter().all(|r| r.status == store::OutboxStatus::Sent));
    let raw_of = |id: i64| -> Vec<u8> { store::outbox_raw(&f.env.conn, id).unwrap().unwrap() };
    for (id, c) in [(ids[0], &encrypted), (ids[1], &plain)] {
        let stub = store::wiped_stub(&raw_of(id)).unwrap();
        assert_eq!(stub.message_id, c.message_id);
        assert_eq!(stub.size, c.raw.len());
        assert_eq!(stub.recipients, rcpt);
    }
    assert_eq!(raw_of(ids[2]), ordinary.raw);

    let bytes = on_disk();
    assert!(
        !has(&bytes, PIN.as_bytes()),
        "a PIN is left in the database"
    );
    assert!(!has(&bytes, &encrypted.raw[encrypted.raw.len() - 200..]));
    assert!(has(&bytes, ORDINARY.as_bytes()));

    // The files handed on are the whole mails.
    let emls: Vec<Vec<u8>> = std::fs::read_dir(&f.env.cfg.outbox)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(emls.len(), 3);
    assert!(emls.iter().any(|e| {
        has(e, encrypted.message_id.as_bytes()) && has(e, b"smime-type=enveloped-data")
    }));
    assert!(emls.iter().any(|e| has(e, PIN.as_bytes())));
}
