//! The alert journal's record format: a format byte, then alert and
//! tombstone entries in a compact binary encoding; decoding never panics,
//! whatever the bytes.

use super::urls::UrlInterner;
use crate::notify::alert::{AlertSource, NotifyAlert};
use crate::store::{RecordOp, RecordTable};
use crate::vocab::labels::{Fingerprint, LabelSet};

// A record is a format byte followed by entries:
//   entry     := 1 alert | 2 tombstone
//   tombstone := fingerprint (u64 LE)
//   alert     := starts_at, ends_at, updated_at (i64 LE), flags (bit 0: timeout),
//                source (0 evaluator, 1 api, 2 webhook), labels, annotations,
//                generator_url
//   labels    := count (varint), then name and value strings
//   string    := length (varint) and UTF-8 bytes
// About 30 bytes plus the text per alert; far smaller and faster than JSON.

/// The first byte of every record this klaxon writes.
const RECORD_FORMAT: u8 = 1;
const TAG_ALERT: u8 = 1;
const TAG_TOMBSTONE: u8 = 2;

/// One decoded journal entry.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Entry {
    Alert(NotifyAlert),
    Tombstone(Fingerprint),
}

pub(super) struct RecordWriter {
    bytes: Vec<u8>,
}

impl RecordWriter {
    pub(super) fn new() -> Self {
        Self::with_capacity(4096)
    }

    /// A writer for about `bytes` bytes of entries: one allocation for a
    /// whole commit instead of a series of doublings, each leaving a freed
    /// buffer behind between the alerts allocated meanwhile.
    pub(super) fn with_capacity(bytes: usize) -> Self {
        let mut out = Vec::with_capacity(bytes.saturating_add(1));
        out.push(RECORD_FORMAT);
        RecordWriter { bytes: out }
    }

    pub(super) fn alert(&mut self, alert: &NotifyAlert) {
        self.bytes.push(TAG_ALERT);
        self.bytes.extend_from_slice(&alert.starts_at.to_le_bytes());
        self.bytes.extend_from_slice(&alert.ends_at.to_le_bytes());
        self.bytes
            .extend_from_slice(&alert.updated_at.to_le_bytes());
        self.bytes.push(u8::from(alert.timeout));
        self.bytes.push(match alert.source {
            AlertSource::Evaluator => 0,
            AlertSource::Api => 1,
            AlertSource::AlertmanagerWebhook => 2,
        });
        self.labels(&alert.labels);
        self.labels(&alert.annotations);
        self.string(&alert.generator_url);
    }

    pub(super) fn tombstone(&mut self, fp: Fingerprint) {
        self.bytes.push(TAG_TOMBSTONE);
        self.bytes.extend_from_slice(&fp.to_le_bytes());
    }

    fn labels(&mut self, labels: &LabelSet) {
        self.varint(labels.len() as u64);
        for (name, value) in labels.iter() {
            self.string(name);
            self.string(value);
        }
    }

