//! The compact label set both the evaluator and the notifier keep per
//! alert (labels and annotations): with tens of thousands of alerts, how a
//! label set is laid out is most of their memory.

use std::collections::BTreeMap;
use std::hash::Hasher;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A label set as a map, sorted by name (the order Prometheus and
/// Alertmanager hash in): what datasources answer and what the API reads.
pub type Labels = BTreeMap<String, String>;

/// Alertmanager's fingerprint of a label set, the identity of an alert
/// everywhere (the API prints it as `%016x`).
pub type Fingerprint = u64;

/// Alertmanager's fingerprint of a label set: FNV-1a 64 over the labels
/// sorted by name, each as `name 0xFF value 0xFF`.
pub fn fingerprint(labels: &Labels) -> Fingerprint {
    fingerprint_of(labels.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())))
}

/// The one fingerprint function: [`LabelSet`] and [`Labels`] both hash
/// through it, so the two can never disagree.
fn fingerprint_of<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Fingerprint {
    let mut h = fnv::FnvHasher::default();
    for (name, value) in pairs {
        h.write(name);
        h.write(&[0xFF]);
        h.write(value);
        h.write(&[0xFF]);
    }
    h.finish()
}

/// Whether a label name is valid in Prometheus: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The nearest valid label name: every character other than letters, digits
/// and `_` becomes `_`, and a leading digit (or an empty name) gets a `_` prefix.
pub fn sanitize_label_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The nearest valid metric name: like [`sanitize_label_name`], but `:` is kept.
pub fn sanitize_metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A sorted label set in one heap allocation, 16 bytes inline.
///
/// The notifier holds two of these (labels and annotations) for each of
/// hundreds of thousands of alerts, and the evaluator two for each alert it
/// tracks (as `LabelPairs`), so the layout is chosen for memory: one
/// allocation however many labels (a `BTreeMap<String, String>` takes two
/// per label plus tree nodes; a string plus an offsets array takes two),
/// 1-byte offsets for the usual set whose text is under 256 bytes (2-byte
/// ones under 64 KiB), and the names nearly every alert carries
/// (`alertname`, `instance`, `job`, `severity`, `summary`, ... see
/// `WELL_KNOWN_NAMES`) as a 1-byte code instead of their text. Names are
/// unique and sorted and the encoding is canonical, so equality, hashing and
/// the fingerprint depend only on the content.
///
/// # Layout
///
/// `bytes` is empty for the empty set (no allocation at all). Otherwise:
///
/// ```text
/// header: u8 | count: width bytes | starts: (2 × count − 1) × width bytes
///            | codes: count bytes, if the header says so | text
/// ```
///
/// - `header`: bits 0–3 are `width`, the size of every integer after it,
///   little endian: the smallest of 1, 2, 4 and 8 bytes that holds both the
///   text's length and the count (so a huge set still works, only less
///   compactly); bit 7 (`HAS_CODES`) says `codes` is there, which is when
///   at least one name is well known;
/// - `count` is the number of pairs;
/// - `text` is every name and value concatenated in name order: piece `2i`
///   is the name of pair `i`, piece `2i + 1` its value;
/// - `starts` holds where each piece but the first begins in `text` (the
///   first begins at 0); a piece ends where the next begins, the last at the
///   end of `text`;
/// - `codes` holds one byte per pair: 0 when its name is its text piece,
///   `k` when its name is `WELL_KNOWN_NAMES[k − 1]` (its text piece is then
///   empty).
///
/// Only `LabelSet::encode` writes `bytes`, copying `&str` pieces, so the
/// text is UTF-8 and every start is a char boundary. Readers check anyway,
/// without `unsafe`: slices are taken with `get`, and text is turned into
/// `&str` with `str::from_utf8` once per call (over the whole text for
/// [`LabelSet::iter`], over one value for [`LabelSet::get`]; names are
/// compared as bytes); anything inconsistent reads as an empty piece, so no
/// input can make a reader panic. The layout lives in memory only (the
/// journal and the API write names as text), so it may change freely.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct LabelSet {
    bytes: Box<[u8]>,
}

