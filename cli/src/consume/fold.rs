//! Alerting as a fold over a stream, in stream order, over state that can be stored.
//!
//! `detect consume` cannot keep a `detections::Alerter` in memory: the alerting state must
//! outlive a runner and be shared by every runner of a consumer. This is the same state machine
//! (rule-format.md §4.4, as `Alerter` implements it) over plain data: a [`Clock`] (the last
//! stream sequence folded in, the latest event time seen, an index of the open windows) and a
//! [`Window`] per open window, each stored under its own key. Folding the same messages in
//! stream order gives exactly what `Alerter` gives, however the messages are cut into runs (a
//! test checks it against `Alerter` on random streams, with crashes). Folding a run again over
//! windows that an interrupted attempt already wrote changes nothing: a window records the last
//! stream sequence it took in, and a window's key is the (sequence, rank) of the match that
//! opened it, so that a window closed and one reopened for the same rule and dedup string never
//! share a key.
//! Must not: do I/O (see `state`) or decide when a run is folded (see `runner`).

use std::collections::{BTreeMap, HashMap, HashSet};

use detections::time::Millis;
use detections::{Alert, Context, Kind, Match, Rule};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A window's identity: the stream sequence of the event that opened it and the rank of the
/// opening match among that event's matches.
pub type WindowId = (u64, u32);

/// Where the fold is: what every runner of a consumer agrees on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    /// The last stream sequence folded in (0: none).
    pub applied: u64,
    /// The latest event time of a matching event (an event without a time counts at it).
    pub watermark: Option<Millis>,
    /// The open windows, in the order they close: by end, then by opening.
    pub open: Vec<Open>,
}

/// An open window in the clock's index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Open {
    pub rule: String,
    pub dedup: String,
    pub end: Millis,
    pub seq: u64,
    pub rank: u32,
}

impl Open {
    pub fn id(&self) -> WindowId {
        (self.seq, self.rank)
    }
}

/// One open window: what it will report, and how far into the stream it has taken matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub rule: String,
    pub dedup: String,
    pub seq: u64,
    pub rank: u32,
    pub start: Millis,
    pub end: Millis,
    /// The stream sequence of the last match this window holds.
    pub last: u64,
    pub match_count: u64,
    pub first_event_time: Option<Millis>,
    pub last_event_time: Option<Millis>,
    /// Of the first match, as the alert record gives them.
    pub severity: String,
    pub title: String,
    pub context: Context,
    pub log_type: String,
    pub first_event: Value,
}

/// One message of the stream, evaluated.
pub struct Item<'a> {
    pub seq: u64,
    /// `None` for a message that matched nothing (or was rejected): it only moves the clock.
    pub matched: Option<Matched<'a>>,
}

/// An event that matched at least one rule.
pub struct Matched<'a> {
    pub time: Option<Millis>,
    pub event: &'a Value,
    pub log_type: &'a str,
    pub matches: &'a [Match],
}

/// A window that closed.
pub struct Closed {
    pub id: WindowId,
    pub start: Millis,
    /// The alert or signal, when the window reached its rule's threshold.
    pub alert: Option<Alert>,
}

/// What folding a run did.
#[derive(Default)]
pub struct Folded {
    /// In the order they closed (the order `Alerter` reports them in).
    pub closed: Vec<Closed>,
    /// Windows still open that this run opened or added matches to: to be written.
    pub changed: Vec<WindowId>,
}

/// Why a run cannot be folded from the state given.
#[derive(Debug, PartialEq)]
pub enum FoldError {
    /// The clock lists a window that was not loaded (or no longer exists).
    Missing(WindowId),
    /// A window of a rule that is not selected.
    UnknownRule(String),
}

impl std::fmt::Display for FoldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FoldError::Missing((seq, rank)) => write!(f, "the open window {seq}.{rank} is missing"),
            FoldError::UnknownRule(rule) => {
                write!(f, "an open window belongs to rule {rule}, which this runner does not run")
            }
        }
    }
}

/// The selected rules by id.
pub struct Rules(HashMap<&'static str, &'static Rule>);

impl Rules {
    pub fn new(rules: &[&'static Rule]) -> Rules {
        Rules(rules.iter().map(|r| (r.meta.id, *r)).collect())
    }

    fn get(&self, id: &str) -> Result<&'static Rule, FoldError> {
        self.0.get(id).copied().ok_or_else(|| FoldError::UnknownRule(id.to_string()))
    }
}

