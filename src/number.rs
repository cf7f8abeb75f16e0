//! The `{number}` path parameter, parsed the way pydantic v2 (FastAPI's validator) parses an
//! `int` from a string, so that clients migrating from the FastAPI original see the same
//! accept/reject decisions and the same error types.
//!
//! Accepted: surrounding Unicode whitespace (exactly what [`str::trim`] removes), one optional
//! `+` or `-`, ASCII digits with single `_` only *between* digits, and an optional fractional
//! part made only of zeros (`7.00` is 7; `7.` and `1.5` are not integers).
//!
//! Size: CPython refuses to convert integer strings of more than 4300 digits. pydantic reports
//! that as `int_parsing_size` only for a *plain* integer (`-`, digits, optional `.0…`, nothing
//! else); with a sign `+`, underscores or whitespace the same length fails its fallback path and
//! is reported as plain `int_parsing`. Leading zeros do not count towards the limit.
//!
//! Pure: no I/O, no allocation beyond the canonical digit string.

use std::cmp::Ordering;
use std::fmt;

/// CPython's default `sys.int_info.str_digits_check_threshold` (`int_max_str_digits`).
pub const MAX_DIGITS: usize = 4300;

/// An integer of any size up to [`MAX_DIGITS`] digits, kept as its canonical decimal text.
///
/// Only non-negative values up to `MAX_NUMBER` are ever computed with, but negative inputs of
/// any size are valid (their result is 0) and must be echoed exactly, so the value is not
/// squeezed into a machine integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integer {
    negative: bool,
    /// Decimal digits without leading zeros; `"0"` for zero.
    magnitude: String,
}

/// Why a string is not an integer; each maps to one pydantic error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseIntError {
    /// pydantic's `int_parsing`.
    #[error("Input should be a valid integer, unable to parse string as an integer")]
    Invalid,
    /// pydantic's `int_parsing_size`.
    #[error("Unable to parse input string as an integer, exceeded maximum size")]
    TooManyDigits,
}

impl ParseIntError {
    /// The pydantic error `type` this failure is reported as.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::Invalid => "int_parsing",
            Self::TooManyDigits => "int_parsing_size",
        }
    }
}

impl Integer {
    /// The value as `u64`, or `None` when it is negative or too large for one.
    pub(crate) fn to_u64(&self) -> Option<u64> {
        if self.negative {
            return None;
        }
        self.magnitude.parse().ok()
    }

    /// Whether the value is greater than `limit`, for any size of value.
    pub(crate) fn exceeds(&self, limit: u64) -> bool {
        if self.negative {
            return false;
        }
        let limit = limit.to_string();
        match self.magnitude.len().cmp(&limit.len()) {
            Ordering::Greater => true,
            Ordering::Less => false,
            // Same number of digits and no leading zeros: text order is numeric order.
            Ordering::Equal => self.magnitude.as_str() > limit.as_str(),
        }
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str(&self.magnitude)
    }
}

/// Parses `input` as pydantic's lax `int` validation of a string does.
pub fn parse(input: &str) -> Result<Integer, ParseIntError> {
    let text = input.trim();
    let (negative, body, signed_plus) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..], false),
        Some(b'+') => (false, &text[1..], true),
        _ => (false, text, false),
    };
    let (int_part, fraction) = match body.split_once('.') {
        Some((int_part, fraction)) => (int_part, Some(fraction)),
        None => (body, None),
    };
    if let Some(fraction) = fraction
        && (fraction.is_empty() || fraction.bytes().any(|b| b != b'0'))
    {
        return Err(ParseIntError::Invalid);
    }
    if !valid_digit_groups(int_part) {
        return Err(ParseIntError::Invalid);
    }

    let digits: String = int_part.chars().filter(|c| *c != '_').collect();
    let significant = digits.trim_start_matches('0');
    if significant.len() > MAX_DIGITS {
        let plain = !signed_plus && text.len() == input.len() && !int_part.contains('_');
        return Err(if plain {
            ParseIntError::TooManyDigits
        } else {
            ParseIntError::Invalid
        });
    }
    let magnitude = if significant.is_empty() {
        "0".to_owned()
    } else {
        significant.to_owned()
    };
    Ok(Integer {
        negative: negative && magnitude != "0",
        magnitude,
    })
}

