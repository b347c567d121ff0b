//! The compiled form of a silence's regex matchers (`=~`, `!~`), made cheap
//! because one silence could hold 100,000 of them (issue 22): a `regex`
//! crate regex costs 9 to 15 KB even for `foo|bar` (it builds several
//! engines, a prefilter and a cache pool up front), and a list of 300 host
//! names 1.3 MB.
//!
//! - A pattern that can only match a finite set of values (`db-1|db-2`,
//!   `host\.example\.com`, `(web|api)-[12]`) becomes that set, found by
//!   `regex-syntax`'s literal extraction: no regex engine at all, and a
//!   lookup is a binary search.
//! - Any other pattern is compiled to an NFA alone (about 1 KB for
//!   `h.*|x-1`), run by `regex-automata`'s bounded backtracker, or its
//!   PikeVM for values too long for that, with one search cache per thread
//!   shared by every pattern. Label values are short, where these engines
//!   are as fast as the `regex` crate's (100 to 250 ns a match, measured);
//!   they lose only on long texts, which labels are not. The NFA's size is
//!   bounded, so a pathological pattern (`\w{1000}`) is refused instead of
//!   taking memory.
//! - Silences that use the same pattern share one compiled form
//!   ([`Patterns`]), and each form knows its size, so the silences' total
//!   can be bounded.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use regex_automata::Input;
use regex_automata::nfa::thompson::backtrack::{self, BoundedBacktracker};
use regex_automata::nfa::thompson::pikevm::{self, PikeVM};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{Hir, HirKind, Look};

use crate::vocab::matcher::anchored;

/// The largest compiled regex (its NFA) a matcher may have. The `regex`
/// crate allows 10 MiB; an alternation of 300 host names and a `.*` takes
/// about 0.1 MiB.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What a compiled regex takes besides its NFA's `memory_usage` (the two
/// engines' own parts; measured: about 130 bytes).
const REGEX_OVERHEAD_BYTES: usize = 256;

/// Bounds of the literal extraction: more alternatives, or longer values,
/// and the pattern gets a regex engine instead (still correct, only larger).
const MAX_SET_VALUES: usize = 4096;
const MAX_SET_VALUE_BYTES: usize = 256;

/// A set up to this size is kept without comparing it with a regex engine.
const SET_ALWAYS_BYTES: usize = 64 << 10;

/// What each value of a set takes besides its bytes (a boxed slice and the
/// allocator's share).
const SET_VALUE_OVERHEAD_BYTES: usize = 32;

/// A compiled regex matcher, anchored at both ends as Alertmanager's.
pub struct Pattern {
    test: Test,
    bytes: usize,
}

enum Test {
    /// The only values the pattern matches, sorted.
    OneOf(Box<[Box<[u8]>]>),
    Regex(Engines),
}

/// Two engines over one NFA (they share it): the bounded backtracker,
/// fastest on short texts, and the PikeVM for texts too long for it.
struct Engines {
    backtracker: BoundedBacktracker,
    pikevm: PikeVM,
}

thread_local! {
    /// Search state, reset for each pattern: one per thread, not one per
    /// pattern (the `regex` crate keeps a pool of them in every regex).
    static BACKTRACK_CACHE: RefCell<Option<backtrack::Cache>> = const { RefCell::new(None) };
    static PIKEVM_CACHE: RefCell<Option<pikevm::Cache>> = const { RefCell::new(None) };
}

impl Engines {
    fn build(hir: &Hir) -> Result<(Engines, usize), thompson::BuildError> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                    .which_captures(WhichCaptures::None),
            )
            .build_from_hir(hir)?;
        let bytes = nfa.memory_usage();
        let engines = Engines {
            backtracker: BoundedBacktracker::builder().build_from_nfa(nfa.clone())?,
            pikevm: PikeVM::builder().build_from_nfa(nfa)?,
        };
        Ok((engines, bytes))
    }

    fn is_match(&self, value: &str) -> bool {
        let input = Input::new(value).earliest(true);
        if value.len() <= self.backtracker.max_haystack_len() {
            let search = |cache: &mut backtrack::Cache| {
                cache.reset(&self.backtracker);
                self.backtracker.try_search_slots(cache, &input, &mut [])
            };
            let found = BACKTRACK_CACHE.with(|cell| match cell.try_borrow_mut() {
                Ok(mut slot) => search(slot.get_or_insert_with(|| self.backtracker.create_cache())),
                Err(_) => search(&mut self.backtracker.create_cache()),
            });
            // Only a text longer than max_haystack_len fails, checked above.
            if let Ok(found) = found {
                return found.is_some();
            }
        }
        let search = |cache: &mut pikevm::Cache| {
            cache.reset(&self.pikevm);
            self.pikevm.search_slots(cache, &input, &mut [])
        };
        PIKEVM_CACHE
            .with(|cell| match cell.try_borrow_mut() {
                Ok(mut slot) => search(slot.get_or_insert_with(|| self.pikevm.create_cache())),
                Err(_) => search(&mut self.pikevm.create_cache()),
            })
            .is_some()
    }
}

