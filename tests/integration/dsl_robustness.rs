//! The parser and loader never panic or hang, whatever the input: every
//! prefix of a real file, and thousands of deterministic random edits of it.
//! (`scripts/fuzz.sh` runs coverage-guided fuzzing on top of this.)

use klaxon::model::load::load_sources;

const SAMPLE: &str = include_str!("../fixtures/dsl/architecture_example.rules");

/// A small deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn every_prefix_parses_without_panicking() {
    for (i, _) in SAMPLE.char_indices() {
        let loaded = load_sources(&[("prefix.rules", &SAMPLE[..i])]);
        // Every diagnostic resolves to a position inside the file.
        for d in &loaded.diagnostics {
            assert!(d.span.end <= i, "span past the end for prefix {i}: {d:?}");
            let _ = d.render(&loaded.sources);
        }
    }
}

#[test]
fn random_edits_parse_without_panicking() {
    const PIECES: &[&str] = &[
        "{", "}", "(", ")", "\"", "`", "#", "\n", "=", "==", "=~", "!~", "...", ",", "group",
        "alert", "route", "value", "when", "for", "5m", "0", "-1e9", "+Inf", "é", "\\", "env(",
        "critical", "resolve", "nodata", "after", "labels", "match", "record", "query",
    ];
    let mut rng = Lcg(0x5eed);
    for _ in 0..1500 {
        let mut text = SAMPLE.to_string();
        for _ in 0..(1 + rng.next() % 6) {
            let mut at = (rng.next() as usize) % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.next() % 3 {
                0 => {
                    let piece = PIECES[(rng.next() as usize) % PIECES.len()];
                    text.insert_str(at, piece);
                }
                1 => {
                    let mut end = (at + 1 + (rng.next() as usize) % 20).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    let piece = PIECES[(rng.next() as usize) % PIECES.len()];
                    let mut end = (at + piece.len()).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, piece);
                }
            }
        }
        let loaded = load_sources(&[("edit.rules", &text)]);
        for d in &loaded.diagnostics {
            let _ = d.render(&loaded.sources);
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let routes = "route { ".repeat(10_000);
    let loaded = load_sources(&[("deep.rules", &routes)]);
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.message.contains("nested deeper")),
        "{:?}",
        loaded.diagnostics.first()
    );
    let parens = format!(
        "group g {{ alert a {{ query prometheus `up` warning when {}value > 1 }} }}",
        "(".repeat(10_000)
    );
    let loaded = load_sources(&[("deep.rules", &parens)]);
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.message.contains("nested deeper"))
    );
}
