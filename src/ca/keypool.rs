//! The warm key pool: RSA-2048 keys generated ahead of need, while the robot
//! is idle, so that a bulk client issuance does not wait ~250 ms per key.
//!
//! - Bounded ([`KeyPool::new`] capacity, `mailra.toml` `[ca] key_pool`; 0
//!   turns it off) and **in memory only**: no key is ever written anywhere;
//!   a restart starts empty and the pool fills again. Each key is handed out
//!   once ([`KeyPool::take`] removes it).
//! - One background thread fills it, one key at a time, and stops when the
//!   pool is full; it runs at the lowest CPU priority the system grants
//!   without privileges (best effort: `renice 19` on the thread), and it
//!   **pauses** while a [`KeyPool::take`] (or a [`KeyPool::hold`]) generates
//!   keys of its own on every core, so the two never fight for the cores
//!   (at most the key in progress is finished, < 1 s).
//! - Shutdown: the thread is detached, so it never holds the process open;
//!   dropping the pool stops it after the key in progress and frees the keys.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use openssl::pkey::{PKey, Private};

use super::CaError;
use super::keys::{KeyKind, generate_rsa2048, new_key};

/// A bounded pool of pre-generated RSA-2048 keys with its filler thread.
pub struct KeyPool {
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    keys: Vec<PKey<Private>>,
    /// Takes and holds in progress: the filler waits while there are any.
    busy: usize,
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only a Vec behind: go on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for KeyPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPool")
            .field("capacity", &self.shared.capacity)
            .field("level", &self.level())
            .finish()
    }
}

/// Pauses the pool's filler while it lives ([`KeyPool::hold`]).
#[must_use = "the filler resumes as soon as the hold is dropped"]
pub struct Hold<'a> {
    shared: &'a Shared,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.shared.lock().busy -= 1;
        self.shared.wake.notify_all();
    }
}

impl KeyPool {
    /// A pool of up to `capacity` keys; its filler starts at once. With 0
    /// there is no pool and no thread: [`KeyPool::take`] generates every key.
    pub fn new(capacity: usize) -> KeyPool {
        let shared = Arc::new(Shared {
            capacity,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        if capacity > 0 {
            let s = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name("mailra-keypool".into())
                .spawn(move || fill(&s));
            if let Err(e) = spawned {
                tracing::warn!(
                    "key pool: cannot start its thread ({e}); keys are generated on demand"
                );
            }
        }
        KeyPool { shared }
    }

    /// How many keys the pool may hold.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// How many keys the pool holds now.
    pub fn level(&self) -> usize {
        self.shared.lock().keys.len()
    }

    /// `n` keys, each never handed out before: pooled keys first, the rest
    /// generated now on every core while the filler waits.
    pub fn take(&self, n: usize) -> Result<Vec<PKey<Private>>, CaError> {
        let mut out = {
            let mut st = self.shared.lock();
            let from = st.keys.len() - n.min(st.keys.len());
            st.keys.split_off(from)
        };
        if out.len() < n {
            let _hold = self.hold();
            out.extend(generate_rsa2048(n - out.len())?);
        } else {
            // Room again: wake the filler.
            self.shared.wake.notify_all();
        }
        Ok(out)
    }

    /// Pauses the filler until the returned guard is dropped: for a caller
    /// that takes keys in several batches during one big issuance.
    pub fn hold(&self) -> Hold<'_> {
        self.shared.lock().busy += 1;
        Hold {
            shared: &self.shared,
        }
    }
}

impl Drop for KeyPool {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.stopped = true;
        st.keys.clear();
        drop(st);
        self.shared.wake.notify_all();
    }
}

/// The filler thread: one key at a time while there is room and nobody is
/// generating; sleeps on the condition variable otherwise.
fn fill(shared: &Shared) {
    lower_priority();
    loop {
        {
            let mut st = shared.lock();
            while !st.stopped && (st.busy > 0 || st.keys.len() >= shared.capacity) {
                st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.stopped {
                return;
            }
        }
        match new_key(KeyKind::Rsa2048) {
            Ok(key) => {
                let mut st = shared.lock();
                if st.stopped {
                    return;
                }
                if st.keys.len() < shared.capacity {
                    st.keys.push(key);
                }
            }
            Err(e) => {
                tracing::warn!("key pool: key generation failed ({e}); retrying in a minute");
                let st = shared.lock();
                let _ = shared
                    .wake
                    .wait_timeout(st, std::time::Duration::from_secs(60));
            }
        }
    }
}

/// Best effort, Linux: the calling thread to nice 19 (`renice` on its
/// thread id; `#![forbid(unsafe_code)]` rules out calling setpriority).
fn lower_priority() {
    let Ok(link) = std::fs::read_link("/proc/thread-self") else {
        return;
    };
    let Some(tid) = link.file_name().and_then(|t| t.to_str()) else {
        return;
    };
    let _ = std::process::Command::new("renice")
        .args(["-n", "19", "-p", tid])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_for_level(pool: &KeyPool, level: usize) {
        let start = Instant::now();
        while pool.level() < level {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "pool stuck at {} of {level}",
                pool.level()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn modulus(k: &PKey<Private>) -> Vec<u8> {
        k.rsa().unwrap().n().to_vec()
    }

    fn assert_distinct(keys: &[PKey<Private>]) {
        let mut m: Vec<_> = keys.iter().map(modulus).collect();
        m.sort();
        m.dedup();
        assert_eq!(m.len(), keys.len(), "a key was handed out twice");
    }

    #[test]
    fn zero_capacity_is_off_and_still_hands_out_keys() {
        let pool = KeyPool::new(0);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(pool.level(), 0);
        let keys = pool.take(2).unwrap();
        assert_eq!(keys.len(), 2);
        assert_distinct(&keys);
        assert_eq!(pool.level(), 0);
    }

    #[test]
    fn the_pool_fills_to_its_capacity_and_no_further() {
        let pool = KeyPool::new(2);
        wait_for_level(&pool, 2);
        // Time for a few more keys, were the filler not stopped.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(pool.level(), 2);
        assert_eq!(pool.capacity(), 2);
    }

    #[test]
    fn taking_more_than_the_pool_holds_gives_distinct_keys_each_once() {
        let pool = KeyPool::new(2);
        wait_for_level(&pool, 2);
        let pooled: Vec<Vec<u8>> = pool.shared.lock().keys.iter().map(modulus).collect();
        let mut keys = pool.take(4).unwrap();
        assert_eq!(keys.len(), 4);
        // The pooled keys came first, and left the pool.
        for m in &pooled {
            assert!(keys.iter().any(|k| &modulus(k) == m));
        }
        // The pool refills with new keys, never the ones handed out.
        wait_for_level(&pool, 2);
        keys.extend(pool.take(2).unwrap());
        assert_distinct(&keys);
        for k in &keys {
            assert_eq!(k.rsa().unwrap().n().num_bits(), 2048);
        }
    }

    #[test]
    fn a_hold_pauses_the_filler() {
        let pool = KeyPool::new(50);
        let hold = pool.hold();
        // At most the key in progress when the hold began is added.
        std::thread::sleep(Duration::from_millis(2500));
        let held_level = pool.level();
        assert!(held_level <= 1, "filled {held_level} keys while held");
        drop(hold);
        wait_for_level(&pool, held_level + 2);
    }
}