/// Why a pattern was refused; the caller adds which matcher.
#[derive(Debug)]
pub enum PatternError {
    /// Not a regular expression; the text is the parser's.
    Syntax(String),
    /// Compiled, it would exceed [`REGEX_SIZE_LIMIT`].
    TooLarge,
}

impl Pattern {
    /// Compiles `pattern` as Alertmanager does (`^(?:pattern)$`).
    pub fn compile(pattern: &str) -> Result<Pattern, PatternError> {
        let hir = regex_syntax::Parser::new()
            .parse(&anchored(pattern))
            .map_err(|e| PatternError::Syntax(e.to_string()))?;
        let mut set = finite_values(&hir).map(|values| {
            let bytes = values
                .iter()
                .map(|v| v.len() + SET_VALUE_OVERHEAD_BYTES)
                .sum::<usize>()
                + pattern.len();
            Pattern {
                test: Test::OneOf(values),
                bytes,
            }
        });
        // A set is smaller than a regex engine unless it has many values
        // (`(?i)` multiplies them): then the smaller of the two is kept.
        if let Some(small) = set.take_if(|set| set.bytes <= SET_ALWAYS_BYTES) {
            return Ok(small);
        }
        let regex = Engines::build(&hir)
            .map(|(engines, bytes)| Pattern {
                bytes: bytes + REGEX_OVERHEAD_BYTES + pattern.len(),
                test: Test::Regex(engines),
            })
            .map_err(|e| match e.size_limit() {
                Some(_) => PatternError::TooLarge,
                None => PatternError::Syntax(e.to_string()),
            });
        match (regex, set) {
            (Ok(regex), Some(set)) if set.bytes < regex.bytes => Ok(set),
            (Err(_), Some(set)) => Ok(set),
            (regex, _) => regex,
        }
    }

    /// Whether the whole of `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        match &self.test {
            Test::OneOf(values) => values
                .binary_search_by(|v| (**v).cmp(value.as_bytes()))
                .is_ok(),
            Test::Regex(engines) => engines.is_match(value),
        }
    }

    /// About what it takes in memory, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether it became a set of values rather than a regex engine.
    #[cfg(test)]
    fn is_set(&self) -> bool {
        matches!(self.test, Test::OneOf(_))
    }
}

/// The values `^(?:…)$` matches when they are few and short enough to
/// list, sorted and without duplicates; `None` otherwise.
fn finite_values(hir: &Hir) -> Option<Box<[Box<[u8]>]>> {
    // `^` and `$` around the pattern, and no other look-around: the literal
    // extractor treats a look-around as matching "" everywhere.
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    let [first, inner @ .., last] = parts.as_slice() else {
        return None;
    };
    if first.kind() != &HirKind::Look(Look::Start) || last.kind() != &HirKind::Look(Look::End) {
        return None;
    }
    let inner = Hir::concat(inner.to_vec());
    if !inner.properties().look_set().is_empty() {
        return None;
    }
    let mut extractor = Extractor::new();
    extractor
        .limit_total(MAX_SET_VALUES)
        .limit_literal_len(MAX_SET_VALUE_BYTES);
    let seq = extractor.extract(&inner);
    // Exact literals are whole matches; with every one exact and the set
    // finite, they are all the pattern matches.
    if !seq.is_exact() {
        return None;
    }
    let mut values: Vec<Box<[u8]>> = seq
        .literals()?
        .iter()
        .map(|literal| Box::from(literal.as_bytes()))
        .collect();
    values.sort_unstable();
    values.dedup();
    Some(values.into_boxed_slice())
}

/// The compiled patterns of every silence, one per distinct pattern text,
/// with their total size.
#[derive(Default)]
pub struct Patterns {
    by_text: HashMap<Box<str>, Arc<Pattern>>,
    bytes: usize,
}

impl Patterns {
    /// The compiled `pattern`, shared when another silence has it, and
    /// whether it was compiled now.
    pub fn get_or_compile(&mut self, pattern: &str) -> Result<(Arc<Pattern>, bool), PatternError> {
        if let Some(found) = self.by_text.get(pattern) {
            return Ok((Arc::clone(found), false));
        }
        let compiled = Arc::new(Pattern::compile(pattern)?);
        self.bytes += compiled.bytes();
        self.by_text
            .insert(Box::from(pattern), Arc::clone(&compiled));
        Ok((compiled, true))
    }

    /// Forgets the patterns no silence (or change in progress) holds.
    pub fn prune(&mut self) {
        let mut freed = 0;
        self.by_text.retain(|_, pattern| {
            let used = Arc::strong_count(pattern) > 1;
            if !used {
                freed += pattern.bytes();
            }
            used
        });
        self.bytes -= freed;
    }

