//! The alerting state in a JetStream key-value bucket, shared by every runner of a consumer and
//! written with compare-and-set, so that no runner's update is lost.
//!
//! Keys, under `{stream}.{consumer}.`: `clock` (the [`Clock`], with the identity of the stream
//! and the rules it was folded with) and `w.{seq}.{rank}` (one [`Window`] each). A run writes its
//! windows, then commits the clock with `update` at the revision it read: the clock's revision
//! is the commit point, and a runner whose commit fails (another runner moved the clock) drops
//! its run and reads the state again. A new window is written with `create`; if an interrupted
//! attempt already wrote it, the version holding more of the stream wins (both are the same
//! fold, one further along). Closed windows are purged after the clock that closed them is
//! committed. The windows this runner read or wrote are cached while the clock stays at this
//! runner's last commit, so a lone runner reads nothing but the clock.
//! Must not: decide what the fold does (see `fold`) or touch messages (see `runner`).

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use futures_util::StreamExt;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::fold::{Clock, Window, WindowId};

/// Why a step on the state did not happen.
#[derive(Debug)]
pub enum Error {
    /// Another runner changed the state first: read it again.
    Conflict,
    /// The server did not answer as it should (a restart, a timeout): try again.
    Transient(String),
    /// Retrying cannot help.
    Fatal(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Conflict => f.write_str("another runner changed the alerting state first"),
            Error::Transient(m) | Error::Fatal(m) => f.write_str(m),
        }
    }
}

/// What the clock key holds.
#[derive(Serialize, Deserialize)]
struct Stored {
    /// The stream the sequences are of: its name and creation time.
    stream: String,
    /// The rules the windows were opened by (a fingerprint of their ids).
    rules: String,
    #[serde(flatten)]
    clock: Clock,
}

pub struct State {
    kv: kv::Store,
    prefix: String,
    stream: String,
    rules: String,
    /// Windows as this runner last read or wrote them, with their revisions (`None`: opened in
    /// the current run, not written yet).
    cache: HashMap<WindowId, Window>,
    revisions: HashMap<WindowId, u64>,
    /// The clock revision the cache is current for.
    cache_for: Option<u64>,
    /// The largest message the server takes.
    max_payload: usize,
    /// Updates of the clock, for a runner waiting for its turn.
    watch: Option<kv::Watch>,
}

impl State {
    /// `stream` names the stream and its creation (a recreated stream restarts its sequences);
    /// `rules` fingerprints the selected rules (runners sharing a consumer must run the same).
    pub fn new(
        kv: kv::Store,
        stream: &str,
        consumer: &str,
        identity: String,
        rules: String,
        max_payload: usize,
    ) -> State {
        State {
            max_payload,
            watch: None,
            kv,
            prefix: format!("{stream}.{consumer}"),
            stream: identity,
            rules,
            cache: HashMap::new(),
            revisions: HashMap::new(),
            cache_for: None,
        }
    }

    fn clock_key(&self) -> String {
        format!("{}.clock", self.prefix)
    }

    fn window_key(&self, (seq, rank): WindowId) -> String {
        format!("{}.w.{seq}.{rank}", self.prefix)
    }

    /// The clock and its revision; a new clock starts after `start` (the consumer's ack floor).
    pub async fn clock(&mut self, start: impl FnOnce() -> u64) -> Result<(Clock, u64), Error> {
        let key = self.clock_key();
        let mut start = Some(start);
        loop {
            let entry = self.kv.entry(&key).await.map_err(|e| transient("read the clock", e))?;
            match entry {
                Some(e) if e.operation == Operation::Put => {
                    let stored: Stored = serde_json::from_slice(&e.value).map_err(|err| {
                        Error::Fatal(format!("the key {key} does not hold a detect clock: {err}"))
                    })?;
                    if stored.stream != self.stream {
                        return Err(Error::Fatal(format!(
                            "the alerting state {key} was kept for another stream ({}, this one is {}): \
                             delete the key or use another --kv-bucket",
                            stored.stream, self.stream
                        )));
                    }
                    if stored.rules != self.rules {
                        return Err(Error::Fatal(format!(
                            "the alerting state {key} was kept with other rules: every runner of a consumer must \
                             run the same rules (delete the key to start the windows afresh)"
                        )));
                    }
                    if self.cache_for != Some(e.revision) {
                        self.forget();
                    }
                    return Ok((stored.clock, e.revision));
                }
                _ => {
                    let applied = start.take().map_or(0, |f| f());
                    let clock = Clock { applied, ..Clock::default() };
                    let bytes = self.stored(&clock)?;
                    match self.kv.create(&key, bytes.into()).await {
                        Ok(revision) => {
                            self.forget();
                            self.cache_for = Some(revision);
                            return Ok((clock, revision));
                        }
                        Err(e) if e.kind() == CreateErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(transient("create the clock", e)),
                    }
                }
            }
        }
    }

    fn stored(&self, clock: &Clock) -> Result<Vec<u8>, Error> {
        let stored = Stored { stream: self.stream.clone(), rules: self.rules.clone(), clock: clock.clone() };
        let bytes =
            serde_json::to_vec(&stored).map_err(|e| Error::Fatal(format!("cannot encode the clock: {e}")))?;
        if bytes.len() > self.max_payload {
            return Err(Error::Fatal(format!(
                "the clock lists {} open windows ({} bytes), more than the server's max_payload ({} bytes) \
                 takes: raise max_payload, or run fewer rules per consumer",
                clock.open.len(),
                bytes.len(),
                self.max_payload
            )));
        }
        Ok(bytes)
    }

