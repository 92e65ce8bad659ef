//! The newest stretch of the event log, kept in memory for the followers of this node.
//!
//! Every projection (seven of them), and the live hub, read the same new events right after each
//! commit. Read from the database one by one, each would fetch and decode every event again:
//! under load that was seven times the log's rows through the SQLite driver's worker threads
//! (a thread hand-off per row) and seven JSON decodes per event. The cache holds the newest
//! events read so far; a follower near the head gets them from memory and only the part beyond
//! the cache is read from the database, once, for all of them.
//!
//! Correctness rests on what `events_after(seq, n)` guarantees on both backends: it returns
//! *every* event after `seq` up to its last one (sequence order is commit order: SQLite has one
//! writer, PostgreSQL serialises sequence assignment at commit). So after such a read the range
//! `(seq, last]` is complete, and the cache only ever holds one complete range `(lo, hi]`.

use std::collections::VecDeque;
use std::sync::Mutex;

use anliegen_core::Event;

/// Events kept at most (about the events of a thousand cases: the followers are usually within
/// a few hundred events of the head; one further behind reads from the database as before).
const KEEP: usize = 4_000;

/// A complete range `(lo, hi]` of the event log.
#[derive(Default)]
pub(crate) struct LogCache {
    inner: Mutex<Range>,
}

#[derive(Default)]
struct Range {
    /// Every event with `lo < seq <= hi` is in `events`, in order.
    lo: i64,
    hi: i64,
    events: VecDeque<Event>,
    /// Whether `lo..hi` describes anything yet.
    valid: bool,
}

/// What the cache could answer for a read after `from`.
pub(crate) enum Hit {
    /// The cache does not cover `from`: read from the database.
    Miss,
    /// These events (possibly none), and everything after `after` is still to be read.
    Partial { events: Vec<Event>, after: i64 },
    /// All `limit` events asked for.
    Full(Vec<Event>),
}

impl LogCache {
    /// The cached events after `from`, up to `limit`.
    pub(crate) fn read(&self, from: i64, limit: usize) -> Hit {
        let r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !r.valid || from < r.lo || from > r.hi {
            return Hit::Miss;
        }
        // Events are in seq order: skip those at or before `from`.
        let start = r.events.partition_point(|e| e.seq <= from);
        let events: Vec<Event> = r.events.iter().skip(start).take(limit).cloned().collect();
        if events.len() == limit {
            Hit::Full(events)
        } else {
            Hit::Partial {
                events,
                after: r.hi,
            }
        }
    }

    /// Records that `events` are every event after `from` up to the last of them (what a
    /// database read of `events_after(from, limit)` returned).
    pub(crate) fn record(&self, from: i64, events: &[Event]) {
        let complete_to = events.last().map_or(from, |e| e.seq);
        let mut r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if r.valid && from >= r.lo && from <= r.hi {
            // Extends (or overlaps) the cached range.
            for e in events {
                if e.seq > r.hi {
                    r.events.push_back(e.clone());
                }
            }
            r.hi = r.hi.max(complete_to);
        } else if !r.valid || from > r.hi {
            // Ahead of the cache (or the first read): start over at `from`.
            r.events = events.iter().cloned().collect();
            r.lo = from;
            r.hi = complete_to;
            r.valid = true;
        } else {
            // Behind the cache (a projection rebuilding from the start): leave the cache as it is.
            return;
        }
        while r.events.len() > KEEP {
            if let Some(old) = r.events.pop_front() {
                r.lo = old.seq;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anliegen_core::{Actor, EventKind};

    fn ev(seq: i64) -> Event {
        Event {
            seq,
            id: uuid::Uuid::nil(),
            at: jiff::Timestamp::UNIX_EPOCH,
            actor: Actor::System,
            case_id: None,
            customer_id: None,
            kind: EventKind::SettingChanged {
                key: "x".into(),
                value: serde_json::Value::Null,
            },
        }
    }

    fn seqs(events: &[Event]) -> Vec<i64> {
        events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn serves_what_it_knows_complete_and_nothing_else() {
        let c = LogCache::default();
        assert!(matches!(c.read(0, 10), Hit::Miss));
        // A read after 0 returned 1, 2, 4 (3 was rolled back: seqs may have holes).
        c.record(0, &[ev(1), ev(2), ev(4)]);
        match c.read(1, 10) {
            Hit::Partial { events, after } => {
                assert_eq!(seqs(&events), vec![2, 4]);
                assert_eq!(after, 4);
            }
            _ => panic!("expected a partial hit"),
        }
        match c.read(0, 2) {
            Hit::Full(events) => assert_eq!(seqs(&events), vec![1, 2]),
            _ => panic!("expected a full hit"),
        }
        // Extending the range from its end.
        c.record(4, &[ev(5)]);
        match c.read(4, 10) {
            Hit::Partial { events, after } => {
                assert_eq!(seqs(&events), vec![5]);
                assert_eq!(after, 5);
            }
            _ => panic!("expected a partial hit"),
        }
        // An empty read proves nothing new beyond `from`.
        c.record(5, &[]);
        assert!(matches!(c.read(6, 10), Hit::Miss));
        // Behind the cache: a miss, and recording it leaves the cache alone.
        c.record(-5, &[ev(1)]);
        assert!(matches!(c.read(-5, 10), Hit::Miss));
        assert!(matches!(c.read(0, 10), Hit::Partial { .. }));
        // Ahead of the cache: starts over there.
        c.record(100, &[ev(101)]);
        assert!(matches!(c.read(5, 10), Hit::Miss));
        match c.read(100, 10) {
            Hit::Partial { events, .. } => assert_eq!(seqs(&events), vec![101]),
            _ => panic!("expected a partial hit"),
        }
    }

    #[test]
    fn keeps_at_most_keep_events() {
        let c = LogCache::default();
        let many: Vec<Event> = (1..=(KEEP as i64 + 10)).map(ev).collect();
        c.record(0, &many);
        assert!(matches!(c.read(5, 10), Hit::Miss));
        match c.read(10, 5) {
            Hit::Full(events) => assert_eq!(seqs(&events), vec![11, 12, 13, 14, 15]),
            _ => panic!("expected a full hit"),
        }
    }
}
