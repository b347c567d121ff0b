//! `inhibit_rules` to `inhibit` blocks.

use super::schema::INHIBIT_FIELDS;
use super::{Converter, unspanned};
use crate::diag::Span;
use crate::lang::ast;
use crate::model::yaml::Node;
use crate::vocab::labels::is_valid_label_name;
use crate::vocab::matcher::MatchOp;

impl Converter<'_> {
    pub(super) fn inhibit(&mut self, node: &Node) -> ast::Inhibit {
        let f = self.fields(node, "an inhibit rule", INHIBIT_FIELDS);
        let mut comments = Vec::new();
        let mut source = self.matchers(&f, "source_", "an inhibit rule");
        let mut target = self.matchers(&f, "target_", "an inhibit rule");
        for (side, list) in [("source", &mut source), ("target", &mut target)] {
            if list.is_empty() {
                comments.push(format!(
                    " klaxon import: no {side} matchers in Alertmanager: every alert is a {side}"
                ));
                list.push(ast::Matcher {
                    name: unspanned("alertname".to_string()),
                    op: MatchOp::Re,
                    value: unspanned(".*".to_string()),
                    span: Span::default(),
                });
            }
        }
        let mut equal = Vec::new();
        if let Some(e) = f.get("equal") {
            for l in self.list(e, "`equal`") {
                if is_valid_label_name(&l.value) {
                    equal.push(unspanned(l.value));
                } else {
                    self.error(
                        "am/invalid-value",
                        l.span,
                        format!("invalid label name `{}` in equal", l.value),
                    );
                }
            }
        }
        ast::Inhibit {
            comments,
            source,
            target,
            equal,
            span: Span::default(),
        }
    }
}