/// The windows a run needs loaded: those of its matches' rules and dedup strings, and those
/// its event times can close.
pub fn needed(clock: &Clock, items: &[Item]) -> Vec<WindowId> {
    let mut keys: HashSet<(&str, &str)> = HashSet::new();
    let mut latest: Option<Millis> = None;
    for item in items.iter().filter(|i| i.seq > clock.applied) {
        let Some(m) = &item.matched else { continue };
        latest = latest.max(m.time);
        for x in m.matches {
            keys.insert((x.rule.meta.id, &x.outputs.dedup));
        }
    }
    clock
        .open
        .iter()
        .filter(|o| latest.is_some_and(|t| o.end <= t) || keys.contains(&(o.rule.as_str(), o.dedup.as_str())))
        .map(Open::id)
        .collect()
}

/// Folds `items` (in stream order) into `clock` and `windows`, which must hold the windows
/// [`needed`] names (and may hold more). Items at or before `clock.applied` are skipped; a
/// window skips the matches it already holds.
pub fn fold(
    clock: &mut Clock,
    windows: &mut HashMap<WindowId, Window>,
    items: &[Item],
    rules: &Rules,
) -> Result<Folded, FoldError> {
    let mut index = Index::new(clock);
    let mut folded = Folded::default();
    let mut changed: HashSet<WindowId> = HashSet::new();
    for item in items {
        if item.seq <= clock.applied {
            continue;
        }
        if let Some(m) = &item.matched
            && !m.matches.is_empty()
        {
            let time = m.time.or(clock.watermark);
            if let Some(t) = time
                && clock.watermark.is_none_or(|w| t > w)
            {
                clock.watermark = Some(t);
                index.close_until(t, windows, rules, &mut folded.closed, &mut changed)?;
            }
            for (rank, x) in m.matches.iter().enumerate() {
                let key = (x.rule.meta.id.to_string(), x.outputs.dedup.clone());
                if let Some(&id) = index.by_key.get(&key) {
                    let w = windows.get_mut(&id).ok_or(FoldError::Missing(id))?;
                    if w.last >= item.seq {
                        continue; // folded in by an earlier attempt at this run
                    }
                    w.match_count += 1;
                    w.first_event_time = min_time(w.first_event_time, time);
                    w.last_event_time = w.last_event_time.max(time);
                    w.last = item.seq;
                    changed.insert(id);
                } else {
                    let rank = u32::try_from(rank).expect("fewer matches than rules");
                    let id = (item.seq, rank);
                    let period = Millis::from(x.rule.meta.dedup_period_minutes) * 60_000;
                    let start = time.unwrap_or(0);
                    let end = start.saturating_add(period);
                    windows.insert(
                        id,
                        Window {
                            rule: key.0.clone(),
                            dedup: key.1.clone(),
                            seq: item.seq,
                            rank,
                            start,
                            end,
                            last: item.seq,
                            match_count: 1,
                            first_event_time: time,
                            last_event_time: time,
                            severity: x.outputs.severity.as_str().to_string(),
                            title: x.outputs.title.clone(),
                            context: x.outputs.context.clone(),
                            log_type: m.log_type.to_string(),
                            first_event: m.event.clone(),
                        },
                    );
                    index.open(Open { rule: key.0, dedup: key.1, end, seq: item.seq, rank });
                    changed.insert(id);
                }
            }
        }
        clock.applied = item.seq;
    }
    clock.open = index.into_open();
    folded.changed = changed.into_iter().collect();
    folded.changed.sort_unstable();
    Ok(folded)
}

/// Closes every window: the end of the input.
pub fn flush(
    clock: &mut Clock,
    windows: &mut HashMap<WindowId, Window>,
    rules: &Rules,
) -> Result<Folded, FoldError> {
    let mut index = Index::new(clock);
    let mut folded = Folded::default();
    index.close_until(Millis::MAX, windows, rules, &mut folded.closed, &mut HashSet::new())?;
    clock.open = index.into_open();
    Ok(folded)
}

/// The alert a window reports.
pub fn alert(w: &Window, rule: &'static Rule) -> Alert {
    Alert {
        rule,
        kind: if rule.meta.create_alert { Kind::Alert } else { Kind::Signal },
        severity: w.severity.parse().unwrap_or(rule.meta.severity),
        title: w.title.clone(),
        dedup: w.dedup.clone(),
        context: w.context.clone(),
        log_type: w.log_type.clone(),
        match_count: w.match_count,
        first_event_time: w.first_event_time,
        last_event_time: w.last_event_time,
        first_event: w.first_event.clone().into(),
    }
}

