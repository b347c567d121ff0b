//! The Prometheus HTTP API as tests read it, from Prometheus itself and from
//! klaxon (which serves the same JSON): alerts, rule groups, query results,
//! and the text exposition format of `/metrics`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::http::HttpResponse;

/// A label set, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Builds a [`Labels`] from pairs: `labels(&[("job", "x")])`.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `data` of a `{"status":"success","data":...}` answer, or an error
/// carrying the status code and body (the API's `error` field included).
pub fn api_data(response: &HttpResponse) -> Result<serde_json::Value, String> {
    let json = response.json()?;
    if response.status != 200 || json.get("status").and_then(|s| s.as_str()) != Some("success") {
        return Err(format!("HTTP {}: {}", response.status, response.body));
    }
    json.get("data")
        .cloned()
        .ok_or_else(|| format!("answer has no data: {}", response.body))
}

/// One alert of `GET /api/v1/alerts` (or of a rule in `/api/v1/rules`).
/// Every field is optional on the wire, so a missing field shows up as a
/// failed assertion on that field rather than as a parse error.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiAlert {
    /// Labels, `alertname` included.
    #[serde(default)]
    pub labels: Labels,
    /// Expanded annotations.
    #[serde(default)]
    pub annotations: Labels,
    /// `pending` or `firing` (`inactive` never appears in Prometheus's list).
    #[serde(default)]
    pub state: String,
    /// When the alert became active (RFC 3339).
    #[serde(default, rename = "activeAt")]
    pub active_at: Option<String>,
    /// Since when `keep_firing_for` holds the alert (Prometheus 2.42+).
    #[serde(default, rename = "keepFiringSince")]
    pub keep_firing_since: Option<String>,
    /// The sample value, as Prometheus formats it (a string such as `"4.2e+01"`).
    #[serde(default)]
    pub value: Option<String>,
}

impl ApiAlert {
    /// The `alertname` label.
    pub fn name(&self) -> &str {
        self.label("alertname").unwrap_or_default()
    }

    /// A label's value.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// An annotation's value.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.annotations.get(name).map(String::as_str)
    }

    /// The value as a number (`NaN`, `+Inf` included), if it parses.
    pub fn value_f64(&self) -> Option<f64> {
        self.value.as_deref().and_then(parse_prom_float)
    }
}

/// One group of `GET /api/v1/rules`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiRuleGroup {
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// File it was loaded from.
    #[serde(default)]
    pub file: String,
    /// Evaluation interval in seconds.
    #[serde(default)]
    pub interval: f64,
    /// Rules in evaluation order.
    #[serde(default)]
    pub rules: Vec<ApiRule>,
    /// Duration of the last round in seconds.
    #[serde(default, rename = "evaluationTime")]
    pub evaluation_time: f64,
    /// Start of the last round (RFC 3339).
    #[serde(default, rename = "lastEvaluation")]
    pub last_evaluation: Option<String>,
}

/// One rule of `GET /api/v1/rules`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiRule {
    /// Alert name or recorded series name.
    #[serde(default)]
    pub name: String,
    /// The query.
    #[serde(default)]
    pub query: String,
    /// `alerting` or `recording`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `ok`, `err` or `unknown`.
    #[serde(default)]
    pub health: String,
    /// The last evaluation error, when `health` is `err`.
    #[serde(default, rename = "lastError")]
    pub last_error: Option<String>,
    /// For alerting rules: `inactive`, `pending` or `firing`.
    #[serde(default)]
    pub state: Option<String>,
    /// `for`, in seconds.
    #[serde(default)]
    pub duration: Option<f64>,
    /// `keep_firing_for`, in seconds.
    #[serde(default, rename = "keepFiringFor")]
    pub keep_firing_for: Option<f64>,
    /// Rule labels.
    #[serde(default)]
    pub labels: Labels,
    /// Annotation templates.
    #[serde(default)]
    pub annotations: Labels,
    /// Active alerts of this rule.
    #[serde(default)]
    pub alerts: Vec<ApiAlert>,
    /// Duration of the last evaluation in seconds.
    #[serde(default, rename = "evaluationTime")]
    pub evaluation_time: f64,
    /// When it was last evaluated (RFC 3339).
    #[serde(default, rename = "lastEvaluation")]
    pub last_evaluation: Option<String>,
}