/// ASCII digits, at least one, with single underscores only between two digits.
fn valid_digit_groups(s: &str) -> bool {
    !s.is_empty()
        && s.split('_')
            .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        parse(s)
            .unwrap_or_else(|e| panic!("{s:?} should parse, got {e:?}"))
            .to_string()
    }

    fn err(s: &str) -> &'static str {
        match parse(s) {
            Ok(v) => panic!("{s:?} should fail, got {v}"),
            Err(e) => e.kind(),
        }
    }

    /// The accepted cases of pydantic's own `test_int.py` table, plus whitespace kinds.
    #[test]
    fn accepts_what_pydantic_accepts() {
        let cases = [
            ("0", "0"),
            ("00", "0"),
            ("0_000", "0"),
            ("+0", "0"),
            ("+0_000", "0"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("  1  ", "1"),
            ("-1", "-1"),
            ("-1.0", "-1"),
            ("42", "42"),
            ("0.0", "0"),
            ("00.00", "0"),
            ("42.00", "42"),
            ("042", "42"),
            ("+4_2", "42"),
            ("+04_2.0", "42"),
            ("-00001", "-1"),
            ("-00042_000", "-42000"),
            ("  04_2.0 ", "42"),
            ("\t\n7\r\u{0b}\u{0c}", "7"),
            ("\u{a0}7\u{3000}", "7"),
            ("\u{2028}7\u{85}", "7"),
            ("123456789.0", "123456789"),
            ("99999999999999999999999999", "99999999999999999999999999"),
        ];
        for (input, expected) in cases {
            assert_eq!(ok(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn rejects_what_pydantic_rejects() {
        for input in [
            "",
            " ",
            "+",
            "-",
            "--1",
            "+-1",
            "-+1",
            "1-",
            "a",
            "1a",
            "0x10",
            "1e3",
            "1E3",
            "7.",
            ".0",
            "1.5",
            "1.05",
            "1.0_0",
            "_1",
            "1_",
            "1__0",
            "+_1",
            "1_.0",
            "1._0",
            "٣",
            "１",
            "inf",
            "NaN",
            "1 2",
            "1\u{200b}",
            "\u{feff}1",
            "1/2",
            "1.0.0",
        ] {
            assert_eq!(err(input), "int_parsing", "input {input:?}");
        }
    }

    #[test]
    fn size_limit_counts_significant_digits_of_plain_integers() {
        let limit = "9".repeat(MAX_DIGITS);
        assert_eq!(ok(&limit), limit);
        assert_eq!(ok(&format!("-{limit}")), format!("-{limit}"));
        assert_eq!(ok(&format!("000{limit}.00")), limit);

        let over = "1".repeat(MAX_DIGITS + 1);
        assert_eq!(err(&over), "int_parsing_size");
        assert_eq!(err(&format!("-{over}")), "int_parsing_size");
        assert_eq!(err(&format!("{over}.0")), "int_parsing_size");
        // Not plain: pydantic's fallback parser fails on the length and reports int_parsing.
        assert_eq!(err(&format!("+{over}")), "int_parsing");
        assert_eq!(err(&format!(" {over}")), "int_parsing");
        assert_eq!(err(&format!("1_{over}")), "int_parsing");
    }

    #[test]
    fn compares_with_limits_of_any_size() {
        let n = |s: &str| parse(s).unwrap();
        assert!(!n("100000").exceeds(100_000));
        assert!(n("100001").exceeds(100_000));
        assert!(n("99999999999999999999999").exceeds(u64::MAX));
        assert!(!n(&u64::MAX.to_string()).exceeds(u64::MAX));
        assert!(!n(&format!("-{}", "9".repeat(4000))).exceeds(0));
        assert!(n("1").exceeds(0));
        assert_eq!(n("0042").to_u64(), Some(42));
        assert_eq!(n("-42").to_u64(), None);
        assert_eq!(n("18446744073709551616").to_u64(), None);
    }
}