    fn string(&mut self, text: &str) {
        self.varint(text.len() as u64);
        self.bytes.extend_from_slice(text.as_bytes());
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// About the size of `alert`'s entry (a little over: label offsets take at
/// least as much as the varint lengths), to size a record up front.
pub(super) fn encoded_len(alert: &NotifyAlert) -> usize {
    40 + alert.labels.heap_bytes() + alert.annotations.heap_bytes() + alert.generator_url.len()
}

/// Decodes one record; never panics, whatever the bytes.
/// Generator URLs are taken from (and added to) `urls`.
pub(super) fn decode_record(bytes: &[u8], urls: &mut UrlInterner) -> Result<Vec<Entry>, String> {
    let mut reader = RecordReader { bytes, at: 0, urls };
    match reader.u8()? {
        RECORD_FORMAT => {}
        other => {
            return Err(format!(
                "record format {other} is not one this klaxon reads (it reads {RECORD_FORMAT}); \
                 was it written by a newer klaxon?"
            ));
        }
    }
    let mut entries = Vec::new();
    while reader.at < bytes.len() {
        match reader.u8()? {
            TAG_ALERT => entries.push(Entry::Alert(reader.alert()?)),
            TAG_TOMBSTONE => entries.push(Entry::Tombstone(reader.u64()?)),
            other => {
                return Err(format!(
                    "unknown entry tag {other} at byte {}",
                    reader.at - 1
                ));
            }
        }
    }
    Ok(entries)
}

struct RecordReader<'a> {
    bytes: &'a [u8],
    at: usize,
    urls: &'a mut UrlInterner,
}

impl<'a> RecordReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.at..end];
                self.at = end;
                Ok(slice)
            }
            None => Err(format!(
                "truncated: {n} more bytes expected at byte {} of {}",
                self.at,
                self.bytes.len()
            )),
        }
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, String> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    fn i64(&mut self) -> Result<i64, String> {
        Ok(self.u64()? as i64)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint too long at byte {}", self.at))
    }

    fn string(&mut self) -> Result<&'a str, String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "length overflow".to_string())?;
        let start = self.at;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8 at byte {start}: {e}"))
    }

    fn labels(&mut self) -> Result<LabelSet, String> {
        let count = self.varint()?;
        // Every pair takes at least two bytes: bound the allocation by what
        // the record can actually hold.
        let bound = (self.bytes.len() - self.at) / 2;
        let count = usize::try_from(count)
            .ok()
            .filter(|c| *c <= bound)
            .ok_or_else(|| format!("label count {count} exceeds the record at byte {}", self.at))?;
        let mut pairs = Vec::with_capacity(count);
        for _ in 0..count {
            let name = self.string()?;
            let value = self.string()?;
            pairs.push((name, value));
        }
        Ok(LabelSet::from_pairs(pairs))
    }

    fn alert(&mut self) -> Result<NotifyAlert, String> {
        let starts_at = self.i64()?;
        let ends_at = self.i64()?;
        let updated_at = self.i64()?;
        let flags = self.u8()?;
        let source = match self.u8()? {
            0 => AlertSource::Evaluator,
            1 => AlertSource::Api,
            2 => AlertSource::AlertmanagerWebhook,
            other => return Err(format!("unknown alert source {other}")),
        };
        let labels = self.labels()?;
        let annotations = self.labels()?;
        let generator_url = self.string()?;
        let generator_url = self.urls.intern(generator_url);
        Ok(NotifyAlert {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url,
            updated_at,
            timeout: flags & 1 != 0,
            source,
        })
    }
}

/// The journal record `seq` with `value`, to commit.
pub(super) fn journal_put(seq: u64, value: Vec<u8>) -> RecordOp {
    RecordOp::Put {
        table: RecordTable::NotifyAlerts,
        key: seq.to_be_bytes().to_vec(),
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::alerts::tests::alert;

    #[test]
    fn records_round_trip_and_garbage_never_panics() {
        let mut writer = RecordWriter::new();
        let a = alert("A", 1, 2, 3);
        writer.alert(&a);
        writer.tombstone(42);
        let bytes = writer.finish();
        let mut urls = UrlInterner::default();
        assert_eq!(
            decode_record(&bytes, &mut urls).unwrap(),
            vec![Entry::Alert(a), Entry::Tombstone(42)]
        );
        // Every truncation and every single-byte corruption decodes or fails cleanly.
        for cut in 0..bytes.len() {
            let _ = decode_record(&bytes[..cut], &mut urls);
        }
        for at in 0..bytes.len() {
            for value in [0u8, 0x7F, 0x80, 0xFF] {
                let mut damaged = bytes.clone();
                damaged[at] = value;
                let _ = decode_record(&damaged, &mut urls);
            }
        }
        assert!(
            decode_record(&[9], &mut urls)
                .unwrap_err()
                .contains("newer klaxon")
        );
        assert!(
            decode_record(&[1, 1, 0], &mut urls)
                .unwrap_err()
                .contains("truncated")
        );
    }
}