/// Label and annotation names common enough in Prometheus alerts (from
/// its exporters, kube-prometheus and the usual rule conventions) to be
/// stored as a 1-byte code in a [`LabelSet`]: `alertname` alone is on every
/// alert. Sorted, so a name's code is found by binary search; at most 255.
/// Only memory depends on this list, never behaviour.
const WELL_KNOWN_NAMES: &[&str] = &[
    "alertname",
    "app",
    "cluster",
    "component",
    "container",
    "daemonset",
    "dashboard",
    "deployment",
    "description",
    "device",
    "endpoint",
    "env",
    "environment",
    "fstype",
    "instance",
    "job",
    "job_name",
    "message",
    "mountpoint",
    "namespace",
    "node",
    "persistentvolumeclaim",
    "pod",
    "priority",
    "prometheus",
    "region",
    "runbook",
    "runbook_url",
    "service",
    "severity",
    "statefulset",
    "summary",
    "team",
    "tenant",
    "title",
    "value",
    "zone",
];

/// Header bit of a [`LabelSet`]: the per-pair name codes are present.
const HAS_CODES: u8 = 0x80;
/// Header bits of a [`LabelSet`] holding the integer width.
const WIDTH_BITS: u8 = 0x0F;

/// The code of a well-known name (1-based), or 0. Runs for every name of
/// every ingested alert: a binary search on the first byte only, then a
/// look at the few names sharing it.
fn name_code(name: &str) -> u8 {
    let first = name.as_bytes().first();
    let start = WELL_KNOWN_NAMES.partition_point(|known| known.as_bytes().first() < first);
    WELL_KNOWN_NAMES
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|known| known.as_bytes().first() == first)
        .position(|known| *known == name)
        .and_then(|at| u8::try_from(start + at + 1).ok())
        .unwrap_or(0)
}

/// The well-known name of a code; `None` for 0 and unknown codes.
fn code_name(code: u8) -> Option<&'static str> {
    usize::from(code)
        .checked_sub(1)
        .and_then(|at| WELL_KNOWN_NAMES.get(at).copied())
}

/// The decoded header of a [`LabelSet`]: where its parts are.
#[derive(Clone, Copy)]
struct Layout<'a> {
    width: usize,
    count: usize,
    starts: &'a [u8],
    /// Empty when no name is well known.
    codes: &'a [u8],
    text: &'a [u8],
}

impl<'a> Layout<'a> {
    const EMPTY: Layout<'static> = Layout {
        width: 1,
        count: 0,
        starts: &[],
        codes: &[],
        text: &[],
    };

    /// Splits `bytes` into its parts; anything inconsistent (which
    /// [`LabelSet::encode`] never writes) reads as the empty set.
    fn of(bytes: &'a [u8]) -> Layout<'a> {
        Self::parse(bytes).unwrap_or(Layout::EMPTY)
    }

    fn parse(bytes: &'a [u8]) -> Option<Layout<'a>> {
        let (&header, rest) = bytes.split_first()?;
        let width = usize::from(header & WIDTH_BITS);
        if !matches!(width, 1 | 2 | 4 | 8) || header & !(WIDTH_BITS | HAS_CODES) != 0 {
            return None;
        }
        let count = read_uint(rest.get(..width)?)?;
        let rest = rest.get(width..)?;
        let starts_len = count.checked_mul(2)?.checked_sub(1)?.checked_mul(width)?;
        let (starts, rest) = rest.split_at_checked(starts_len)?;
        let (codes, text) = if header & HAS_CODES != 0 {
            rest.split_at_checked(count)?
        } else {
            (&[][..], rest)
        };
        Some(Layout {
            width,
            count,
            starts,
            codes,
            text,
        })
    }

    /// Where piece `k` (0 ≤ k ≤ 2 × count) begins; piece 2 × count is the
    /// end of the text.
    fn start(&self, k: usize) -> usize {
        if k == 0 {
            return 0;
        }
        if k >= 2 * self.count {
            return self.text.len();
        }
        let found = match self.width {
            // The usual case, without a slice to decode.
            1 => self.starts.get(k - 1).map(|b| usize::from(*b)),
            width => {
                let at = (k - 1) * width;
                self.starts.get(at..at + width).and_then(read_uint)
            }
        };
        found.unwrap_or(usize::MAX)
    }

    /// Piece `k` as bytes; empty when the offsets are inconsistent.
    fn piece(&self, k: usize) -> &'a [u8] {
        self.text
            .get(self.start(k)..self.start(k + 1))
            .unwrap_or_default()
    }

    /// The well-known name of pair `i`, if it has one.
    fn known_name(&self, i: usize) -> Option<&'static str> {
        self.codes.get(i).copied().and_then(code_name)
    }

    /// The name of pair `i` as bytes.
    fn name_bytes(&self, i: usize) -> &'a [u8] {
        match self.known_name(i) {
            Some(name) => name.as_bytes(),
            None => self.piece(2 * i),
        }
    }

    /// Pair `i` as bytes.
    fn pair_bytes(&self, i: usize) -> (&'a [u8], &'a [u8]) {
        (self.name_bytes(i), self.piece(2 * i + 1))
    }
}

