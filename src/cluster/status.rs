//! `GET /api/v1/status/cluster`: who is in the cluster, what each replica
//! owns, how long its lease has left, and whether this replica is degraded.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::{Cluster, Health, WorkKind, assign};

/// The cluster as this replica sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// `--cluster.name`.
    pub name: String,
    /// This replica.
    pub replica: String,
    /// `connected`, `cut_off` or `degraded`.
    pub health: &'static str,
    /// True while etcd has lost quorum and this replica works alone.
    pub degraded: bool,
    /// Recent contact with etcd (what other replicas ask when they lose it).
    pub in_contact: bool,
    /// Milliseconds since etcd last answered this replica.
    pub etcd_contact_age_ms: Option<u64>,
    /// Seconds left on this replica's lease by its own clock.
    pub local_lease_deadline_seconds: Option<f64>,
    /// The configuration hash whose replicas share the work.
    pub active_config_hash: Option<String>,
    /// Every live member.
    pub members: Vec<MemberStatus>,
    /// Groups and shards configured but claimed by nobody right now.
    pub unowned: BTreeMap<&'static str, Vec<String>>,
}

/// One member.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// Replica name.
    pub replica: String,
    /// API URL.
    pub url: String,
    /// Its configuration hash.
    pub config_hash: String,
    /// It runs the configuration that owns work.
    pub eligible: bool,
    /// Seconds left on its lease, as etcd says (None: could not ask).
    pub lease_ttl_seconds: Option<u64>,
    /// Rule groups it holds.
    pub groups: Vec<String>,
    /// Notifier shards it holds.
    pub shards: Vec<String>,
}

impl Cluster {
    /// The status page's data; asks etcd for each member's lease.
    pub async fn status(&self) -> ClusterStatus {
        let (members, holders, health, contact, deadline, work) = {
            let inner = self.lock();
            (
                inner.members.values().cloned().collect::<Vec<_>>(),
                inner.holders.clone(),
                inner.health,
                inner.last_contact,
                inner.deadline,
                inner.work.clone(),
            )
        };
        let candidates: Vec<assign::Candidate<'_>> = members
            .iter()
            .map(|m| assign::Candidate {
                replica: &m.replica,
                config_hash: &m.config_hash,
                revision: m.revision,
            })
            .collect();
        let eligible = assign::eligible(&candidates);
        let active_config_hash = members
            .iter()
            .find(|m| eligible.first() == Some(&m.replica.as_str()))
            .map(|m| m.config_hash.clone());
        let mut out = Vec::new();
        for m in &members {
            let owned = |kind: WorkKind| {
                let mut items: Vec<String> = holders
                    .iter()
                    .filter(|((k, _), h)| *k == kind && h.replica == m.replica)
                    .map(|((_, item), _)| item.clone())
                    .collect();
                items.sort();
                items
            };
            let groups = owned(WorkKind::Group);
            let shards = owned(WorkKind::Shard);
            let ttl = match tokio::time::timeout(
                std::time::Duration::from_secs(1),
                self.etcd.time_to_live(m.lease),
            )
            .await
            {
                Ok(Ok(ttl)) => ttl.map(|d| d.as_secs()),
                _ => None,
            };
            out.push(MemberStatus {
                replica: m.replica.clone(),
                url: m.url.clone(),
                config_hash: m.config_hash.clone(),
                eligible: eligible.contains(&m.replica.as_str()),
                lease_ttl_seconds: ttl,
                groups,
                shards,
            });
        }
        let mut unowned = BTreeMap::new();
        for (kind, items) in &work {
            let free: Vec<String> = items
                .iter()
                .filter(|i| !holders.contains_key(&(*kind, (*i).clone())))
                .cloned()
                .collect();
            unowned.insert(kind.as_str(), free);
        }
        let now = Instant::now();
        ClusterStatus {
            name: self.options.name.clone(),
            replica: self.options.replica.clone(),
            health: health.as_str(),
            degraded: health == Health::Degraded,
            in_contact: self.in_contact(),
            etcd_contact_age_ms: contact.map(|t| t.elapsed().as_millis() as u64),
            local_lease_deadline_seconds: deadline
                .map(|d| d.saturating_duration_since(now).as_secs_f64()),
            active_config_hash,
            members: out,
            unowned,
        }
    }
}
