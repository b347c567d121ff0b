//! What bounds one expansion, whatever the template does: these keep a
//! hostile or mistaken template from hanging the evaluator or exhausting
//! its memory (the executor, the function map and Go's printer all check
//! them).

/// Deepest chain of `{{template}}` calls before execution stops with Go's
/// "exceeded maximum template depth" error (Go's own limit is 100000; only
/// an endlessly recursive template gets anywhere near either).
pub const MAX_TEMPLATE_DEPTH: usize = 1000;

/// Most nodes and commands one expansion may execute.
pub const MAX_STEPS: u64 = 1_000_000;

/// Most bytes one expansion may write.
pub const MAX_OUTPUT: usize = 4 << 20;
