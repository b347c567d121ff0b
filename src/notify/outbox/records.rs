//! How the outbox's state is laid out in the store's record tables.
//!
//! - `Outbox`: big-endian enqueue sequence number → JSON [`StoredEntry`]
//!   (sequential keys: the fast path of redb inserts).
//! - `History`: big-endian completion sequence number → JSON
//!   [`HistoryEntry`]; pruning is one `DeleteBelow`.
//! - `NotifyLog`: lane key → JSON [`StoredLog`].
//! - `Threads`: lane key → the thread id as UTF-8.
//!
//! A lane key is the JSON array `[group_id, receiver, integration]` (see
//! [`Notification::group_id`]): any string round-trips, so two lanes never
//! share a key.

use serde::{Deserialize, Serialize};

use super::{HistoryEntry, LogEntry};
use crate::notify::notification::Notification;
use crate::store::{Record, RecordOp, RecordTable};
use crate::vocab::time::Millis;

/// One lane: everything one receiver integration is told about one group,
/// delivered strictly in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Lane {
    pub group_id: String,
    pub receiver: String,
    pub integration: usize,
}

impl Lane {
    pub fn of(n: &Notification) -> Lane {
        Lane {
            group_id: n.group_identity().to_string(),
            receiver: n.receiver.clone(),
            integration: n.integration,
        }
    }

    pub fn key(&self) -> Vec<u8> {
        serde_json::to_vec(&(&self.group_id, &self.receiver, self.integration)).unwrap_or_default()
    }

    pub fn from_key(key: &[u8]) -> Result<Lane, String> {
        let (group_id, receiver, integration): (String, String, usize) =
            serde_json::from_slice(key).map_err(|e| e.to_string())?;
        Ok(Lane {
            group_id,
            receiver,
            integration,
        })
    }
}

/// A pending notification as stored: the notification and how delivering
/// it has gone so far, so backoff continues across a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredEntry {
    pub notification: Notification,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub first_attempt_at: Option<Millis>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub next_attempt_at: Option<Millis>,
}

/// [`StoredEntry`] borrowed, for encoding without copying the notification.
#[derive(Debug, Serialize)]
pub(crate) struct StoredEntryRef<'a> {
    pub notification: &'a Notification,
    pub attempts: u32,
    pub first_attempt_at: Option<Millis>,
    pub last_error: Option<&'a str>,
    pub next_attempt_at: Option<Millis>,
}

/// A log entry and the enqueue sequence number of the notification that
/// wrote it: a failure clears the lane's log only if the log still says
/// what that notification was to tell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredLog {
    #[serde(flatten)]
    pub entry: LogEntry,
    pub seq: u64,
}

pub fn seq_key(seq: u64) -> Vec<u8> {
    seq.to_be_bytes().to_vec()
}

pub fn seq_from_key(key: &[u8]) -> Result<u64, String> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| format!("a {}-byte key, expected 8", key.len()))
}

pub fn put(table: RecordTable, key: Vec<u8>, value: Vec<u8>) -> RecordOp {
    RecordOp::Put { table, key, value }
}

pub fn delete(table: RecordTable, key: Vec<u8>) -> RecordOp {
    RecordOp::Delete { table, key }
}

/// Encodes a value; serde_json cannot fail on these types (string keys,
/// no non-finite floats), and an empty value would decode as an error and
/// be reported, never misread.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// What [`decode_all`] read from one table.
pub(crate) struct Decoded<T> {
    pub records: Vec<(Vec<u8>, T)>,
    /// Largest 8-byte key, decodable or not (sequence numbers stay unique).
    pub max_seq: Option<u64>,
}

/// Decodes every record of a table with `decode`, reporting (and keeping on
/// disk) those that do not decode.
pub fn decode_all<T>(
    table: RecordTable,
    records: Vec<Record>,
    decode: impl Fn(&[u8], &[u8]) -> Result<T, String>,
) -> Decoded<T> {
    let mut out = Decoded {
        records: Vec::with_capacity(records.len()),
        max_seq: None,
    };
    for (key, value) in records {
        if let Ok(seq) = seq_from_key(&key) {
            out.max_seq = out.max_seq.max(Some(seq));
        }
        match decode(&key, &value) {
            Ok(decoded) => out.records.push((key, decoded)),
            Err(reason) => tracing::warn!(
                table = ?table,
                key = %String::from_utf8_lossy(&key),
                %reason,
                "an outbox record could not be read; it is left in the store untouched"
            ),
        }
    }
    out
}

pub fn decode_entry(key: &[u8], value: &[u8]) -> Result<(u64, StoredEntry), String> {
    let seq = seq_from_key(key)?;
    let entry = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    Ok((seq, entry))
}

pub fn decode_history(key: &[u8], value: &[u8]) -> Result<(u64, HistoryEntry), String> {
    let seq = seq_from_key(key)?;
    let entry = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    Ok((seq, entry))
}

pub fn decode_log(key: &[u8], value: &[u8]) -> Result<(Lane, StoredLog), String> {
    let lane = Lane::from_key(key)?;
    let mut log: StoredLog = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    log.entry.normalize();
    Ok((lane, log))
}

pub fn decode_thread(key: &[u8], value: &[u8]) -> Result<(Lane, String), String> {
    let lane = Lane::from_key(key)?;
    let thread = String::from_utf8(value.to_vec()).map_err(|e| e.to_string())?;
    Ok((lane, thread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_keys_round_trip_any_text() {
        let lane = Lane {
            group_id: "{}/{severity=\"x\"}:{a=\"b\\u0000\",c=\"\"}".into(),
            receiver: "on\"call\0".into(),
            integration: 3,
        };
        assert_eq!(Lane::from_key(&lane.key()), Ok(lane));
    }

    #[test]
    fn sequence_keys_sort_numerically() {
        let mut keys = [seq_key(256), seq_key(1), seq_key(u64::MAX), seq_key(2)];
        keys.sort();
        let seqs: Vec<u64> = keys.iter().filter_map(|k| seq_from_key(k).ok()).collect();
        assert_eq!(seqs, [1, 2, 256, u64::MAX]);
        assert!(seq_from_key(b"abc").is_err());
    }
}
