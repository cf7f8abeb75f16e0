//! A DynamoDB item as plain JSON: `N` → number (exactly as stored), `S` → string, `BOOL`,
//! `NULL` → null, `L`/`M` → array/object (keys sorted), `SS`/`NS` → arrays, `B`/`BS` →
//! standard base64 strings (as the DynamoDB JSON protocol itself encodes binary).
//!
//! Written by hand rather than with `serde_dynamo`, because that crate reads every `N` through
//! `f64`: `12345678901234567890123456789012345678` (DynamoDB keeps 38 digits) would come out as
//! `1.2345678901234568e37`, and `-0.50` as `-0.5`. Here the stored text is written as it is;
//! `exact_numbers_survive` below shows it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::base64;
use serde_json::value::RawValue;

/// The item as one JSON document, `null` when there is none; `None` only if the result were
/// not valid JSON, which the writer never produces.
pub(super) fn item(item: Option<&HashMap<String, AttributeValue>>) -> Option<Box<RawValue>> {
    let mut json = String::new();
    match item {
        Some(item) => write_map(item, &mut json),
        None => json.push_str("null"),
    }
    RawValue::from_string(json).ok()
}

fn write_map(map: &HashMap<String, AttributeValue>, out: &mut String) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        write_value(&map[key], out);
    }
    out.push('}');
}

fn write_value(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(s) => write_string(s, out),
        AttributeValue::N(n) => write_number(n, out),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::B(blob) => write_string(&base64::encode(blob), out),
        AttributeValue::M(map) => write_map(map, out),
        AttributeValue::L(list) => write_list(list, out, write_value),
        AttributeValue::Ss(strings) => write_list(strings, out, |s, out| write_string(s, out)),
        AttributeValue::Ns(numbers) => write_list(numbers, out, |n, out| write_number(n, out)),
        AttributeValue::Bs(blobs) => {
            write_list(blobs, out, |b, out| write_string(&base64::encode(b), out))
        }
        // `NULL`, and any attribute type newer than this code.
        _ => out.push_str("null"),
    }
}

fn write_list<T>(items: &[T], out: &mut String, write: impl Fn(&T, &mut String)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(item, out);
    }
    out.push(']');
}

fn write_string(s: &str, out: &mut String) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// DynamoDB numbers have up to 38 digits: keep the text rather than round through `f64`.
fn write_number(n: &str, out: &mut String) {
    let is_json_number = serde_json::from_str::<&RawValue>(n).is_ok_and(|raw| {
        raw.get()
            .starts_with(|c: char| c == '-' || c.is_ascii_digit())
    });
    if is_json_number {
        out.push_str(n);
    } else {
        write_string(n, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    #[test]
    fn every_attribute_type_becomes_plain_json() {
        let item = HashMap::from([
            ("id".to_owned(), AttributeValue::N("1".into())),
            (
                "big".to_owned(),
                AttributeValue::N("12345678901234567890123456789012345678".into()),
            ),
            ("price".to_owned(), AttributeValue::N("-0.50".into())),
            (
                "name".to_owned(),
                AttributeValue::S("a \"quoted\" ü".into()),
            ),
            ("ok".to_owned(), AttributeValue::Bool(true)),
            ("none".to_owned(), AttributeValue::Null(true)),
            (
                "bin".to_owned(),
                AttributeValue::B(Blob::new(b"hi".to_vec())),
            ),
            (
                "bins".to_owned(),
                AttributeValue::Bs(vec![Blob::new(b"a".to_vec())]),
            ),
            (
                "tags".to_owned(),
                AttributeValue::Ss(vec!["x".into(), "y".into()]),
            ),
            (
                "nums".to_owned(),
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ),
            (
                "list".to_owned(),
                AttributeValue::L(vec![
                    AttributeValue::S("s".into()),
                    AttributeValue::Null(true),
                ]),
            ),
            (
                "map".to_owned(),
                AttributeValue::M(HashMap::from([
                    ("b".to_owned(), AttributeValue::N("2".into())),
                    ("a".to_owned(), AttributeValue::Bool(false)),
                ])),
            ),
        ]);
        let mut json = String::new();
        write_map(&item, &mut json);
        assert_eq!(
            json,
            r#"{"big":12345678901234567890123456789012345678,"bin":"aGk=","bins":["YQ=="],"id":1,"list":["s",null],"map":{"a":false,"b":2},"name":"a \"quoted\" ü","none":null,"nums":[1,2.5],"ok":true,"price":-0.50,"tags":["x","y"]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(parsed.is_object());
    }

    /// The numbers `serde_dynamo` would round through `f64` keep every digit here.
    #[test]
    fn exact_numbers_survive() {
        for n in [
            "12345678901234567890123456789012345678",
            "-0.50",
            "1E+2",
            "0.000001",
        ] {
            let item = HashMap::from([("n".to_owned(), AttributeValue::N(n.into()))]);
            let json = super::item(Some(&item)).unwrap();
            assert_eq!(json.get(), format!(r#"{{"n":{n}}}"#));
        }
    }

    #[test]
    fn no_item_is_null() {
        assert_eq!(super::item(None).unwrap().get(), "null");
    }

    #[test]
    fn a_number_that_is_not_json_stays_text() {
        let mut out = String::new();
        write_number("NaN", &mut out);
        assert_eq!(out, r#""NaN""#);
    }
}
