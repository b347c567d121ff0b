//! Reasoning about threshold conditions on a single number, `value`.
//!
//! Every condition is a boolean combination of comparisons with constants, so
//! the real line splits into finitely many pieces on which it is constant:
//! the constants themselves, the points just beside them, and ±∞. Checking a
//! condition at those sample points decides emptiness, inclusion and overlap
//! exactly, without interval algebra.

use crate::vocab::condition::Condition;

/// Points that take every truth pattern the given conditions can produce.
pub fn sample_points(conditions: &[&Condition]) -> Vec<f64> {
    let mut constants = Vec::new();
    for c in conditions {
        c.thresholds(&mut constants);
    }
    let mut points = vec![f64::NEG_INFINITY, f64::INFINITY, 0.0];
    for t in constants {
        if t.is_finite() {
            points.extend([t.next_down(), t, t.next_up()]);
        } else {
            points.push(t);
        }
    }
    points.sort_by(f64::total_cmp);
    points.dedup();
    points
}

/// A value for which `c` holds, if any.
pub fn witness(c: &Condition) -> Option<f64> {
    sample_points(&[c]).into_iter().find(|&p| c.holds(p))
}

/// Whether no value satisfies `c`.
pub fn never_holds(c: &Condition) -> bool {
    witness(c).is_none()
}

/// Whether every value satisfies `c`.
pub fn always_holds(c: &Condition) -> bool {
    sample_points(&[c]).into_iter().all(|p| c.holds(p))
}

/// Whether every value satisfying `a` also satisfies `b`.
pub fn implies(a: &Condition, b: &Condition) -> bool {
    sample_points(&[a, b])
        .into_iter()
        .all(|p| !a.holds(p) || b.holds(p))
}

/// A value satisfying both, if any.
pub fn overlap(a: &Condition, b: &Condition) -> Option<f64> {
    sample_points(&[a, b])
        .into_iter()
        .find(|&p| a.holds(p) && b.holds(p))
}

/// Prints a condition as the DSL writes it. Also a field of the persisted
/// rule key (`eval::rule_key`): changing the text resets stored alerts.
pub fn display(c: &Condition) -> String {
    fn go(c: &Condition, parent_and: bool, out: &mut String) {
        match c {
            Condition::Present => out.push_str("present"),
            Condition::Compare(op, t) => {
                out.push_str("value ");
                out.push_str(op.as_str());
                out.push(' ');
                out.push_str(&crate::vocab::condition::format_number(*t));
            }
            Condition::And(a, b) => {
                go(a, true, out);
                out.push_str(" and ");
                go(b, true, out);
            }
            Condition::Or(a, b) => {
                if parent_and {
                    out.push('(');
                }
                go(a, false, out);
                out.push_str(" or ");
                go(b, false, out);
                if parent_and {
                    out.push(')');
                }
            }
        }
    }
    let mut out = String::new();
    go(c, false, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::condition::CmpOp::*;

    fn cmp(op: crate::vocab::condition::CmpOp, t: f64) -> Condition {
        Condition::Compare(op, t)
    }
    fn and(a: Condition, b: Condition) -> Condition {
        Condition::And(Box::new(a), Box::new(b))
    }
    fn or(a: Condition, b: Condition) -> Condition {
        Condition::Or(Box::new(a), Box::new(b))
    }

    #[test]
    fn decides_emptiness_inclusion_and_overlap() {
        assert!(never_holds(&and(cmp(Gt, 5.0), cmp(Lt, 3.0))));
        assert!(never_holds(&and(cmp(Gt, 5.0), cmp(Le, 5.0))));
        assert!(!never_holds(&and(cmp(Ge, 5.0), cmp(Le, 5.0))));
        assert!(always_holds(&or(cmp(Gt, 5.0), cmp(Le, 5.0))));
        assert!(implies(&cmp(Gt, 100.0), &cmp(Gt, 50.0)));
        assert!(!implies(&cmp(Gt, 50.0), &cmp(Gt, 100.0)));
        assert!(implies(&cmp(Gt, 1.0), &cmp(Ne, 1.0)));
        assert_eq!(overlap(&cmp(Gt, 1000.0), &cmp(Lt, 500.0)), None);
        assert!(overlap(&cmp(Gt, 1000.0), &cmp(Gt, 2000.0)).is_some_and(|v| v > 2000.0));
        assert!(implies(&cmp(Gt, 1e300), &cmp(Ge, 1e300)));
    }

    #[test]
    fn prints_like_the_dsl() {
        assert_eq!(
            display(&and(or(cmp(Lt, 1.0), cmp(Gt, 3.0)), cmp(Ne, 0.5))),
            "(value < 1 or value > 3) and value != 0.5"
        );
    }
}
