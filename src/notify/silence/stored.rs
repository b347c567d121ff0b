//! How a silence's matchers are written in the store: Alertmanager's JSON
//! form of a matcher, `{"name":…,"value":…,"isRegex":…,"isEqual":…}` in
//! that order, every field required. Silences stored by any klaxon so far
//! are in this form, so it must not change (a test pins its bytes).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::vocab::matcher::{MatchOp, Matcher};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMatcher<'a> {
    #[serde(borrow)]
    name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    value: std::borrow::Cow<'a, str>,
    is_regex: bool,
    is_equal: bool,
}

/// `#[serde(serialize_with)]` of [`super::Silence::matchers`].
pub fn serialize<S: Serializer>(matchers: &[Matcher], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(matchers.iter().map(|m| StoredMatcher {
        name: m.name.as_str().into(),
        value: m.value.as_str().into(),
        is_regex: m.op.is_regex(),
        is_equal: m.op.is_equal(),
    }))
}

/// `#[serde(deserialize_with)]` of [`super::Silence::matchers`].
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Matcher>, D::Error> {
    let stored = Vec::<StoredMatcher<'de>>::deserialize(deserializer)?;
    Ok(stored
        .into_iter()
        .map(|m| {
            Matcher::new(
                m.name.into_owned(),
                MatchOp::from_flags(m.is_equal, m.is_regex),
                m.value.into_owned(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::Silence;
    use super::*;

    /// The bytes a silence was stored with before matchers were one type.
    const STORED: &str = concat!(
        r#"{"id":"0e3b6e0a-0000-4000-8000-000000000001","matchers":["#,
        r#"{"name":"a","value":"1","isRegex":false,"isEqual":true},"#,
        r#"{"name":"b","value":"x\"y","isRegex":false,"isEqual":false},"#,
        r#"{"name":"c","value":"h.*","isRegex":true,"isEqual":true},"#,
        r#"{"name":"d","value":"","isRegex":true,"isEqual":false}],"#,
        r#""startsAt":1000,"endsAt":2000,"updatedAt":1000,"createdBy":"ops","comment":"c"}"#
    );

    #[test]
    fn stored_silences_load_and_are_written_byte_for_byte_as_before() {
        let silence: Silence = serde_json::from_str(STORED).unwrap();
        assert_eq!(
            silence.matchers,
            [
                Matcher::new("a", MatchOp::Eq, "1"),
                Matcher::new("b", MatchOp::Ne, "x\"y"),
                Matcher::new("c", MatchOp::Re, "h.*"),
                Matcher::new("d", MatchOp::NotRe, ""),
            ]
        );
        assert_eq!(serde_json::to_string(&silence).unwrap(), STORED);
    }

    #[test]
    fn a_stored_matcher_without_its_flags_does_not_load() {
        let missing = STORED.replace(r#","isEqual":true},{"name":"b""#, r#"},{"name":"b""#);
        let error = serde_json::from_str::<Silence>(&missing).unwrap_err();
        assert!(
            error.to_string().contains("missing field `isEqual`"),
            "{error}"
        );
    }
}
