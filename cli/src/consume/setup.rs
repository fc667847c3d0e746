//! Connecting, and making what `detect consume` needs when it is missing: the input stream, the
//! durable pull consumer that runners share, a stream for the output and dead-letter subjects,
//! and the key-value bucket of the alerting state. Existing ones are used as they are.
//! Must not: read messages (see `runner`).

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::context::{Context, GetStreamErrorKind};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use async_nats::jetstream::{self, ErrorCode, kv};

use super::Options;

/// A connection and everything made or found.
pub struct Setup {
    pub js: Context,
    pub stream: stream::Stream,
    pub consumer: PullConsumer,
    /// The alerting state (none with `--matches`).
    pub kv: Option<kv::Store>,
    /// The stream's name and creation time: sequences mean nothing in a recreated stream.
    pub identity: String,
    /// The subjects the consumer reads, for finding messages between two sequences.
    pub filter: String,
    pub ack_wait: Duration,
}

pub async fn setup(o: &Options) -> Result<Setup, String> {
    for (what, name) in [("--stream", &o.stream), ("--consumer", &o.consumer)] {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("{what} `{name}`: use letters, digits, `-` and `_`"));
        }
    }
    // Plain TCP only: `nats://host:port` or `host:port` (the client is built without TLS).
    let plain = |url: &str| !url.contains("://") || url.trim().starts_with("nats://");
    if !o.server.split(',').all(plain) {
        return Err(format!(
            "--server {}: only nats:// (plain TCP) is supported: this build has no TLS",
            o.server
        ));
    }
    let client = async_nats::ConnectOptions::new()
        .name("detect consume")
        .connection_timeout(Duration::from_secs(5))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Disconnected | async_nats::Event::Connected => {
                    eprintln!("detect consume: {event}");
                }
                _ => {}
            }
        })
        .connect(&o.server)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", o.server))?;
    let js = jetstream::new(client);

    let mut stream = match js.get_stream(&o.stream).await {
        Ok(s) => s,
        Err(e) if is_not_found(&e) => {
            let config = stream::Config {
                name: o.stream.clone(),
                subjects: o.subjects.clone(),
                storage: StorageType::File,
                ..Default::default()
            };
            js.get_or_create_stream(config)
                .await
                .map_err(|e| format!("cannot create the stream {}: {e}", o.stream))?
        }
        Err(e) => return Err(format!("cannot read the stream {}: {e}", o.stream)),
    };
    let info = stream.info().await.map_err(|e| format!("cannot read the stream {}: {e}", o.stream))?;
    let identity = format!("{}@{}", o.stream, info.created.unix_timestamp_nanos());

    let config = pull::Config {
        durable_name: Some(o.consumer.clone()),
        ack_policy: AckPolicy::Explicit,
        ack_wait: o.ack_wait,
        max_deliver: -1,
        filter_subject: o.filter.clone().unwrap_or_default(),
        max_ack_pending: o.max_ack_pending,
        max_waiting: 1,
        ..Default::default()
    };
    let mut consumer: PullConsumer = stream
        .get_or_create_consumer(&o.consumer, config)
        .await
        .map_err(|e| format!("cannot create the consumer {}: {e}", o.consumer))?;
    let cinfo = consumer.info().await.map_err(|e| format!("cannot read the consumer {}: {e}", o.consumer))?;
    let existing = cinfo.config.filter_subject.clone();
    if let Some(filter) = &o.filter
        && *filter != existing
    {
        return Err(format!(
            "the consumer {} exists with the filter `{existing}`, not `{filter}`: use another --consumer",
            o.consumer
        ));
    }
    let ack_wait = cinfo.config.ack_wait;
    let filter = if existing.is_empty() { ">".to_string() } else { existing };

    let mut uncaptured = Vec::new();
    for subject in [&o.output_subject, &o.dead_letter_subject] {
        if js.stream_by_subject(subject.as_str()).await.is_err() && !uncaptured.contains(subject) {
            uncaptured.push(subject.clone());
        }
    }
    if !uncaptured.is_empty() {
        let config = stream::Config {
            name: o.output_stream.clone(),
            subjects: uncaptured.clone(),
            storage: StorageType::File,
            duplicate_window: o.duplicate_window,
            ..Default::default()
        };
        if let Err(e) = js.create_stream(config).await {
            // Another runner starting at the same time may have made it.
            let mut still = Vec::new();
            for subject in &uncaptured {
                if js.stream_by_subject(subject.as_str()).await.is_err() {
                    still.push(subject.as_str());
                }
            }
            if !still.is_empty() {
                return Err(format!(
                    "no stream captures {} and the stream {} cannot be made for it: {e}",
                    still.join(", "),
                    o.output_stream
                ));
            }
        }
    }

    let kv = if o.matches {
        None
    } else {
        Some(match js.get_key_value(&o.kv_bucket).await {
            Ok(kv) => kv,
            Err(_) => {
                // The bucket's stream as `create_key_value` makes it (which reads account
                // details that servers before 2.10 do not give).
                let config = stream::Config {
                    name: format!("KV_{}", o.kv_bucket),
                    description: Some("detect consume: alerting windows".into()),
                    subjects: vec![format!("$KV.{}.>", o.kv_bucket)],
                    max_messages_per_subject: 1,
                    max_bytes: -1,
                    max_message_size: -1,
                    storage: StorageType::File,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    discard: DiscardPolicy::New,
                    num_replicas: 1,
                    ..Default::default()
                };
                let made = format!("cannot create the key-value bucket {}", o.kv_bucket);
                js.get_or_create_stream(config).await.map_err(|e| format!("{made}: {e}"))?;
                js.get_key_value(&o.kv_bucket).await.map_err(|e| format!("{made}: {e}"))?
            }
        })
    };
    Ok(Setup { js, stream, consumer, kv, identity, filter, ack_wait })
}

fn is_not_found(e: &async_nats::jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), GetStreamErrorKind::JetStream(err) if err.error_code() == ErrorCode::STREAM_NOT_FOUND)
}
