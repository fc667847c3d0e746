//! Alerting: matches grouped into alerts by rule and dedup string within the rule's dedup
//! window, on event time, with `Threshold` (rule-format.md §4.4).
//!
//! Owns the window state. A window opens at its first match and lasts `DedupPeriodMinutes`;
//! later matches of the same rule and dedup string inside it join it (a late match with an
//! earlier time joins too). A window closes once an event time at or past its end has been
//! seen, or at [`Alerter::flush`]; it is reported then, with its final match count, if it holds
//! at least `Threshold` matches. Matches of `CreateAlert: false` rules are grouped the same way
//! and reported as signals. State is bounded: closed windows are dropped. A window keeps the
//! outputs of its first match and its first event, as text (copied once, parsed only when the
//! alert is written) or as the `serde_json::Value` it was given; a further match costs a lookup
//! by the borrowed dedup string and no allocation.
//! Must not: evaluate rules (see `engine`) or decide output formats.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::hash_map::Entry;

use foldhash::HashMap;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::engine::Match;
use crate::rule::{Context, Rule, Severity};
use crate::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Alert,
    /// From a rule with `CreateAlert: false`: recorded, not alerted on.
    Signal,
}

/// The first matching event of a window: its text as read (copied once, when the window
/// opened), parsed only when the alert is written; or an event given already parsed.
#[derive(Clone, Debug)]
pub enum FirstEvent {
    /// Validated JSON text of one object.
    Text(Box<str>),
    Value(Value),
}

impl FirstEvent {
    /// The event as a `serde_json::Value` (parsed now, from text).
    pub fn to_value(&self) -> Cow<'_, Value> {
        match self {
            FirstEvent::Text(text) => Cow::Owned(serde_json::from_str(text).expect("validated JSON")),
            FirstEvent::Value(value) => Cow::Borrowed(value),
        }
    }
}

impl From<Value> for FirstEvent {
    fn from(value: Value) -> FirstEvent {
        FirstEvent::Value(value)
    }
}

/// Equal when the events are, however they are held.
impl PartialEq for FirstEvent {
    fn eq(&self, other: &FirstEvent) -> bool {
        match (self, other) {
            (FirstEvent::Text(a), FirstEvent::Text(b)) if a == b => true,
            _ => self.to_value() == other.to_value(),
        }
    }
}

/// As the parsed event serialises: the text as is when it is already in that form (compact,
/// `serde_json`'s escapes, numbers in its forms, no repeated key: `serde_form`), else through a
/// parsed `Value`.
impl Serialize for FirstEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FirstEvent::Text(text) if crate::serde_form::is_serde_form(text) => {
                let raw: &serde_json::value::RawValue =
                    serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
                raw.serialize(serializer)
            }
            _ => self.to_value().serialize(serializer),
        }
    }
}

/// A closed window that reached its rule's threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub rule: &'static Rule,
    pub kind: Kind,
    /// Of the first match.
    pub severity: Severity,
    /// Of the first match.
    pub title: String,
    pub dedup: String,
    /// Of the first match.
    pub context: Context,
    pub log_type: String,
    pub match_count: u64,
    pub first_event_time: Option<Millis>,
    pub last_event_time: Option<Millis>,
    pub first_event: FirstEvent,
}

/// The alerting state for one stream of events.
#[derive(Default)]
pub struct Alerter {
    /// Open windows, as the alert each will become, by rule and dedup string (two levels, so
    /// that a match finds its window by the borrowed dedup string). The alert's own `dedup` is
    /// left empty while it is open: the key holds it.
    windows: HashMap<&'static str, HashMap<String, Alert>>,
    /// Open windows by (end, creation order): which close first.
    closing: BTreeMap<(Millis, u64), (&'static str, String)>,
    /// The latest event time seen.
    watermark: Option<Millis>,
    seq: u64,
    open: usize,
}

impl Alerter {
    pub fn new() -> Alerter {
        Alerter::default()
    }