    /// Loads the windows `ids` names (from the cache when it is current for `clock_revision`),
    /// and returns every window known, for the fold to work on. A window that does not exist is
    /// left out (the fold reports it).
    pub async fn windows(
        &mut self,
        clock_revision: u64,
        ids: &[WindowId],
    ) -> Result<&mut HashMap<WindowId, Window>, Error> {
        if self.cache_for != Some(clock_revision) {
            self.forget();
            self.cache_for = Some(clock_revision);
        }
        let missing: Vec<WindowId> = ids.iter().copied().filter(|id| !self.cache.contains_key(id)).collect();
        let reads = missing.iter().map(|&id| {
            let kv = self.kv.clone();
            let key = self.window_key(id);
            async move { (id, kv.entry(key).await) }
        });
        for (id, entry) in join_all(reads).await {
            match entry.map_err(|e| transient("read a window", e))? {
                Some(e) if e.operation == Operation::Put => {
                    let w: Window = serde_json::from_slice(&e.value).map_err(|err| {
                        Error::Fatal(format!("window {} is not readable: {err}", self.window_key(id)))
                    })?;
                    self.cache.insert(id, w);
                    self.revisions.insert(id, e.revision);
                }
                _ => {}
            }
        }
        Ok(&mut self.cache)
    }

    /// Writes the windows `ids` (changed by the fold in the cache).
    pub async fn write(&mut self, ids: &[WindowId]) -> Result<(), Error> {
        let writes = ids.iter().map(|&id| {
            let kv = self.kv.clone();
            let key = self.window_key(id);
            let window = self.cache[&id].clone();
            let revision = self.revisions.get(&id).copied();
            async move { (id, write_window(&kv, &key, window, revision).await) }
        });
        let mut outcome = Ok(());
        for (id, result) in join_all(writes).await {
            match result {
                Ok((window, revision)) => {
                    self.cache.insert(id, window);
                    self.revisions.insert(id, revision);
                }
                Err(e) => outcome = outcome.and(Err(e)),
            }
        }
        outcome
    }

    /// Commits `clock` if the clock is still at `revision`; returns the new revision.
    pub async fn commit(&mut self, clock: &Clock, revision: u64) -> Result<u64, Error> {
        let bytes = self.stored(clock)?;
        match self.kv.update(self.clock_key(), bytes.into(), revision).await {
            Ok(new) => {
                self.cache_for = Some(new);
                Ok(new)
            }
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => {
                self.forget();
                Err(Error::Conflict)
            }
            Err(e) => {
                // The commit may or may not have happened: the next read of the clock tells.
                self.forget();
                Err(transient("commit the clock", e))
            }
        }
    }

    /// Removes closed windows for good (no delete marker is left behind). Best effort: a window
    /// left over is never read again.
    pub async fn purge(&mut self, ids: &[WindowId]) {
        let purges = ids.iter().map(|&id| {
            self.cache.remove(&id);
            self.revisions.remove(&id);
            let subject = format!("{}{}", self.kv.prefix, self.window_key(id));
            let stream = self.kv.stream.clone();
            async move { stream.purge().filter(subject).await }
        });
        for result in join_all(purges.collect::<Vec<_>>()).await {
            if let Err(e) = result {
                eprintln!("detect consume: warning: cannot purge a closed window: {e}");
            }
        }
    }

    /// Waits until the clock changes (another runner committed), or `timeout` passes; says
    /// whether it changed.
    pub async fn changed(&mut self, timeout: Duration) -> bool {
        if self.watch.is_none() {
            match self.kv.watch(self.clock_key()).await {
                Ok(w) => self.watch = Some(w),
                Err(_) => {
                    tokio::time::sleep(timeout).await;
                    return false;
                }
            }
        }
        let watch = self.watch.as_mut().expect("made above");
        match tokio::time::timeout(timeout, watch.next()).await {
            Ok(Some(Ok(_))) => true,
            Err(_) => false,
            // Ended or broken (a server restart): made again next time.
            Ok(_) => {
                self.watch = None;
                false
            }
        }
    }

    /// Drops the cache: after a failed run, or when another runner moved the clock.
    pub fn forget(&mut self) {
        self.cache.clear();
        self.revisions.clear();
        self.cache_for = None;
    }
}

/// Writes one window: `update` at the revision read, or `create` for a new one. When an
/// interrupted attempt created it already, keeps whichever version holds more of the stream.
async fn write_window(
    kv: &kv::Store,
    key: &str,
    window: Window,
    revision: Option<u64>,
) -> Result<(Window, u64), Error> {
    let bytes =
        serde_json::to_vec(&window).map_err(|e| Error::Fatal(format!("cannot encode a window: {e}")))?;
    let Some(revision) = revision else {
        return match kv.create(key, bytes.clone().into()).await {
            Ok(new) => Ok((window, new)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                let entry = kv.entry(key).await.map_err(|e| transient("read a window", e))?;
                let Some(entry) = entry.filter(|e| e.operation == Operation::Put) else {
                    return Err(Error::Conflict);
                };
                let theirs: Window = serde_json::from_slice(&entry.value)
                    .map_err(|err| Error::Fatal(format!("window {key} is not readable: {err}")))?;
                if theirs.last >= window.last {
                    return Ok((theirs, entry.revision));
                }
                match kv.update(key, bytes.into(), entry.revision).await {
                    Ok(new) => Ok((window, new)),
                    Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Err(Error::Conflict),
                    Err(e) => Err(transient("write a window", e)),
                }
            }
            Err(e) => Err(transient("write a window", e)),
        };
    };
    match kv.update(key, bytes.into(), revision).await {
        Ok(new) => Ok((window, new)),
        Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Err(Error::Conflict),
        Err(e) => Err(transient("write a window", e)),
    }
}

fn transient(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Transient(format!("cannot {what}: {e}"))
}
