//! A threshold condition on a query result's `value`: what a severity line
//! and a resolve line test, in the DSL and in the evaluator alike.

/// A condition on the query result's `value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `present`: true for every series the query returns (Prometheus semantics).
    Present,
    /// `value OP NUMBER`.
    Compare(CmpOp, f64),
    /// `A and B`.
    And(Box<Condition>, Box<Condition>),
    /// `A or B`.
    Or(Box<Condition>, Box<Condition>),
}

/// The six comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Reads an operator as written (`==`, `!=`, `<`, `<=`, `>`, `>=`).
    pub fn from_symbol(symbol: &str) -> Option<Self> {
        match symbol {
            "==" => Some(CmpOp::Eq),
            "!=" => Some(CmpOp::Ne),
            "<" => Some(CmpOp::Lt),
            "<=" => Some(CmpOp::Le),
            ">" => Some(CmpOp::Gt),
            ">=" => Some(CmpOp::Ge),
            _ => None,
        }
    }

    /// Whether `value OP threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Eq => value == threshold,
            CmpOp::Ne => value != threshold,
            CmpOp::Lt => value < threshold,
            CmpOp::Le => value <= threshold,
            CmpOp::Gt => value > threshold,
            CmpOp::Ge => value >= threshold,
        }
    }
}

impl Condition {
    /// Whether the condition holds for a sample value.
    pub fn holds(&self, value: f64) -> bool {
        match self {
            Condition::Present => true,
            Condition::Compare(op, t) => op.holds(value, *t),
            Condition::And(a, b) => a.holds(value) && b.holds(value),
            Condition::Or(a, b) => a.holds(value) || b.holds(value),
        }
    }

    /// Every threshold constant named in the condition.
    pub fn thresholds(&self, out: &mut Vec<f64>) {
        match self {
            Condition::Present => {}
            Condition::Compare(_, t) => out.push(*t),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.thresholds(out);
                b.thresholds(out);
            }
        }
    }
}

/// Prints a threshold so the DSL's lexer reads back the same value: whole
/// numbers without a fraction, `+Inf`/`-Inf`, otherwise Rust's shortest
/// round-tripping form (`0.1`, `1234.5`, `1e300`).
pub fn format_number(n: f64) -> String {
    if n == f64::INFINITY {
        "+Inf".into()
    } else if n == f64::NEG_INFINITY {
        "-Inf".into()
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