    /// Records a match of an event that happened at `time` (`None`: at the latest time seen).
    /// Returns the windows this event's time closed, in the order they ended.
    pub fn observe(&mut self, m: &Match, time: Option<Millis>, event: &Value, log_type: &str) -> Vec<Alert> {
        self.observe_with(Cow::Borrowed(m), time, log_type, |_| FirstEvent::Value(event.clone()))
    }

    /// [`Alerter::observe`] for an event held as its text (validated JSON, as the engine read
    /// it): a match that joins an open window costs no allocation; one that opens a window
    /// keeps its outputs and a copy of the text.
    pub fn observe_text(
        &mut self,
        m: Match,
        time: Option<Millis>,
        event: &str,
        log_type: &str,
    ) -> Vec<Alert> {
        self.observe_owned(m, time, log_type, || FirstEvent::Text(event.into()))
    }

    /// [`Alerter::observe`] taking the match, and the event only if the match opens a window
    /// (`first_event` is called then, and only then).
    pub fn observe_owned(
        &mut self,
        m: Match,
        time: Option<Millis>,
        log_type: &str,
        first_event: impl FnOnce() -> FirstEvent,
    ) -> Vec<Alert> {
        self.observe_with(Cow::Owned(m), time, log_type, |_| first_event())
    }

    /// [`Alerter::observe_owned`] for a match that may carry only its dedup string: `open` is
    /// called when (and only when) the match opens a window, and may complete the match's
    /// other outputs before the window keeps them (the dedup string it was observed with stays
    /// the window's key). Most matches join an open window, whose outputs are its first match's:
    /// theirs need not be computed.
    pub fn observe_opening(
        &mut self,
        m: Match,
        time: Option<Millis>,
        log_type: &str,
        open: impl FnOnce(&mut Match) -> FirstEvent,
    ) -> Vec<Alert> {
        self.observe_with(Cow::Owned(m), time, log_type, open)
    }

    fn observe_with(
        &mut self,
        m: Cow<'_, Match>,
        time: Option<Millis>,
        log_type: &str,
        open: impl FnOnce(&mut Match) -> FirstEvent,
    ) -> Vec<Alert> {
        let time = time.or(self.watermark);
        let closed = match time {
            Some(t) if self.watermark.is_none_or(|w| t > w) => {
                self.watermark = Some(t);
                self.close_until(t)
            }
            _ => Vec::new(),
        };
        let id = m.rule.meta.id;
        let windows = self.windows.entry(id).or_default();
        // An owned dedup string finds or keys the window in one lookup; a borrowed one is
        // looked up first, so that joining a window copies nothing.
        let (mut m, entry) = match m {
            Cow::Owned(mut m) => {
                let dedup = std::mem::take(&mut m.outputs.dedup);
                (m, windows.entry(dedup))
            }
            Cow::Borrowed(m) => match windows.get_mut(m.outputs.dedup.as_str()) {
                Some(a) => {
                    a.join(time);
                    return closed;
                }
                None => {
                    let mut m = m.clone();
                    let dedup = std::mem::take(&mut m.outputs.dedup);
                    (m, windows.entry(dedup))
                }
            },
        };
        let entry = match entry {
            Entry::Occupied(window) => {
                window.into_mut().join(time);
                return closed;
            }
            Entry::Vacant(entry) => entry,
        };
        let period = Millis::from(m.rule.meta.dedup_period_minutes) * 60_000;
        let end = time.unwrap_or(0).saturating_add(period);
        self.seq += 1;
        self.open += 1;
        let first_event = open(&mut m);
        self.closing.insert((end, self.seq), (id, entry.key().clone()));
        entry.insert(Alert {
            rule: m.rule,
            kind: if m.rule.meta.create_alert { Kind::Alert } else { Kind::Signal },
            severity: m.outputs.severity,
            title: m.outputs.title,
            dedup: String::new(),
            context: m.outputs.context,
            log_type: log_type.to_string(),
            match_count: 1,
            first_event_time: time,
            last_event_time: time,
            first_event,
        });
        closed
    }

