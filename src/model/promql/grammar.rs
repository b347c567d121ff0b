//! The words of PromQL the recogniser knows: aggregators, functions with
//! their argument and result types, and binary operators by precedence.
//! When Prometheus adds a function, it is added here.

pub(super) const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Functions: name, argument types (V instant vector, M range vector, S
/// scalar, T string), variadic count (0 exact, >0 that many optional
/// trailing arguments, <0 unbounded), return type.
pub(super) const FUNCTIONS: &[(&str, &str, i32, char)] = &[
    ("abs", "V", 0, 'V'),
    ("absent", "V", 0, 'V'),
    ("absent_over_time", "M", 0, 'V'),
    ("acos", "V", 0, 'V'),
    ("acosh", "V", 0, 'V'),
    ("asin", "V", 0, 'V'),
    ("asinh", "V", 0, 'V'),
    ("atan", "V", 0, 'V'),
    ("atanh", "V", 0, 'V'),
    ("avg_over_time", "M", 0, 'V'),
    ("ceil", "V", 0, 'V'),
    ("changes", "M", 0, 'V'),
    ("clamp", "VSS", 0, 'V'),
    ("clamp_max", "VS", 0, 'V'),
    ("clamp_min", "VS", 0, 'V'),
    ("cos", "V", 0, 'V'),
    ("cosh", "V", 0, 'V'),
    ("count_over_time", "M", 0, 'V'),
    ("days_in_month", "V", 1, 'V'),
    ("day_of_month", "V", 1, 'V'),
    ("day_of_week", "V", 1, 'V'),
    ("day_of_year", "V", 1, 'V'),
    ("deg", "V", 0, 'V'),
    ("delta", "M", 0, 'V'),
    ("deriv", "M", 0, 'V'),
    ("double_exponential_smoothing", "MSS", 0, 'V'),
    ("exp", "V", 0, 'V'),
    ("first_over_time", "M", 0, 'V'),
    ("floor", "V", 0, 'V'),
    ("histogram_avg", "V", 0, 'V'),
    ("histogram_count", "V", 0, 'V'),
    ("histogram_fraction", "SSV", 0, 'V'),
    ("histogram_quantile", "SV", 0, 'V'),
    ("histogram_stddev", "V", 0, 'V'),
    ("histogram_stdvar", "V", 0, 'V'),
    ("histogram_sum", "V", 0, 'V'),
    ("hour", "V", 1, 'V'),
    ("idelta", "M", 0, 'V'),
    ("increase", "M", 0, 'V'),
    ("info", "VV", 1, 'V'),
    ("irate", "M", 0, 'V'),
    ("label_join", "VTTT", -1, 'V'),
    ("label_replace", "VTTTT", 0, 'V'),
    ("last_over_time", "M", 0, 'V'),
    ("ln", "V", 0, 'V'),
    ("log10", "V", 0, 'V'),
    ("log2", "V", 0, 'V'),
    ("mad_over_time", "M", 0, 'V'),
    ("max_over_time", "M", 0, 'V'),
    ("min_over_time", "M", 0, 'V'),
    ("minute", "V", 1, 'V'),
    ("month", "V", 1, 'V'),
    ("pi", "", 0, 'S'),
    ("predict_linear", "MS", 0, 'V'),
    ("present_over_time", "M", 0, 'V'),
    ("quantile_over_time", "SM", 0, 'V'),
    ("rad", "V", 0, 'V'),
    ("rate", "M", 0, 'V'),
    ("resets", "M", 0, 'V'),
    ("round", "VS", 1, 'V'),
    ("scalar", "V", 0, 'S'),
    ("sgn", "V", 0, 'V'),
    ("sin", "V", 0, 'V'),
    ("sinh", "V", 0, 'V'),
    ("sort", "V", 0, 'V'),
    ("sort_by_label", "VT", -1, 'V'),
    ("sort_by_label_desc", "VT", -1, 'V'),
    ("sort_desc", "V", 0, 'V'),
    ("sqrt", "V", 0, 'V'),
    ("stddev_over_time", "M", 0, 'V'),
    ("stdvar_over_time", "M", 0, 'V'),
    ("sum_over_time", "M", 0, 'V'),
    ("tan", "V", 0, 'V'),
    ("tanh", "V", 0, 'V'),
    ("time", "", 0, 'S'),
    ("timestamp", "V", 0, 'V'),
    ("ts_of_first_over_time", "M", 0, 'V'),
    ("ts_of_last_over_time", "M", 0, 'V'),
    ("ts_of_max_over_time", "M", 0, 'V'),
    ("ts_of_min_over_time", "M", 0, 'V'),
    ("vector", "S", 0, 'V'),
    ("year", "V", 1, 'V'),
];

/// Binary operators by precedence, lowest first; `^` is right-associative.
pub(super) fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "or" => 1,
        "and" | "unless" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" => 3,
        "+" | "-" => 4,
        "*" | "/" | "%" | "atan2" => 5,
        "^" => 6,
        _ => return None,
    })
}

pub(super) fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | "<" | "<=" | ">" | ">=")
}

pub(super) fn is_set_op(op: &str) -> bool {
    matches!(op, "and" | "or" | "unless")
}