/// The open windows while a run is folded: by closing order and by rule and dedup string.
struct Index {
    closing: BTreeMap<(Millis, u64, u32), Open>,
    by_key: HashMap<(String, String), WindowId>,
}

impl Index {
    fn new(clock: &mut Clock) -> Index {
        let mut index = Index { closing: BTreeMap::new(), by_key: HashMap::new() };
        for o in std::mem::take(&mut clock.open) {
            index.open(o);
        }
        index
    }

    fn open(&mut self, o: Open) {
        self.by_key.insert((o.rule.clone(), o.dedup.clone()), o.id());
        self.closing.insert((o.end, o.seq, o.rank), o);
    }

    fn close_until(
        &mut self,
        time: Millis,
        windows: &mut HashMap<WindowId, Window>,
        rules: &Rules,
        closed: &mut Vec<Closed>,
        changed: &mut HashSet<WindowId>,
    ) -> Result<(), FoldError> {
        while let Some(entry) = self.closing.first_entry() {
            if entry.key().0 > time {
                break;
            }
            let o = entry.remove();
            self.by_key.remove(&(o.rule, o.dedup));
            let id = (o.seq, o.rank);
            let w = windows.remove(&id).ok_or(FoldError::Missing(id))?;
            changed.remove(&id);
            let rule = rules.get(&w.rule)?;
            let alert = (w.match_count >= u64::from(rule.meta.threshold)).then(|| alert(&w, rule));
            closed.push(Closed { id, start: w.start, alert });
        }
        Ok(())
    }

    fn into_open(self) -> Vec<Open> {
        self.closing.into_values().collect()
    }
}