    /// Closes every window: the end of the stream.
    pub fn flush(&mut self) -> Vec<Alert> {
        self.close_until(Millis::MAX)
    }

    /// How many windows are open.
    pub fn open_windows(&self) -> usize {
        self.open
    }

    fn close_until(&mut self, time: Millis) -> Vec<Alert> {
        let mut alerts = Vec::new();
        while let Some(entry) = self.closing.first_entry() {
            let (end, _) = *entry.key();
            if end > time {
                break;
            }
            let (id, dedup) = entry.remove();
            let Some(windows) = self.windows.get_mut(id) else { continue };
            let Some((_, mut alert)) = windows.remove_entry(&dedup) else { continue };
            alert.dedup = dedup;
            self.open -= 1;
            if alert.match_count >= u64::from(alert.rule.meta.threshold) {
                alerts.push(alert);
            }
        }
        alerts
    }
}

impl Alert {
    /// A later match at `time` joins this (open) window.
    fn join(&mut self, time: Option<Millis>) {
        self.match_count += 1;
        self.first_event_time = min_time(self.first_event_time, time);
        self.last_event_time = max_time(self.last_event_time, time);
    }
}

fn min_time(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_time(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Outputs, RuleMeta};
    use serde_json::json;

    fn rule(threshold: u32, dedup_minutes: u32, create_alert: bool) -> &'static Rule {
        Box::leak(Box::new(Rule {
            meta: RuleMeta {
                id: Box::leak(format!("Test.T{threshold}.D{dedup_minutes}.{create_alert}").into_boxed_str()),
                display_name: None,
                source: "rules/test.yml",
                enabled: true,
                scheduled: false,
                log_types: &["Test.Log"],
                severity: Severity::Medium,
                create_alert,
                dedup_period_minutes: dedup_minutes,
                threshold,
                tags: &[],
                reports: &[],
                description: None,
                reference: None,
                runbook: None,
                summary_attributes: &[],
                output_ids: &[],
                alert_title: None,
            },
            fields: &[],
            required: &[],
            decide: |_| None,
            decide_view: |_| None,
            title: None,
            group_by: None,
            context: None,
            severity: None,
            python: None,
        }))
    }

    fn hit(rule: &'static Rule, dedup: &str) -> Match {
        Match {
            rule,
            outputs: Outputs {
                title: format!("title {dedup}"),
                dedup: dedup.into(),
                context: Context::new(),
                severity: Severity::Medium,
            },
        }
    }

    const MIN: Millis = 60_000;

