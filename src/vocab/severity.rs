//! How bad an alert is: the three severities of the DSL, which are also the
//! `severity` label's values and order routing and escalation.

/// Alert severities, least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLevel {
    /// For information; usually routed to a channel nobody is paged from.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

impl SeverityLevel {
    /// The keyword, which is also the default `severity` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLevel::Info => "info",
            SeverityLevel::Warning => "warning",
            SeverityLevel::Critical => "critical",
        }
    }

    /// Parses a keyword.
    pub fn from_word(s: &str) -> Option<Self> {
        match s {
            "info" => Some(SeverityLevel::Info),
            "warning" => Some(SeverityLevel::Warning),
            "critical" => Some(SeverityLevel::Critical),
            _ => None,
        }
    }
}
