//! Inhibition: Alertmanager 0.25's inhibit rules. Each rule keeps the
//! firing alerts that match its source, indexed by the values of its
//! `equal` labels, so asking whether an alert is inhibited costs one hash
//! lookup per rule.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::sync::Arc;

use super::alert::NotifyAlert;
use crate::model;
use crate::vocab::labels::{Fingerprint, LabelSet};
use crate::vocab::matcher::CompiledMatcher as Matcher;
use crate::vocab::time::Millis;

/// The inhibition rules of one configuration with the source alerts seen.
#[derive(Debug, Default)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
}

impl Inhibitor {
    /// The rules of a configuration, with no source alert yet.
    pub fn new(inhibits: &[model::Inhibit]) -> Inhibitor {
        let rules = inhibits
            .iter()
            .map(|i| InhibitRule {
                source: i.source.clone(),
                target: i.target.clone(),
                equal: i.equal.clone(),
                sources: HashMap::new(),
                by_equal: HashMap::new(),
            })
            .collect();
        Inhibitor { rules }
    }

    /// Takes note of a new, updated or resolved alert.
    pub fn observe(&mut self, alert: &Arc<NotifyAlert>, now: Millis) {
        for rule in &mut self.rules {
            rule.observe(alert, now);
        }
    }

    /// Swaps in the rules of a new configuration (reload), keeping the
    /// source alerts the old rules knew.
    pub fn reconfigure(&mut self, inhibits: &[model::Inhibit], now: Millis) {
        let sources: Vec<Arc<NotifyAlert>> = self
            .rules
            .iter()
            .flat_map(|r| r.sources.values().cloned())
            .collect();
        *self = Inhibitor::new(inhibits);
        for alert in sources {
            self.observe(&alert, now);
        }
    }

    /// Whether some rule inhibits these labels now.
    pub fn is_inhibited(&self, labels: &LabelSet, now: Millis) -> bool {
        self.rules
            .iter()
            .any(|r| r.inhibited_by(labels, now).is_some())
    }

    /// The source alerts inhibiting these labels now, one per rule that
    /// does, sorted and without repeats.
    pub fn inhibited_by(&self, labels: &LabelSet, now: Millis) -> Vec<Fingerprint> {
        let mut out: Vec<Fingerprint> = self
            .rules
            .iter()
            .filter_map(|r| r.inhibited_by(labels, now))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// One inhibition rule with its cache of source alerts, indexed by the
/// values of the `equal` labels so a check costs one hash lookup.
#[derive(Debug)]
struct InhibitRule {
    source: Vec<Matcher>,
    target: Vec<Matcher>,
    equal: Vec<String>,
    sources: HashMap<Fingerprint, Arc<NotifyAlert>>,
    by_equal: HashMap<u64, HashSet<Fingerprint>>,
}

fn matches_all(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches(labels.value(&m.name)))
}

impl InhibitRule {
    fn equal_key(&self, labels: &LabelSet) -> u64 {
        let mut h = fnv::FnvHasher::default();
        for name in &self.equal {
            h.write(labels.value(name).as_bytes());
            h.write(&[0xFF]);
        }
        h.finish()
    }

    fn observe(&mut self, alert: &Arc<NotifyAlert>, now: Millis) {
        let fp = alert.labels.fingerprint();
        let is_source = matches_all(&self.source, &alert.labels) && !alert.is_resolved_at(now);
        if is_source {
            if self.sources.insert(fp, Arc::clone(alert)).is_none() {
                let key = self.equal_key(&alert.labels);
                self.by_equal.entry(key).or_default().insert(fp);
            }
        } else if self.sources.remove(&fp).is_some() {
            let key = self.equal_key(&alert.labels);
            if let Some(set) = self.by_equal.get_mut(&key) {
                set.remove(&fp);
                if set.is_empty() {
                    self.by_equal.remove(&key);
                }
            }
        }
    }

    /// Alertmanager's `hasEqual` with its two-sided exclusion: an alert that
    /// matches both source and target is never inhibited by another alert
    /// that also matches both, so a rule cannot make an alert mute itself.
    fn inhibited_by(&self, labels: &LabelSet, now: Millis) -> Option<Fingerprint> {
        if !matches_all(&self.target, labels) {
            return None;
        }
        let two_sided = matches_all(&self.source, labels);
        let candidates = self.by_equal.get(&self.equal_key(labels))?;
        let mut best: Option<Fingerprint> = None;
        for fp in candidates {
            let Some(source) = self.sources.get(fp) else {
                continue;
            };
            if source.is_resolved_at(now) {
                continue;
            }
            if self
                .equal
                .iter()
                .any(|n| source.labels.value(n) != labels.value(n))
            {
                continue;
            }
            if two_sided && matches_all(&self.target, &source.labels) {
                continue;
            }
            best = Some(best.map_or(*fp, |b: Fingerprint| b.min(*fp)));
        }
        best
    }
}