/// The pairs of a [`LabelSet`] in order, sliced from its text validated
/// once; each step reads two offsets (the name's start is the previous
/// value's end).
struct Pairs<'a> {
    layout: Layout<'a>,
    /// The whole text; "" (and no pairs) when it is not UTF-8.
    text: &'a str,
    /// The next pair.
    next: usize,
    /// Where its name begins.
    at: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.layout.count {
            return None;
        }
        let i = self.next;
        let value_start = self.layout.start(2 * i + 1);
        let end = self.layout.start(2 * i + 2);
        let name = match self.layout.known_name(i) {
            Some(name) => name,
            None => self.text.get(self.at..value_start).unwrap_or_default(),
        };
        let value = self.text.get(value_start..end).unwrap_or_default();
        self.next += 1;
        self.at = end;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.layout.count.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Pairs<'_> {}

/// A little-endian unsigned integer of 1, 2, 4 or 8 bytes; `None` when it
/// does not fit a `usize`.
fn read_uint(bytes: &[u8]) -> Option<usize> {
    let value = match bytes.len() {
        1 => u64::from(u8::from_le_bytes(bytes.try_into().ok()?)),
        2 => u64::from(u16::from_le_bytes(bytes.try_into().ok()?)),
        4 => u64::from(u32::from_le_bytes(bytes.try_into().ok()?)),
        8 => u64::from_le_bytes(bytes.try_into().ok()?),
        _ => return None,
    };
    usize::try_from(value).ok()
}

/// Appends `value` in `width` little-endian bytes (`width` is chosen so that
/// it fits).
fn write_uint(out: &mut Vec<u8>, value: usize, width: usize) {
    let bytes = (value as u64).to_le_bytes();
    out.extend_from_slice(bytes.get(..width).unwrap_or(&bytes));
}

