//! The routing tree: Alertmanager 0.25's route matching (depth first,
//! `continue`, a node none of whose children match is itself the match),
//! its route keys and IDs, and the group labels of an alert at a node. The
//! dispatcher groups alerts at the nodes this tree picks.

use std::collections::HashMap;

use crate::model;
use crate::vocab::labels::LabelSet;
use crate::vocab::matcher::CompiledMatcher as Matcher;
use crate::vocab::matcher::MatchOp;
use crate::vocab::time::Millis;

/// One node of the routing tree, with inherited settings applied.
#[derive(Debug, Clone)]
pub struct RouteNode {
    /// Parent node, `None` for the root.
    pub parent: Option<usize>,
    /// Children in order.
    pub children: Vec<usize>,
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// Receiver name.
    pub receiver: String,
    /// Labels to group by, sorted.
    pub group_by: Vec<String>,
    /// `group_by ...`.
    pub group_by_all: bool,
    /// Milliseconds before a new group's first notification.
    pub group_wait: Millis,
    /// Milliseconds between notifications about a changing group.
    pub group_interval: Millis,
    /// Milliseconds before an unchanged notification is repeated.
    pub repeat_interval: Millis,
    /// Milliseconds after a notified alert resolves before its group flushes.
    pub resolve_wait: Millis,
    /// Keep matching siblings.
    pub continue_: bool,
    /// Time windows that mute this route.
    pub mute_during: Vec<String>,
    /// Time windows outside which this route is muted.
    pub active_during: Vec<String>,
    /// Alertmanager's route key (`{}/{severity="critical"}`), the first half
    /// of every group key.
    pub key: String,
    /// Alertmanager's route ID: the key with each route's position among
    /// its siblings (`{}/{severity="critical"}/1`), unique in the tree.
    pub id: String,
    /// What keeps this node's groups apart from every other node's in the
    /// notification log and the outbox: the key when no other node shares
    /// it (so logs written before route IDs existed still apply), else the
    /// ID. Two sibling routes with the same matchers share a key, and each
    /// must notify its own receiver.
    pub lane: String,
}

/// The routing tree, flattened.
#[derive(Debug, Clone)]
pub struct RouteTree {
    nodes: Vec<RouteNode>,
}

impl RouteTree {
    /// Builds the tree from the model's root route.
    pub fn new(root: &model::Route) -> RouteTree {
        let mut tree = RouteTree { nodes: Vec::new() };
        tree.add(root, None);
        let mut key_uses: HashMap<&str, usize> = HashMap::new();
        for node in &tree.nodes {
            *key_uses.entry(node.key.as_str()).or_default() += 1;
        }
        let lanes: Vec<String> = tree
            .nodes
            .iter()
            .map(|n| match key_uses.get(n.key.as_str()) {
                Some(1) => n.key.clone(),
                _ => n.id.clone(),
            })
            .collect();
        for (node, lane) in tree.nodes.iter_mut().zip(lanes) {
            node.lane = lane;
        }
        tree
    }

    fn add(&mut self, route: &model::Route, parent: Option<(usize, usize)>) -> usize {
        let mut matchers = route.matchers.clone();
        // Alertmanager sorts a route's matchers (name, value, type) for its key.
        matchers.sort_by(|a, b| {
            (a.name.as_str(), a.value.as_str(), op_rank(a.op)).cmp(&(
                b.name.as_str(),
                b.value.as_str(),
                op_rank(b.op),
            ))
        });
        let own = format!(
            "{{{}}}",
            matchers
                .iter()
                .map(|m| format!(
                    "{}{}{}",
                    m.name,
                    m.op.as_str(),
                    crate::vocab::go::quote(&m.value)
                ))
                .collect::<Vec<_>>()
                .join(",")
        );
        let (key, id) = match parent {
            Some((p, position)) => (
                format!("{}/{own}", self.nodes[p].key),
                format!("{}/{own}/{position}", self.nodes[p].id),
            ),
            None => (own.clone(), own),
        };
        let mut group_by = route.group_by.clone();
        group_by.sort();
        group_by.dedup();
        let index = self.nodes.len();
        self.nodes.push(RouteNode {
            parent: parent.map(|(p, _)| p),
            children: Vec::new(),
            matchers,
            receiver: route.receiver.clone(),
            group_by,
            group_by_all: route.group_by_all,
            group_wait: route.group_wait.0 as Millis,
            group_interval: route.group_interval.0 as Millis,
            repeat_interval: route.repeat_interval.0 as Millis,
            resolve_wait: route.resolve_wait.0 as Millis,
            continue_: route.continue_,
            mute_during: route.mute_during.clone(),
            active_during: route.active_during.clone(),
            key,
            id,
            lane: String::new(),
        });
        for (position, child) in route.routes.iter().enumerate() {
            let c = self.add(child, Some((index, position)));
            self.nodes[index].children.push(c);
        }
        index
    }

    /// A node by index.
    pub fn node(&self, index: usize) -> &RouteNode {
        &self.nodes[index]
    }

    /// Every node, the root first.
    pub fn nodes(&self) -> &[RouteNode] {
        &self.nodes
    }

    /// The nodes an alert is routed to, in order (Alertmanager's
    /// `Route.Match`: depth first; a matching child stops the search among
    /// its siblings unless it has `continue`; a node none of whose children
    /// match is itself the match).
    pub fn matching(&self, labels: &LabelSet) -> Vec<usize> {
        let mut out = Vec::new();
        if !self.nodes.is_empty() {
            self.match_node(0, labels, &mut out);
        }
        out
    }

    fn match_node(&self, index: usize, labels: &LabelSet, out: &mut Vec<usize>) -> bool {
        let node = &self.nodes[index];
        if !node
            .matchers
            .iter()
            .all(|m| m.matches(labels.value(&m.name)))
        {
            return false;
        }
        let before = out.len();
        for &child in &node.children {
            let matched = self.match_node(child, labels, out);
            if matched && !self.nodes[child].continue_ {
                break;
            }
        }
        if out.len() == before {
            out.push(index);
        }
        true
    }

    /// The receivers an alert goes to, in routing order (duplicates kept, as
    /// Alertmanager's API lists them).
    pub fn receivers_for(&self, labels: &LabelSet) -> Vec<String> {
        self.matching(labels)
            .into_iter()
            .map(|i| self.nodes[i].receiver.clone())
            .collect()
    }

    /// The group labels of an alert at a node.
    pub fn group_labels(&self, index: usize, labels: &LabelSet) -> LabelSet {
        let node = &self.nodes[index];
        if node.group_by_all {
            labels.clone()
        } else {
            labels.project(node.group_by.iter().map(String::as_str))
        }
    }
}

fn op_rank(op: MatchOp) -> u8 {
    match op {
        MatchOp::Eq => 0,
        MatchOp::Ne => 1,
        MatchOp::Re => 2,
        MatchOp::NotRe => 3,
    }
}