fn min_time(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output;
    use detections::{Alerter, Outputs, Severity};
    use serde_json::json;

    /// Shipped rules with different thresholds and dedup periods, and one signal rule.
    fn rules() -> Vec<&'static Rule> {
        let mut picked: Vec<&'static Rule> = Vec::new();
        let mut seen = HashSet::new();
        for r in detections::rules::ALL {
            let shape = (r.meta.threshold.min(3), r.meta.dedup_period_minutes, r.meta.create_alert);
            if seen.insert(shape) {
                picked.push(r);
            }
        }
        assert!(picked.iter().any(|r| r.meta.threshold > 1), "a rule with a threshold");
        assert!(picked.iter().any(|r| !r.meta.create_alert), "a signal rule");
        picked
    }

    struct Event {
        time: Option<Millis>,
        value: Value,
        matches: Vec<Match>,
    }

    /// A random stream: mostly increasing times, some late, some missing, a few dedup strings.
    fn stream(seed: u64, len: usize, rules: &[&'static Rule]) -> Vec<Event> {
        let mut rng = detect::corpus::Rng::new(seed);
        let mut now: Millis = 1_700_000_000_000;
        (0..len)
            .map(|i| {
                now += rng.below(120_000) as Millis;
                let time = match rng.below(20) {
                    0 => None,
                    1 => Some(now - rng.below(3_600_000) as Millis),
                    _ => Some(now),
                };
                let mut matches = Vec::new();
                for r in rules {
                    if rng.chance(0.25) {
                        let dedup = format!("user{}", rng.below(3));
                        let outputs = Outputs {
                            title: format!("{} by {dedup} at {i}", r.meta.id),
                            dedup,
                            context: json!({"i": i}).as_object().cloned().unwrap_or_default(),
                            severity: Severity::ALL[rng.below(5) as usize],
                        };
                        matches.push(Match { rule: r, outputs });
                    }
                }
                Event { time, value: json!({"n": i}), matches }
            })
            .collect()
    }

    fn alerter(events: &[Event]) -> Vec<String> {
        let mut a = Alerter::new();
        let mut out = Vec::new();
        for e in events {
            for m in &e.matches {
                out.extend(a.observe(m, e.time, &e.value, "Test.Log"));
            }
        }
        out.extend(a.flush());
        out.iter().map(|x| output::alert(x).to_string()).collect()
    }

    fn items(events: &[Event]) -> Vec<Item<'_>> {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| Item {
                seq: i as u64 + 1,
                matched: (!e.matches.is_empty()).then_some(Matched {
                    time: e.time,
                    event: &e.value,
                    log_type: "Test.Log",
                    matches: &e.matches,
                }),
            })
            .collect()
    }

    /// Folds `events` in runs of random length, loading only the windows `needed` names from a
    /// store; with `crashes`, some attempts write part of their windows and publish their alerts,
    /// then stop before committing the clock, and the run is folded again.
    fn folded(events: &[Event], rules: &Rules, seed: u64, crashes: bool) -> Vec<String> {
        let mut rng = detect::corpus::Rng::new(seed);
        let items = items(events);
        let mut clock = Clock::default();
        let mut store: HashMap<WindowId, Window> = HashMap::new();
        // Records in the order first published, and by id (as the output stream deduplicates).
        let mut published: Vec<String> = Vec::new();
        let mut by_id: HashMap<String, String> = HashMap::new();
        let mut publish = |closed: &[Closed]| {
            for c in closed {
                if let Some(a) = &c.alert {
                    let id = format!("{}:{}:{}:{:?}", a.rule.meta.id, a.dedup, c.start, c.id);
                    let record = output::alert(a).to_string();
                    match by_id.get(&id) {
                        Some(earlier) => assert_eq!(*earlier, record, "the same id, another alert"),
                        None => {
                            by_id.insert(id, record.clone());
                            published.push(record);
                        }
                    }
                }
            }
        };
        let mut at = 0;
        while at < items.len() {
            let len = 1 + rng.below(40) as usize;
            let run = &items[at..(at + len).min(items.len())];
            let mut next = clock.clone();
            let mut windows: HashMap<WindowId, Window> = needed(&clock, run)
                .into_iter()
                .filter_map(|id| Some((id, store.get(&id)?.clone())))
                .collect();
            let f = fold(&mut next, &mut windows, run, rules).expect("the needed windows are loaded");
            // An interrupted attempt writes some of its windows and publishes some of its alerts.
            let crash = crashes && rng.chance(0.3);
            for id in &f.changed {
                let w = &windows[id];
                let written = !crash || rng.chance(0.5);
                if written && store.get(id).is_none_or(|s| s.last < w.last) {
                    store.insert(*id, w.clone());
                }
            }
            if crash {
                let some = rng.below(f.closed.len() as u64 + 1) as usize;
                publish(&f.closed[..some]);
                continue; // the clock was not committed: the run is folded again
            }
            publish(&f.closed);
            for c in &f.closed {
                store.remove(&c.id);
            }
            clock = next;
            at += run.len();
        }
        let mut windows: HashMap<WindowId, Window> =
            clock.open.iter().map(|o| (o.id(), store[&o.id()].clone())).collect();
        let f = flush(&mut clock, &mut windows, rules).expect("every window is loaded");
        publish(&f.closed);
        assert!(clock.open.is_empty());
        published
    }

    #[test]
    fn the_fold_reports_what_the_alerter_reports() {
        let picked = rules();
        let rules = Rules::new(&picked);
        for seed in 0..25 {
            let events = stream(seed, 300, &picked);
            let expected = alerter(&events);
            assert!(expected.len() > 20, "seed {seed}: only {} alerts", expected.len());
            // In one run and in random runs, in the same order.
            assert_eq!(folded(&events, &rules, seed, false), expected, "seed {seed}");
            // With interrupted attempts, the same alerts (each once, as deduplication by id gives).
            let mut got = folded(&events, &rules, seed + 1000, true);
            let mut want = expected.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "seed {seed}, with crashes");
        }
    }

    #[test]
    fn windows_survive_storage() {
        let picked = rules();
        let events = stream(7, 50, &picked);
        let mut clock = Clock::default();
        let mut windows = HashMap::new();
        fold(&mut clock, &mut windows, &items(&events), &Rules::new(&picked)).unwrap();
        let clock_json = serde_json::to_string(&clock).unwrap();
        assert_eq!(serde_json::from_str::<Clock>(&clock_json).unwrap(), clock);
        for w in windows.values() {
            let text = serde_json::to_string(w).unwrap();
            assert_eq!(&serde_json::from_str::<Window>(&text).unwrap(), w);
        }
    }

    #[test]
    fn a_missing_window_or_rule_is_an_error() {
        let picked = rules();
        let events = stream(3, 30, &picked);
        let rules = Rules::new(&picked);
        let mut clock = Clock::default();
        let mut windows = HashMap::new();
        fold(&mut clock, &mut windows, &items(&events), &rules).unwrap();
        let id = clock.open[0].id();
        let mut partial = windows.clone();
        partial.remove(&id);
        let mut again = clock.clone();
        assert_eq!(flush(&mut again, &mut partial, &rules).err(), Some(FoldError::Missing(id)));
        let mut again = clock.clone();
        assert!(matches!(flush(&mut again, &mut windows, &Rules::new(&[])), Err(FoldError::UnknownRule(_))));
    }
}