impl LabelSet {
    /// Builds a set from pairs in any order; a later duplicate name wins.
    /// Pairs with an empty value are dropped, as in Prometheus and
    /// Alertmanager, where an empty label is the same as a missing one.
    ///
    /// This runs for every label set of every ingested alert, so it sorts a
    /// `Vec` (one allocation) rather than building a tree.
    pub fn from_pairs<'a, I>(pairs: I) -> LabelSet
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        // Stable: duplicates stay in arrival order, and the last one is kept.
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        pairs.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                *kept = *later;
                true
            } else {
                false
            }
        });
        pairs.retain(|(_, value)| !value.is_empty());
        Self::encode(&pairs)
    }

    /// Builds a set from a map (empty values dropped).
    pub fn from_map(map: &BTreeMap<String, String>) -> LabelSet {
        let pairs: Vec<(&str, &str)> = map
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Self::encode(&pairs)
    }

    /// Builds a set from pairs already sorted by name with no name twice,
    /// keeping pairs with an empty value: the evaluator lists an annotation
    /// that expanded to nothing, as Prometheus does. Unsorted or repeated
    /// names give a set whose lookups miss, never a panic.
    pub fn from_sorted_keeping_empty<'a>(
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> LabelSet {
        let pairs: Vec<(&str, &str)> = pairs.collect();
        Self::encode(&pairs)
    }

    /// Writes the layout described on [`LabelSet`] from pairs sorted by
    /// name with unique names: the only writer of `bytes`.
    fn encode(pairs: &[(&str, &str)]) -> LabelSet {
        if pairs.is_empty() {
            return LabelSet::default();
        }
        // The codes, on the stack for any usual set.
        let mut on_stack = [0u8; 32];
        let mut on_heap = Vec::new();
        let codes: &mut [u8] = match on_stack.get_mut(..pairs.len()) {
            Some(codes) => codes,
            None => {
                on_heap.resize(pairs.len(), 0);
                &mut on_heap
            }
        };
        for (code, (name, _)) in codes.iter_mut().zip(pairs) {
            *code = name_code(name);
        }
        let codes: &[u8] = codes;
        let has_codes = codes.iter().any(|code| *code != 0);
        // A well-known name's piece is empty.
        let name_len = |name: &str, code: u8| if code == 0 { name.len() } else { 0 };
        let text_len: usize = pairs
            .iter()
            .zip(codes)
            .map(|((name, value), code)| name_len(name, *code) + value.len())
            .sum();
        let largest = text_len.max(pairs.len());
        let width: u8 = if u8::try_from(largest).is_ok() {
            1
        } else if u16::try_from(largest).is_ok() {
            2
        } else if u32::try_from(largest).is_ok() {
            4
        } else {
            8
        };
        let size = usize::from(width);
        let mut bytes = Vec::with_capacity(
            1 + 2 * pairs.len() * size + if has_codes { pairs.len() } else { 0 } + text_len,
        );
        bytes.push(if has_codes { width | HAS_CODES } else { width });
        write_uint(&mut bytes, pairs.len(), size);
        let mut at = 0;
        for (i, ((name, value), code)) in pairs.iter().zip(codes).enumerate() {
            if i > 0 {
                write_uint(&mut bytes, at, size);
            }
            at += name_len(name, *code);
            write_uint(&mut bytes, at, size);
            at += value.len();
        }
        if has_codes {
            bytes.extend_from_slice(codes);
        }
        for ((name, value), code) in pairs.iter().zip(codes) {
            if *code == 0 {
                bytes.extend_from_slice(name.as_bytes());
            }
            bytes.extend_from_slice(value.as_bytes());
        }
        LabelSet {
            bytes: bytes.into_boxed_slice(),
        }
    }

    fn layout(&self) -> Layout<'_> {
        Layout::of(&self.bytes)
    }

    /// Pairs in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        let layout = self.layout();
        // One validation for the whole text; the pairs are sliced from it.
        let (layout, text) = match std::str::from_utf8(layout.text) {
            Ok(text) => (layout, text),
            Err(_) => (Layout::EMPTY, ""),
        };
        Pairs {
            layout,
            text,
            next: 0,
            at: 0,
        }
    }

    /// The value of `name`; matchers treat a missing label as "".
    pub fn get(&self, name: &str) -> Option<&str> {
        let layout = self.layout();
        let wanted = name.as_bytes();
        let (mut lo, mut hi) = (0, layout.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match layout.name_bytes(mid).cmp(wanted) {
                std::cmp::Ordering::Equal => {
                    return std::str::from_utf8(layout.piece(2 * mid + 1)).ok();
                }
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// The value of `name`, or "" when it is missing (matcher semantics).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.layout().count
    }

    /// No labels at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Alertmanager's fingerprint ([`fingerprint`]).
    pub fn fingerprint(&self) -> Fingerprint {
        let layout = self.layout();
        fingerprint_of((0..layout.count).map(|i| layout.pair_bytes(i)))
    }

    /// Only the named labels (grouping keys); names not present are skipped.
    pub fn project<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> LabelSet {
        let mut keep: Vec<&str> = names.into_iter().collect();
        keep.sort_unstable();
        keep.dedup();
        let pairs: Vec<(&str, &str)> = self
            .iter()
            .filter(|(k, _)| keep.binary_search(k).is_ok())
            .collect();
        Self::encode(&pairs)
    }

    /// As a map, for JSON and templates.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Bytes held on the heap, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }
}

impl std::fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Alertmanager's rendering, `{a="1", b="2"}`, used in group keys and logs.
impl std::fmt::Display for LabelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Ok(LabelSet::from_map(&map))
    }
}

