//! What `detect consume` publishes: alert, signal and match records (exactly the lines
//! `detect scan` writes, one record a message) and dead letters, each with a deterministic
//! `Nats-Msg-Id`, so that publishing it again after a crash adds nothing to a stream within the
//! stream's duplicate window. Every publish waits for the stream's acknowledgement.
//!
//! Ids: `alert:{rule}:{dedup hash}:{window start}:{seq}.{rank}` (the dedup string as a 64-bit
//! FNV-1a hash, the window start in epoch milliseconds, and the stream sequence and rank of the
//! match that opened the window: two windows of one rule and dedup string can start at the same
//! time when events come late), `match:{stream}:{seq}:{rule}`, `dead:{stream}:{seq}`.
//! Must not: decide what is published when (see `runner`).

use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use futures_util::future::join_all;

use detections::Alert;

use crate::output;

/// The dead-letter headers: why, and where the message was.
pub const REASON: &str = "Detect-Reason";
pub const STREAM: &str = "Detect-Stream";
pub const SEQUENCE: &str = "Detect-Sequence";
pub const SUBJECT: &str = "Detect-Subject";

/// One message to publish.
pub struct Outgoing {
    pub subject: String,
    pub id: String,
    pub headers: Vec<(&'static str, String)>,
    pub payload: Vec<u8>,
}

/// An alert or signal record.
pub fn alert(subject: &str, a: &Alert, start: i64, (seq, rank): (u64, u32)) -> Outgoing {
    Outgoing {
        subject: subject.to_string(),
        id: format!("alert:{}:{:016x}:{start}:{seq}.{rank}", a.rule.meta.id, fnv1a(a.dedup.as_bytes())),
        headers: Vec::new(),
        payload: output::alert(a).to_string().into_bytes(),
    }
}

/// A match record (`--matches`): the stream's name as its source, the sequence as its line.
pub fn matched(subject: &str, stream: &str, seq: u64, m: &detections::Match) -> Outgoing {
    Outgoing {
        subject: subject.to_string(),
        id: format!("match:{stream}:{seq}:{}", m.rule.meta.id),
        headers: Vec::new(),
        payload: output::matched(stream, seq, m).to_string().into_bytes(),
    }
}

/// A message that could not be evaluated, as it came, with the reason in a header.
pub fn dead_letter(
    subject: &str,
    stream: &str,
    seq: u64,
    from: &str,
    reason: &str,
    payload: &[u8],
) -> Outgoing {
    // Header values are one line.
    let reason: String = reason.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    Outgoing {
        subject: subject.to_string(),
        id: format!("dead:{stream}:{seq}"),
        headers: vec![
            (REASON, reason),
            (STREAM, stream.to_string()),
            (SEQUENCE, seq.to_string()),
            (SUBJECT, from.to_string()),
        ],
        payload: payload.to_vec(),
    }
}

/// What publishing did.
#[derive(Default, Clone, Copy)]
pub struct Published {
    pub messages: u64,
    /// Already in the stream (published before a crash): the server dropped them.
    pub duplicates: u64,
}

/// Publishes every message and waits for every acknowledgement; an error if any is missing.
pub async fn publish(js: &Context, messages: Vec<Outgoing>) -> Result<Published, String> {
    let mut done = Published::default();
    let mut messages = messages.into_iter().peekable();
    // In chunks: an acknowledgement not awaited holds one of the client's in-flight permits.
    while messages.peek().is_some() {
        let mut acks = Vec::new();
        for m in messages.by_ref().take(1000) {
            let mut p = PublishMessage::build().payload(m.payload.into()).message_id(&m.id);
            for (name, value) in m.headers {
                p = p.header(name, value.as_str());
            }
            let subject = m.subject;
            let ack = js.send_publish(subject.clone(), p).await.map_err(|e| describe(&subject, &e))?;
            acks.push((subject, ack.into_future()));
        }
        let (subjects, futures): (Vec<String>, Vec<_>) = acks.into_iter().unzip();
        for (subject, ack) in subjects.iter().zip(join_all(futures).await) {
            let ack = ack.map_err(|e| describe(subject, &e))?;
            done.messages += 1;
            done.duplicates += u64::from(ack.duplicate);
        }
    }
    Ok(done)
}

fn describe(subject: &str, e: &async_nats::jetstream::context::PublishError) -> String {
    if e.kind() == PublishErrorKind::StreamNotFound {
        format!("no stream captures the subject {subject}")
    } else {
        format!("cannot publish to {subject}: {e}")
    }
}

/// FNV-1a, 64 bits: a short, stable name for a dedup string.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn dead_letter_reasons_are_one_line() {
        let d = dead_letter("dead", "EVENTS", 7, "events.x", "bad\nthing\r", b"{");
        assert_eq!(d.headers[0], (REASON, "bad thing ".to_string()));
        assert_eq!(d.id, "dead:EVENTS:7");
    }
}
