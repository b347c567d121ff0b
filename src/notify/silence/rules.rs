//! Alertmanager's rules for silences: which matchers a silence may have
//! (compiling the regex ones), when a change may be made in place, and what
//! expiring does.

use super::pattern::{PatternError, Patterns, REGEX_SIZE_LIMIT};
use super::table::CompiledMatchers;
use super::{Millis, Silence, SilenceState};
use crate::vocab::labels::is_valid_label_name;
use crate::vocab::matcher::{Matcher, regex_error};

/// Alertmanager's validation of matchers, compiling the regex ones with
/// `patterns` (shared with other silences). Returns the compiled patterns
/// (see [`super::table::Entry::patterns`]) and the bytes of those compiled now.
pub(super) fn compile(
    matchers: &[Matcher],
    patterns: &mut Patterns,
) -> Result<(CompiledMatchers, usize), String> {
    if matchers.is_empty() {
        return Err("silence invalid: at least one matcher required".to_string());
    }
    let mut compiled = Vec::with_capacity(matchers.len());
    let mut new_bytes = 0;
    let mut all_match_empty = true;
    for (i, m) in matchers.iter().enumerate() {
        if !is_valid_label_name(&m.name) {
            return Err(format!(
                "silence invalid: invalid label matcher {i}: invalid label name {:?}",
                m.name
            ));
        }
        let pattern = if m.op.is_regex() {
            match patterns.get_or_compile(&m.value) {
                Ok((pattern, new)) => {
                    if new {
                        new_bytes += pattern.bytes();
                    }
                    Some(pattern)
                }
                Err(PatternError::Syntax(text)) => {
                    return Err(format!(
                        "silence invalid: invalid label matcher {i}: invalid regular expression \
                         {:?}: {}",
                        m.value,
                        regex_error(&text, &m.value)
                    ));
                }
                Err(PatternError::TooLarge) => {
                    return Err(format!(
                        "silence invalid: invalid label matcher {i}: regular expression {:?} is \
                         too large: compiled, it would take more than {REGEX_SIZE_LIMIT} bytes",
                        m.value
                    ));
                }
            }
        } else {
            None
        };
        // Alertmanager's matchesEmpty: only `=` and `=~` can match "".
        let matches_empty = m.op.is_equal()
            && match &pattern {
                Some(pattern) => pattern.is_match(""),
                None => m.value.is_empty(),
            };
        all_match_empty &= matches_empty;
        compiled.push(pattern);
    }
    if all_match_empty {
        return Err(
            "silence invalid: at least one matcher must not match the empty string".to_string(),
        );
    }
    Ok((compiled, new_bytes))
}

/// Alertmanager's `canUpdate`: whether `old` may become `new` in place
/// without rewriting what was silenced in the past.
pub(super) fn can_update(old: &Silence, new: &Silence, now: Millis) -> bool {
    if old.matchers != new.matchers {
        return false;
    }
    match old.state(now) {
        // Alertmanager compares the starts in whole seconds.
        SilenceState::Active => {
            old.starts_at.div_euclid(1000) == new.starts_at.div_euclid(1000) && new.ends_at >= now
        }
        SilenceState::Pending => new.starts_at >= now,
        SilenceState::Expired => false,
    }
}

/// The silence ended at `now`, or `None` when it already has.
pub(super) fn expire_at(silence: &Silence, now: Millis) -> Option<Silence> {
    let mut ended = silence.clone();
    match silence.state(now) {
        SilenceState::Expired => return None,
        SilenceState::Active => ended.ends_at = now,
        SilenceState::Pending => {
            ended.starts_at = now;
            ended.ends_at = now;
        }
    }
    ended.updated_at = now;
    Some(ended)
}