    #[test]
    fn threshold_reached_in_one_window_alerts_once_with_every_match() {
        let r = rule(3, 10, true);
        let mut a = Alerter::new();
        let ev = json!({"n": 1});
        for minute in [0, 2, 4, 6] {
            assert!(a.observe(&hit(r, "alice"), Some(minute * MIN), &ev, "Test.Log").is_empty());
        }
        let alerts = a.flush();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].match_count, 4);
        assert_eq!(alerts[0].first_event_time, Some(0));
        assert_eq!(alerts[0].last_event_time, Some(6 * MIN));
        assert_eq!(alerts[0].kind, Kind::Alert);
    }

    #[test]
    fn below_threshold_nothing_is_reported() {
        let r = rule(3, 10, true);
        let mut a = Alerter::new();
        a.observe(&hit(r, "alice"), Some(0), &json!({}), "Test.Log");
        a.observe(&hit(r, "alice"), Some(MIN), &json!({}), "Test.Log");
        assert!(a.flush().is_empty());
    }

    #[test]
    fn windows_expire_on_event_time_and_a_new_one_opens() {
        let r = rule(2, 10, true);
        let mut a = Alerter::new();
        let ev = json!({});
        assert!(a.observe(&hit(r, "alice"), Some(0), &ev, "Test.Log").is_empty());
        assert!(a.observe(&hit(r, "alice"), Some(5 * MIN), &ev, "Test.Log").is_empty());
        // Minute 10 is the end of the first window: it closes, with its two matches.
        let closed = a.observe(&hit(r, "alice"), Some(10 * MIN), &ev, "Test.Log");
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].match_count, 2);
        assert_eq!(a.open_windows(), 1);
        // The new window holds one match: below the threshold.
        assert!(a.flush().is_empty());
        assert_eq!(a.open_windows(), 0);
    }

    #[test]
    fn matches_are_grouped_by_dedup_string_and_rule() {
        let r = rule(1, 60, true);
        let other = rule(1, 61, true);
        let mut a = Alerter::new();
        let ev = json!({});
        for (rule, dedup) in [(r, "alice"), (r, "bob"), (r, "alice"), (other, "alice")] {
            a.observe(&hit(rule, dedup), Some(0), &ev, "Test.Log");
        }
        let alerts = a.flush();
        let summary: Vec<(u32, &str, u64)> = alerts
            .iter()
            .map(|x| (x.rule.meta.dedup_period_minutes, x.dedup.as_str(), x.match_count))
            .collect();
        assert_eq!(summary, [(60, "alice", 2), (60, "bob", 1), (61, "alice", 1)]);
    }

    /// `open` runs for the match that opens a window only; what it sets is kept, but the window
    /// stays keyed by the dedup string the match came with.
    #[test]
    fn outputs_completed_on_opening_are_the_window_s() {
        let r = rule(1, 10, true);
        let mut a = Alerter::new();
        let mut opened = 0;
        for minute in [0, 1, 2] {
            let mut m = hit(r, "alice");
            m.outputs.title = String::new();
            a.observe_opening(m, Some(minute * MIN), "Test.Log", |m| {
                opened += 1;
                m.outputs.title = format!("completed at minute {minute}");
                m.outputs.dedup = "ignored".into();
                FirstEvent::Value(json!({"minute": minute}))
            });
        }
        let alerts = a.flush();
        assert_eq!(opened, 1);
        assert_eq!(alerts.len(), 1);
        assert_eq!((alerts[0].title.as_str(), alerts[0].dedup.as_str()), ("completed at minute 0", "alice"));
        assert_eq!(
            (alerts[0].match_count, alerts[0].first_event.to_value().into_owned()),
            (3, json!({"minute": 0}))
        );
    }

    #[test]
    fn signals_are_reported_as_signals() {
        let r = rule(1, 60, false);
        let mut a = Alerter::new();
        a.observe(&hit(r, "x"), Some(0), &json!({}), "Test.Log");
        assert_eq!(a.flush()[0].kind, Kind::Signal);
    }

    #[test]
    fn late_and_timeless_events_join_the_open_window() {
        let r = rule(3, 10, true);
        let mut a = Alerter::new();
        let ev = json!({});
        a.observe(&hit(r, "x"), Some(5 * MIN), &ev, "Test.Log");
        a.observe(&hit(r, "x"), Some(2 * MIN), &ev, "Test.Log");
        a.observe(&hit(r, "x"), None, &ev, "Test.Log");
        let alerts = a.flush();
        assert_eq!(alerts[0].match_count, 3);
        assert_eq!(alerts[0].first_event_time, Some(2 * MIN));
        assert_eq!(alerts[0].last_event_time, Some(5 * MIN));
    }

    #[test]
    fn state_stays_bounded_as_time_moves_on() {
        let r = rule(1, 5, true);
        let mut a = Alerter::new();
        let ev = json!({});
        let mut reported = 0;
        for i in 0..10_000 {
            reported += a.observe(&hit(r, &format!("user{}", i % 50)), Some(i * 1000), &ev, "Test.Log").len();
            assert!(a.open_windows() <= 50);
        }
        reported += a.flush().len();
        // 10,000 seconds of 5-minute windows, 50 users: 34 windows each.
        assert_eq!(reported, 50 * 34);
    }
}