    /// What the held patterns take, in bytes (see [`Pattern::bytes`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many distinct patterns are held.
    pub fn len(&self) -> usize {
        self.by_text.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set and the regex engine agree with the `regex` crate on every
    /// pattern and value here, and the finite patterns become sets.
    #[test]
    fn sets_match_exactly_what_the_regex_matches() {
        let cases: &[(&str, bool)] = &[
            ("db-1", true),
            ("db-1|db-2|web", true),
            ("|staging", true),
            (r"host\.example\.com", true),
            ("(web|api)-[12]", true),
            ("(?:a|b)(?:c|d)", true),
            ("x?", true),
            ("(?i)Disk", true),
            ("straße|Ünïcode", true),
            ("[0-9]", true),
            ("db-.*", false),
            ("[a-z]+", false),
            (".", false),
            (r"\w{3}", false),
            (r"a\b", false),
            ("a|b.*", false),
            ("a)|(b", false),
            ("a.*b", false),
            ("", true),
        ];
        let long = format!("a{}b", "x".repeat(1 << 20));
        let values = [
            &long,
            "",
            "db-1",
            "db-2",
            "db-3",
            "web",
            "staging",
            "host.example.com",
            "hostXexample.com",
            "web-1",
            "api-2",
            "api-3",
            "ac",
            "bd",
            "ab",
            "x",
            "xx",
            "disk",
            "DISK",
            "Disk",
            "straße",
            "STRASSE",
            "Ünïcode",
            "7",
            "77",
            "db-",
            "abc",
            "a",
            "b",
            "ba",
            "bzz",
            "a)",
        ];
        for (pattern, is_set) in cases {
            let compiled = Pattern::compile(pattern).unwrap();
            assert_eq!(compiled.is_set(), *is_set, "{pattern}");
            let reference = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
            for value in values {
                assert_eq!(
                    compiled.is_match(value),
                    reference.is_match(value),
                    "{pattern:?} on {value:?}"
                );
            }
        }
    }

    #[test]
    fn values_too_long_for_the_backtracker_go_to_the_pikevm() {
        let long = format!("a{}b", "x".repeat(1 << 20));
        let pattern = Pattern::compile("a.*b").unwrap();
        let Test::Regex(engines) = &pattern.test else {
            panic!("a.*b is no set");
        };
        assert!(long.len() > engines.backtracker.max_haystack_len());
        assert!(pattern.is_match(&long));
        assert!(!pattern.is_match(&long[..long.len() - 1]));
        assert!(
            pattern.is_match("axxb"),
            "the backtracker, after the PikeVM"
        );
    }

    #[test]
    fn a_set_larger_than_its_regex_gives_way_to_the_regex() {
        // 2^12 spellings of 4096 values: the regex is smaller.
        let pattern = Pattern::compile("(?i)abcdefghijlm").unwrap();
        assert!(!pattern.is_set());
        assert!(pattern.is_match("ABCdefGHIjlm"));
        // 300 host names: the set is far smaller than the regex (1.3 MB).
        let hosts: Vec<String> = (0..300)
            .map(|i| regex::escape(&format!("host-{i:03}.example.com")))
            .collect();
        let pattern = Pattern::compile(&hosts.join("|")).unwrap();
        assert!(pattern.is_set());
        assert!(pattern.bytes() < 30_000, "{}", pattern.bytes());
        assert!(pattern.is_match("host-299.example.com"));
        assert!(!pattern.is_match("host-300.example.com"));
    }

    #[test]
    fn a_pattern_too_large_compiled_is_refused_and_bad_syntax_explained() {
        assert!(matches!(
            Pattern::compile(r"\w{1000}"),
            Err(PatternError::TooLarge)
        ));
        let Err(PatternError::Syntax(text)) = Pattern::compile("(x") else {
            panic!("(x compiled");
        };
        assert!(text.contains("unclosed group"), "{text}");
    }

    #[test]
    fn patterns_are_shared_and_forgotten_once_unused() {
        let mut patterns = Patterns::default();
        let (first, new) = patterns.get_or_compile("db-.*").unwrap();
        assert!(new);
        let bytes = patterns.bytes();
        assert!(bytes > REGEX_OVERHEAD_BYTES, "{bytes}");
        let (second, new) = patterns.get_or_compile("db-.*").unwrap();
        assert!(!new);
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(patterns.bytes(), bytes);
        let (set, _) = patterns.get_or_compile("a|b").unwrap();
        assert!(set.bytes() < 200, "a set of two values: {}", set.bytes());
        drop((first, second));
        patterns.prune();
        assert_eq!(patterns.len(), 1);
        assert_eq!(patterns.bytes(), set.bytes());
    }
}
