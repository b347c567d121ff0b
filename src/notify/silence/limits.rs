//! [`SilenceLimits`]: how large silences may grow, so one silence cannot take
//! the process down (issue 22), and the checks a change must pass against
//! them, each refusal naming the limit, its value and its flag.

use super::Millis;
use crate::vocab::matcher::Matcher;

/// How large silences may grow; 0 means no limit, as in Alertmanager. A
/// change over a limit is refused (400 from the API) with a message that
/// names the limit, its value and its `klaxon serve` flag.
///
/// Sizes are those of the silence as stored (its JSON). In memory a silence
/// takes about twice that, plus its compiled regexes, which the total
/// counts: at the defaults, silences filling the total took 62 MB of memory
/// (`bench/silence-memory.sh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceLimits {
    /// Silences held, expired ones included until their retention ends
    /// (Alertmanager's `--silences.max-silences`).
    pub max_silences: usize,
    /// Stored size of one silence (Alertmanager's
    /// `--silences.max-silence-size-bytes`).
    pub max_silence_bytes: usize,
    /// Matchers of one silence.
    pub max_matchers: usize,
    /// Name plus value (or pattern) of one matcher.
    pub max_matcher_bytes: usize,
    /// Stored size of all silences plus their compiled regexes (a regex
    /// that several silences use counts once).
    pub max_total_bytes: usize,
}

impl Default for SilenceLimits {
    fn default() -> Self {
        SilenceLimits {
            max_silences: 10_000,
            max_silence_bytes: 64 << 10,
            max_matchers: 100,
            max_matcher_bytes: 16 << 10,
            max_total_bytes: 32 << 20,
        }
    }
}

impl SilenceLimits {
    /// No limit at all (Alertmanager's defaults).
    pub const NONE: SilenceLimits = SilenceLimits {
        max_silences: 0,
        max_silence_bytes: 0,
        max_matchers: 0,
        max_matcher_bytes: 0,
        max_total_bytes: 0,
    };
}

/// Whether `value` is over `limit` (0: no limit).
pub(super) fn over(value: usize, limit: usize) -> bool {
    limit > 0 && value > limit
}

/// What the silences take, as the limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilencesUsage {
    /// Silences held, expired ones included.
    pub silences: usize,
    /// Their stored size.
    pub stored_bytes: usize,
    /// Distinct regex patterns compiled.
    pub patterns: usize,
    /// What those take.
    pub pattern_bytes: usize,
}

impl SilencesUsage {
    /// What [`SilenceLimits::max_total_bytes`] bounds.
    pub fn total_bytes(&self) -> usize {
        self.stored_bytes + self.pattern_bytes
    }
}

/// The checks on matchers that need no compiling: how many and how large.
pub(super) fn check_matcher_sizes(
    matchers: &[Matcher],
    limits: &SilenceLimits,
) -> Result<(), String> {
    if over(matchers.len(), limits.max_matchers) {
        return Err(format!(
            "silence invalid: too many matchers: {} (limit: {}, --silences.max-matchers)",
            matchers.len(),
            limits.max_matchers
        ));
    }
    for (i, m) in matchers.iter().enumerate() {
        let bytes = m.name.len() + m.value.len();
        if over(bytes, limits.max_matcher_bytes) {
            return Err(format!(
                "silence invalid: invalid label matcher {i}: name and value are {bytes} bytes \
                 (limit: {} bytes, --silences.max-matcher-bytes)",
                limits.max_matcher_bytes
            ));
        }
    }
    Ok(())
}

/// A silence of `bytes` stored bytes against the size limit.
pub(super) fn check_size(bytes: usize, limits: &SilenceLimits) -> Result<(), String> {
    if over(bytes, limits.max_silence_bytes) {
        return Err(format!(
            "silence exceeded maximum size: {bytes} bytes (limit: {} bytes, \
             --silences.max-silence-size-bytes)",
            limits.max_silence_bytes
        ));
    }
    Ok(())
}

/// One more silence besides `held` against the count limit.
pub(super) fn check_count(
    held: usize,
    limits: &SilenceLimits,
    retention_ms: Millis,
) -> Result<(), String> {
    if over(held + 1, limits.max_silences) {
        return Err(format!(
            "exceeded maximum number of silences: {held} (limit: {}, --silences.max-silences); \
             expired silences count until {}h after their end",
            limits.max_silences,
            retention_ms / 3_600_000
        ));
    }
    Ok(())
}

/// A total of `after` bytes (from `before`) against the total limit.
pub(super) fn check_total(
    after: usize,
    before: usize,
    limits: &SilenceLimits,
    retention_ms: Millis,
) -> Result<(), String> {
    if after > before && over(after, limits.max_total_bytes) {
        return Err(format!(
            "silences exceeded maximum total size: {after} bytes with this one (limit: {} bytes, \
             --silences.max-total-bytes); the total counts every silence as stored and its \
             compiled regular expressions, expired silences until {}h after their end",
            limits.max_total_bytes,
            retention_ms / 3_600_000
        ));
    }
    Ok(())
}
