//! The rule key: the identity under which a rule's alerts are stored
//! (`alerts` table of [`crate::store`]) and carried across reloads.
//!
//! A stored alert comes back only to a rule with the same key, so the key
//! is part of the on-disk format: changing one byte of it for a rule resets
//! that rule's alerts on upgrade (pending alerts start over, firing ones are
//! announced again). Every field below is therefore written by a function
//! of this module, never by `Debug`, and the golden tests pin the text.
//!
//! ```text
//! key        = FILE US GROUP US NAME US HASH [ "#" N ]
//! US         = U+001F (unit separator)
//! FILE       = the rule file's path as given to klaxon (`Path::display`)
//! GROUP      = the group name; NAME = the alert or recorded series name
//! HASH       = 16 lowercase hex digits: 64-bit FNV-1a of the UTF-8 of DEF
//! N          = 1, 2, … for the second, third, … rule of one group whose
//!              key is the same (identical rules), see [`nth_duplicate`]
//!
//! DEF        = QUERY US DATASOURCE { US "l:" LABEL "=" VALUE } ( ALERT | US "record" )
//! QUERY      = the query as the API shows it (eval::rule::query_text):
//!              PromQL verbatim, or the `elasticsearch …` line
//! DATASOURCE = "None" (no datasource named) | "Some(\"" ESCAPED "\")"
//! LABEL, VALUE = the rule's labels (group labels merged in), in the
//!              model's order, values as written (templates unexpanded)
//! ALERT      = { US "s:" LEVEL ":" CONDITION ":" MS }     (severities, as written)
//!              [ US "r:" CONDITION ":" MS ]               (resolve when)
//!              US "k:" MS                                 (keep_firing for)
//!              US "n:" NODATA
//! LEVEL      = "info" | "warning" | "critical"
//! CONDITION  = the condition as the DSL writes it (model::condition::display)
//! MS         = a duration in decimal milliseconds
//! NODATA     = "Ok" | "Keep"
//!            | "Alert { after: Duration(" MS "), level: " ("Info" | "Warning" | "Critical") " }"
//! ```
//!
//! `ESCAPED` is the name with `"` and `\` preceded by `\`; tab, carriage
//! return, newline and NUL as `\t`, `\r`, `\n`, `\0`; other ASCII control
//! characters as `\u{hex}`; beyond ASCII, Unicode's grapheme extenders and
//! unprintable characters as `\u{hex}` (std's `char::escape_debug`, whose
//! tables follow the Unicode version of the toolchain). The odd spellings
//! (`Some(…)`, `Duration(…)`) are those of the `Debug` output the first keys
//! were written with, kept so that no stored alert is lost.
//!
//! The built-in rules have keys of their own: `<builtin>` US GROUP US NAME
//! US `1` ([`builtin`]).

use std::fmt::Write;

use crate::model::{self, NoDataPolicy, RuleKind};
use crate::vocab::severity::SeverityLevel;

/// The unit separator between the fields of a key and of its definition.
const US: char = '\u{1f}';

/// The key of a configured rule of group `group` loaded from `file`, whose
/// query the API shows as `query_text`.
pub fn rule_key(rule: &model::Rule, group: &model::Group, file: &str, query_text: &str) -> String {
    let mut h = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut h, definition(rule, query_text).as_bytes());
    let mut key = format!(
        "{file}{US}{}{US}{}{US}{:016x}",
        group.name,
        rule.name,
        std::hash::Hasher::finish(&h)
    );
    // Kept for the life of the rule: format!'s doubling leaves up to half
    // the buffer unused.
    key.shrink_to_fit();
    key
}

/// The key of the `n`th (from 1) further rule of one group whose key is
/// `key`: identical rules get distinct keys, in the order they are written.
pub fn nth_duplicate(key: &str, n: usize) -> String {
    format!("{key}#{n}")
}

/// The key of a built-in rule (evaluated by klaxon itself).
pub fn builtin(file: &str, group: &str, name: &str) -> String {
    format!("{file}{US}{group}{US}{name}{US}1")
}

/// DEF of the module documentation: everything that decides the rule's
/// behaviour, without source positions (editing another rule must not reset
/// this one).
fn definition(rule: &model::Rule, query_text: &str) -> String {
    let mut def = String::new();
    def.push_str(query_text);
    def.push(US);
    datasource(&mut def, rule.query.datasource());
    for p in &rule.labels {
        let _ = write!(def, "{US}l:{}={}", p.name, p.value);
    }
    match &rule.kind {
        RuleKind::Alert(spec) => {
            for s in &spec.severities {
                let _ = write!(
                    def,
                    "{US}s:{}:{}:{}",
                    level_keyword(s.level),
                    model::condition::display(&s.condition),
                    s.for_.0
                );
            }
            if let Some(r) = &spec.resolve {
                let _ = write!(
                    def,
                    "{US}r:{}:{}",
                    model::condition::display(&r.condition),
                    r.for_.0
                );
            }
            let _ = write!(def, "{US}k:{}{US}n:", spec.keep_firing_for.0);
            nodata(&mut def, &spec.nodata);
        }
        RuleKind::Record => {
            def.push(US);
            def.push_str("record");
        }
    }
    def
}

/// DATASOURCE of the module documentation.
fn datasource(out: &mut String, name: Option<&str>) {
    let Some(name) = name else {
        out.push_str("None");
        return;
    };
    out.push_str("Some(\"");
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\0' => out.push_str("\\0"),
            ' '..='~' => out.push(c),
            c if c.is_ascii() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.extend(c.escape_debug()),
        }
    }
    out.push_str("\")");
}

/// NODATA of the module documentation.
fn nodata(out: &mut String, policy: &NoDataPolicy) {
    match policy {
        NoDataPolicy::Ok => out.push_str("Ok"),
        NoDataPolicy::Keep => out.push_str("Keep"),
        NoDataPolicy::Alert { after, level } => {
            let level = match level {
                SeverityLevel::Info => "Info",
                SeverityLevel::Warning => "Warning",
                SeverityLevel::Critical => "Critical",
            };
            let _ = write!(
                out,
                "Alert {{ after: Duration({}), level: {level} }}",
                after.0
            );
        }
    }
}

/// LEVEL of the module documentation (the DSL keyword, spelt here so that
/// the key does not follow a change of the language).
fn level_keyword(level: SeverityLevel) -> &'static str {
    match level {
        SeverityLevel::Info => "info",
        SeverityLevel::Warning => "warning",
        SeverityLevel::Critical => "critical",
    }
}

#[cfg(test)]
#[path = "rule_key_tests.rs"]
mod tests;