impl From<&BTreeMap<String, String>> for LabelSet {
    fn from(map: &BTreeMap<String, String>) -> Self {
        LabelSet::from_map(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_set_sorts_drops_empty_and_matches_eval_fingerprint() {
        let set = LabelSet::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("b", "3")]);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![("a", "1"), ("b", "3")]);
        assert_eq!(set.get("b"), Some("3"));
        assert_eq!(set.get("c"), None);
        assert_eq!(set.value("zz"), "");
        let map = set.to_map();
        assert_eq!(set.fingerprint(), fingerprint(&map));
        assert_eq!(set.to_string(), r#"{a="1", b="3"}"#);
        assert_eq!(LabelSet::default().fingerprint(), 0xcbf29ce484222325);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"{"a":"1","b":"3"}"#);
        assert_eq!(serde_json::from_str::<LabelSet>(&json).unwrap(), set);
        assert_eq!(set.project(["b", "x"]).to_string(), r#"{b="3"}"#);
    }

    fn pairs(set: &LabelSet) -> Vec<(&str, &str)> {
        set.iter().collect()
    }

    #[test]
    fn label_set_round_trips_in_name_order() {
        let input = [
            ("severity", "critical"),
            ("alertname", "DiskFull"),
            ("instance", "10.0.0.1:9100"),
            ("job", "node"),
        ];
        let set = LabelSet::from_pairs(input);
        assert_eq!(
            pairs(&set),
            vec![
                ("alertname", "DiskFull"),
                ("instance", "10.0.0.1:9100"),
                ("job", "node"),
                ("severity", "critical"),
            ]
        );
        assert_eq!(set.len(), 4);
        assert!(!set.is_empty());
        assert_eq!(set.iter().len(), 4);
        // Every way in gives the same set, byte for byte.
        let map = set.to_map();
        assert_eq!(LabelSet::from_map(&map), set);
        assert_eq!(LabelSet::from(&map), set);
        assert_eq!(LabelSet::from_pairs(pairs(&set)), set);
        assert_eq!(set.clone(), set);
        // One allocation: header (1 + 1), 7 one-byte starts, 4 name codes
        // (every name here is well known), then the values.
        let values: usize = input.iter().map(|(_, v)| v.len()).sum();
        assert_eq!(set.heap_bytes(), 2 + 7 + 4 + values);
        // Names nobody codes are stored as text, without a codes array.
        let custom = LabelSet::from_pairs([("tier", "web"), ("owner", "ops")]);
        assert_eq!(pairs(&custom), vec![("owner", "ops"), ("tier", "web")]);
        assert_eq!(
            custom.heap_bytes(),
            2 + 3 + "ownerops".len() + "tierweb".len()
        );
        assert_eq!(std::mem::size_of::<LabelSet>(), 16);
    }

    #[test]
    fn label_set_keeps_the_last_duplicate_and_drops_empty_values() {
        let set = LabelSet::from_pairs([
            ("b", "first"),
            ("a", "1"),
            ("b", "second"),
            ("c", "kept"),
            ("b", "last"),
            ("d", ""),
        ]);
        assert_eq!(pairs(&set), vec![("a", "1"), ("b", "last"), ("c", "kept")]);
        // A later empty value removes the label, as a later value replaces it.
        let set = LabelSet::from_pairs([("a", "1"), ("b", "2"), ("a", "")]);
        assert_eq!(pairs(&set), vec![("b", "2")]);
        let set = LabelSet::from_pairs([("a", ""), ("a", "back")]);
        assert_eq!(pairs(&set), vec![("a", "back")]);
        // Only empty values: the empty set, which allocates nothing.
        let set = LabelSet::from_pairs([("a", ""), ("b", "")]);
        assert_eq!(set, LabelSet::default());
        assert!(set.is_empty());
        assert_eq!(set.heap_bytes(), 0);
        assert_eq!(set.to_string(), "{}");
        // An empty name is a name like any other (it sorts first).
        let set = LabelSet::from_pairs([("x", "1"), ("", "anonymous")]);
        assert_eq!(pairs(&set), vec![("", "anonymous"), ("x", "1")]);
        assert_eq!(set.get(""), Some("anonymous"));
    }

    #[test]
    fn well_known_names_are_sorted_unique_and_coded() {
        assert!(WELL_KNOWN_NAMES.len() <= 255);
        assert!(WELL_KNOWN_NAMES.windows(2).all(|w| w[0] < w[1]));
        for (at, name) in WELL_KNOWN_NAMES.iter().enumerate() {
            let code = name_code(name);
            assert_eq!(usize::from(code), at + 1);
            assert_eq!(code_name(code), Some(*name));
        }
        assert_eq!(name_code("alertnam"), 0);
        assert_eq!(name_code(""), 0);
        assert_eq!(code_name(0), None);
        assert_eq!(code_name(255), None);
        // Known and unknown names interleave in name order, each found.
        let set = LabelSet::from_pairs([
            ("zz_custom", "4"),
            ("job", "3"),
            ("alertname", "1"),
            ("aaa", "0"),
            ("instancex", "2b"),
            ("instance", "2"),
        ]);
        assert_eq!(
            pairs(&set),
            vec![
                ("aaa", "0"),
                ("alertname", "1"),
                ("instance", "2"),
                ("instancex", "2b"),
                ("job", "3"),
                ("zz_custom", "4"),
            ]
        );
        for (name, value) in pairs(&set) {
            assert_eq!(set.get(name), Some(value));
        }
        assert_eq!(set.get("instanc"), None);
        assert_eq!(set.fingerprint(), fingerprint(&set.to_map()));
        assert_eq!(
            set.to_string(),
            r#"{aaa="0", alertname="1", instance="2", instancex="2b", job="3", zz_custom="4"}"#
        );
        assert_eq!(
            set.project(["instance", "zz_custom"]).to_string(),
            r#"{instance="2", zz_custom="4"}"#
        );
    }

    #[test]
    fn label_set_get_finds_every_name_and_nothing_else() {
        let names: Vec<String> = (0..40).map(|i| format!("label_{i:02}")).collect();
        let set = LabelSet::from_pairs(names.iter().map(|n| (n.as_str(), n.as_str())));
        for name in &names {
            assert_eq!(set.get(name), Some(name.as_str()));
        }
        for missing in [
            "",
            "a",
            "label_",
            "label_0",
            "label_100",
            "label_39x",
            "zzz",
        ] {
            assert_eq!(set.get(missing), None, "{missing}");
            assert_eq!(set.value(missing), "");
        }
        assert_eq!(LabelSet::default().get("a"), None);
        assert_eq!(LabelSet::default().iter().count(), 0);
        assert_eq!(LabelSet::default().len(), 0);
    }

    #[test]
    fn label_set_fingerprint_is_the_evaluators() {
        let sets = [
            LabelSet::default(),
            LabelSet::from_pairs([("alertname", "A")]),
            LabelSet::from_pairs([("job", "b"), ("alertname", "A")]),
            LabelSet::from_pairs([("ünïcødé", "värde ✓"), ("emoji", "🔥🚒")]),
            LabelSet::from_pairs([("big", &*"x".repeat(70_000)), ("small", "y")]),
        ];
        for set in &sets {
            assert_eq!(set.fingerprint(), fingerprint(&set.to_map()), "{set:?}");
        }
        // Alertmanager's value for {alertname="A", job="b"}.
        let mut expected: u64 = 0xcbf29ce484222325;
        for b in b"alertname\xffA\xffjob\xffb\xff" {
            expected ^= u64::from(*b);
            expected = expected.wrapping_mul(0x100000001b3);
        }
        assert_eq!(sets[2].fingerprint(), expected);
        // Moving text between a name and its value changes the fingerprint.
        assert_ne!(
            LabelSet::from_pairs([("ab", "c")]).fingerprint(),
            LabelSet::from_pairs([("a", "bc")]).fingerprint()
        );
    }

    #[test]
    fn label_set_offsets_widen_with_the_text() {
        let long = "v".repeat(70_000);
        let set = LabelSet::from_pairs([("z", "end"), ("b", long.as_str()), ("a", "start")]);
        assert_eq!(
            pairs(&set),
            vec![("a", "start"), ("b", long.as_str()), ("z", "end")]
        );
        assert_eq!(set.get("b"), Some(long.as_str()));
        assert_eq!(set.get("z"), Some("end"));
        assert_eq!(set.len(), 3);
        // Header (1 + 4) and five four-byte starts.
        assert_eq!(set.heap_bytes(), 5 + 5 * 4 + 1 + 5 + 1 + 70_000 + 1 + 3);
        assert_eq!(LabelSet::from_map(&set.to_map()), set);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<LabelSet>(&json).unwrap(), set);
        // The boundaries: a text of 255 bytes uses one-byte offsets, of
        // 256 two-byte ones, of exactly 65,535 bytes still two.
        let short = "s".repeat(254);
        let set = LabelSet::from_pairs([("k", short.as_str()), ("", "x")]);
        assert_eq!(set.heap_bytes(), 3 + 3 * 2 + 256);
        assert_eq!(set.get("k"), Some(short.as_str()));
        let set = LabelSet::from_pairs([("k", short.as_str())]);
        assert_eq!(set.heap_bytes(), 2 + 1 + 255);
        assert_eq!(set.get("k"), Some(short.as_str()));
        let set = LabelSet::from_pairs([("kk", short.as_str())]);
        assert_eq!(set.heap_bytes(), 3 + 2 + 256);
        assert_eq!(set.get("kk"), Some(short.as_str()));
        let edge = "e".repeat(65_535 - 1);
        let set = LabelSet::from_pairs([("k", edge.as_str())]);
        assert_eq!(set.heap_bytes(), 3 + 2 + 65_535);
        assert_eq!(set.get("k"), Some(edge.as_str()));
        let over = "e".repeat(65_535);
        let set = LabelSet::from_pairs([("k", over.as_str())]);
        assert_eq!(set.heap_bytes(), 5 + 4 + 65_536);
        assert_eq!(set.get("k"), Some(over.as_str()));
    }