/// Reads `data.alerts` of an alerts answer.
pub fn parse_alerts(response: &HttpResponse) -> Result<Vec<ApiAlert>, String> {
    let data = api_data(response)?;
    let alerts = data.get("alerts").cloned().unwrap_or_default();
    serde_json::from_value(alerts).map_err(|e| format!("bad alerts ({e}): {}", response.body))
}

/// Reads `data.groups` of a rules answer.
pub fn parse_rule_groups(response: &HttpResponse) -> Result<Vec<ApiRuleGroup>, String> {
    let data = api_data(response)?;
    let groups = data.get("groups").cloned().unwrap_or_default();
    serde_json::from_value(groups).map_err(|e| format!("bad rule groups ({e}): {}", response.body))
}

/// Reads an instant query's result: a vector becomes one entry per series, a
/// scalar one entry without labels.
pub fn parse_query_result(response: &HttpResponse) -> Result<Vec<(Labels, f64)>, String> {
    let data = api_data(response)?;
    let result_type = data
        .get("resultType")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    let result = data.get("result").cloned().unwrap_or_default();
    let value_of = |pair: &serde_json::Value| -> Result<f64, String> {
        pair.get(1)
            .and_then(|v| v.as_str())
            .and_then(parse_prom_float)
            .ok_or_else(|| format!("bad sample value {pair} in {}", response.body))
    };
    match result_type {
        "vector" => {
            #[derive(Deserialize)]
            struct Series {
                #[serde(default)]
                metric: Labels,
                value: serde_json::Value,
            }
            let series: Vec<Series> = serde_json::from_value(result)
                .map_err(|e| format!("bad vector ({e}): {}", response.body))?;
            series
                .into_iter()
                .map(|s| Ok((s.metric, value_of(&s.value)?)))
                .collect()
        }
        "scalar" => Ok(vec![(Labels::new(), value_of(&result)?)]),
        other => Err(format!(
            "result type {other:?} is not supported: {}",
            response.body
        )),
    }
}

/// Parses a number as Prometheus writes it (`1`, `4.2e+01`, `NaN`, `+Inf`, `-Inf`).
pub fn parse_prom_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Formats a number as the text exposition format wants it.
pub fn format_prom_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value == f64::INFINITY {
        "+Inf".to_string()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{value}")
    }
}

/// One sample of a `/metrics` page.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedSample {
    /// Metric name (with `_total`, `_bucket`... suffixes as written).
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// Value.
    pub value: f64,
}

/// Parses the Prometheus text format (and OpenMetrics text, which
/// prometheus-client writes): comment lines and `# EOF` are skipped, an
/// optional timestamp after the value is ignored. Lines that do not parse
/// are an error naming the line.
pub fn parse_exposition(text: &str) -> Result<Vec<ExposedSample>, String> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("line {}: {why}: {line}", number + 1);
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or_else(|| bad("no value"))?;
        let name = line[..name_end].to_string();
        let mut rest = &line[name_end..];
        let mut labels = Labels::new();
        if let Some(after_brace) = rest.strip_prefix('{') {
            rest = after_brace;
            loop {
                rest = rest.trim_start_matches([' ', ',']);
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (key, after_key) = rest.split_once("=\"").ok_or_else(|| bad("bad label"))?;
                let mut value = String::new();
                let mut chars = after_key.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, other)) => value.push(other),
                            None => return Err(bad("unterminated escape")),
                        },
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        other => value.push(other),
                    }
                }
                let end = end.ok_or_else(|| bad("unterminated label value"))?;
                labels.insert(key.trim().to_string(), value);
                rest = &after_key[end + 1..];
            }
        }
        let value_text = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| bad("no value"))?;
        let value = parse_prom_float(value_text).ok_or_else(|| bad("bad value"))?;
        out.push(ExposedSample {
            name,
            labels,
            value,
        });
    }
    Ok(out)
}
