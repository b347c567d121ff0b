//! JSON shapes shared by the endpoints: label maps and strings read from
//! request bodies without copying, receiver names and times as
//! Alertmanager's OpenAPI models write them.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::vocab::labels::LabelSet;
use crate::vocab::time::Millis;

/// A label map read straight into a [`LabelSet`] (empty values dropped, as
/// Alertmanager's `removeEmptyLabels`; a later duplicate wins, as in Go).
#[derive(Default)]
pub(super) struct WireLabels(pub(super) LabelSet);

impl<'de> Deserialize<'de> for WireLabels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelsVisitor;
        impl<'de> Visitor<'de> for LabelsVisitor {
            type Value = WireLabels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<WireLabels, E> {
                Ok(WireLabels::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireLabels, A::Error> {
                let mut pairs: Vec<(Text<'de>, Text<'de>)> = Vec::new();
                while let Some(pair) = map.next_entry::<Text<'de>, Text<'de>>()? {
                    pairs.push(pair);
                }
                Ok(WireLabels(LabelSet::from_pairs(
                    pairs.iter().map(|(k, v)| (k.0.as_ref(), v.0.as_ref())),
                )))
            }
        }
        deserializer.deserialize_any(LabelsVisitor)
    }
}

/// A string borrowed from the request body when it has no escapes; `null`
/// reads as "" (Go leaves the zero value).
pub(super) struct Text<'de>(pub(super) Cow<'de, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed("")))
            }
        }
        deserializer.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

/// A receiver as Alertmanager's models name it.
#[derive(Serialize)]
pub(super) struct ReceiverName<'a> {
    pub(super) name: &'a str,
}

/// A time as Alertmanager's API writes it: UTC, always milliseconds.
pub(super) fn am_time(ms: Millis) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(time) => time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "0001-01-01T00:00:00.000Z".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_alertmanager_writes_them() {
        assert_eq!(am_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(am_time(1_500), "1970-01-01T00:00:01.500Z");
    }
}