    #[test]
    fn label_set_keeps_unicode_text_intact() {
        let set = LabelSet::from_pairs([
            ("summary", "Disk ausgefällt — 99 % voll 🔥"),
            ("Ωmega", "last"),
            ("description", "日本語のテキスト"),
            ("alpha", "\u{0}nul\u{7f}"),
        ]);
        assert_eq!(
            pairs(&set),
            vec![
                ("alpha", "\u{0}nul\u{7f}"),
                ("description", "日本語のテキスト"),
                ("summary", "Disk ausgefällt — 99 % voll 🔥"),
                ("Ωmega", "last"),
            ]
        );
        assert_eq!(set.get("Ωmega"), Some("last"));
        assert_eq!(set.get("Ω"), None);
        assert_eq!(
            set.to_string(),
            r#"{alpha="\0nul\u{7f}", description="日本語のテキスト", summary="Disk ausgefällt — 99 % voll 🔥", Ωmega="last"}"#
        );
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<LabelSet>(&json).unwrap(), set);
    }

    #[test]
    fn label_set_reads_damaged_bytes_without_panicking() {
        let good = LabelSet::from_pairs([("alertname", "A"), ("job", "node"), ("ü", "ö")]);
        let bytes = good.bytes.to_vec();
        let check = |bytes: Vec<u8>| {
            let set = LabelSet {
                bytes: bytes.into_boxed_slice(),
            };
            let _ = (set.len(), set.get("job"), set.get("ü"), set.fingerprint());
            let _ = (set.to_string(), set.to_map(), set.project(["job"]));
            assert_eq!(set.iter().count(), set.iter().len());
        };
        for cut in 0..bytes.len() {
            check(bytes[..cut].to_vec());
        }
        for at in 0..bytes.len() {
            for value in [0u8, 1, 2, 4, 8, 0x7F, 0x80, 0xFF] {
                let mut damaged = bytes.clone();
                damaged[at] = value;
                check(damaged);
            }
        }
        check(vec![8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        check(vec![4, 0xFF, 0xFF, 0xFF, 0x7F]);
        check(vec![1, 0xFF, 1, 2, 3]);
        check(vec![3, 1, 0, 1, 2]);
        // Codes that name nothing, codes cut short.
        check(vec![0x81, 1, 1, 0xFF, b'v']);
        check(vec![0x81, 2, 1, 2, 3, 1]);
        check(vec![0x41, 1, 1, 0, b'a', b'b']);
    }
}
