//! The silences held in memory: each with its regex matchers compiled
//! ([`Entry`]), indexed by id with their total stored size ([`Table`]).

use std::collections::HashMap;
use std::sync::Arc;

use super::pattern::Pattern;
use super::{LabelSet, Silence};

/// One per matcher of a silence, in order: the compiled pattern of a regex
/// matcher, `None` for `=` and `!=` (which compare with the matcher's value).
pub(super) type CompiledMatchers = Vec<Option<Arc<Pattern>>>;

/// A silence with its regex matchers compiled, ready for
/// [`super::Silences::mutes`].
pub(super) struct Entry {
    pub(super) silence: Silence,
    pub(super) patterns: CompiledMatchers,
    /// Size of the silence as stored.
    pub(super) stored_bytes: usize,
}

impl Entry {
    /// Whether every matcher matches `labels` (a missing label is "").
    pub(super) fn matches(&self, labels: &LabelSet) -> bool {
        self.silence
            .matchers
            .iter()
            .zip(&self.patterns)
            .all(|(m, pattern)| {
                let value = labels.value(&m.name);
                let hit = match pattern {
                    Some(pattern) => pattern.is_match(value),
                    None => value == m.value,
                };
                hit == m.op.is_equal()
            })
    }
}

/// The silences held in memory, with their total stored size.
#[derive(Default)]
pub(super) struct Table {
    pub(super) by_id: HashMap<String, Arc<Entry>>,
    pub(super) stored_bytes: usize,
}

impl Table {
    pub(super) fn insert(&mut self, entry: Entry) {
        self.stored_bytes += entry.stored_bytes;
        if let Some(old) = self.by_id.insert(entry.silence.id.clone(), Arc::new(entry)) {
            self.stored_bytes -= old.stored_bytes;
        }
    }

    pub(super) fn remove(&mut self, id: &str) {
        if let Some(old) = self.by_id.remove(id) {
            self.stored_bytes -= old.stored_bytes;
        }
    }
}
