//! JSON exactly as Prometheus (Go, jsoniter in standard-library mode) writes
//! it, so a byte-level diff against Prometheus's API shows only the data:
//! `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`…, backspace and form
//! feed as `\u0008`/`\u000c`, floats in Go's shortest form (`60`, not `60.0`;
//! `1e-7`, `1e+21`), times in RFC 3339 with trailing fractional zeros trimmed.

use std::io;

use serde::{Serialize, Serializer};
use serde_json::ser::{CharEscape, Formatter};

use crate::vocab::time::Millis;

/// Serializes `value` the way Go's `encoding/json` would.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(512);
    write_go_json(&mut out, value)?;
    Ok(out)
}

/// [`to_go_json`] appended to `out`, for answers written piece by piece.
pub fn write_go_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, GoFormatter);
    value.serialize(&mut serializer)
}

/// A compact serde_json formatter with Go's escaping and number rules.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_json_number(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_json_number(f64::from(value)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut run_start = 0;
        for (at, ch) in fragment.char_indices() {
            let escaped = match ch {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[run_start..at])?;
            writer.write_all(escaped.as_bytes())?;
            run_start = at + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[run_start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        let text: &[u8] = match char_escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\u0008",
            CharEscape::FormFeed => b"\\u000c",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let escaped = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xF)],
                ];
                return writer.write_all(&escaped);
            }
        };
        writer.write_all(text)
    }
}

/// A float as Go's JSON encoder writes a `float64`: plain decimal for
/// magnitudes in [1e-6, 1e21), exponent form outside (`1e-7`, `1e+21`).
/// Go refuses NaN and infinities; they never reach here (serde_json writes
/// `null` for them).
pub fn go_json_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let mut text = format_float_e(value);
        // Go: "clean up e-09 to e-9".
        let bytes = text.as_bytes();
        let len = bytes.len();
        if len >= 4 && bytes[len - 4] == b'e' && bytes[len - 3] == b'-' && bytes[len - 2] == b'0' {
            text.remove(len - 2);
        }
        text
    } else {
        // Rust's Display is the shortest round-tripping decimal without an
        // exponent: the same digits as Go's strconv 'f' with precision -1.
        format!("{value}")
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: the shortest digits that
/// round-trip, exponent signed and at least two digits (`1e+00`,
/// `2.5e-01`), and `NaN`, `+Inf`, `-Inf`. Prometheus writes alert values so.
pub fn format_float_e(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let rust = format!("{value:e}");
    let Some((mantissa, exponent)) = rust.split_once('e') else {
        return rust;
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    if digits.len() < 2 {
        format!("{mantissa}e{sign}0{digits}")
    } else {
        format!("{mantissa}e{sign}{digits}")
    }
}

use crate::vocab::time::go_time;

/// Serializes an optional time with [`go_time`] (for `#[serde(serialize_with)]`).
pub fn serialize_go_time<S: Serializer>(
    at: &Option<Millis>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&go_time(*at))
}

/// Serializes a required time with [`go_time`].
pub fn serialize_go_time_required<S: Serializer>(
    at: &Millis,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&go_time(Some(*at)))
}
