//! `JsonAnswer`: a JSON answer serde writes straight into bytes.
//!
//! poem-openapi's `Json` first builds a `serde_json::Value` tree (an `IndexMap` per object,
//! every string copied), then serializes and drops it: for a list page of 20 tasks that was 310k
//! of the 815k instructions of the whole request (`bench/instructions.sh`). The document is the
//! same: the schema still comes from the type's `Object` derive; the answer from its
//! `Serialize` derive, whose output the tests hold equal to the `Object` one.

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// A 200 JSON answer (or the payload of another status in a response enum).
pub struct JsonAnswer<T>(pub T);

impl<T: Type> Payload for JsonAnswer<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for JsonAnswer<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .content_type(Self::CONTENT_TYPE_VALUE)
                .body(body),
            Err(e) => super::problem::ApiError::internal(&e).into_response(),
        }
    }
}

impl<T> JsonAnswer<T> {
    const CONTENT_TYPE_VALUE: &'static str = "application/json; charset=utf-8";
}

impl<T: Type + Serialize + Send> ApiResponse for JsonAnswer<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE_VALUE,
                    schema: T::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// An instant as poem-openapi writes one (`DateTime::to_rfc3339`: `+00:00`, and milliseconds
/// unless they are 0), built by hand: chrono's formatter cost about 900 instructions a value.
/// listo stores instants to the millisecond, so no other fraction occurs.
pub fn instant<S: serde::Serializer>(
    at: &chrono::DateTime<chrono::Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 29];
    serializer.serialize_str(&format_instant(at, &mut buf))
}

/// Writes `at` as [`instant`] does, into `buf` when it can.
pub fn format_instant<'b>(
    at: &chrono::DateTime<chrono::Utc>,
    buf: &'b mut [u8; 29],
) -> std::borrow::Cow<'b, str> {
    use chrono::{Datelike, Timelike};
    let (date, time) = (at.date_naive(), at.time());
    let year = date.year();
    // Years past 9999, fractions finer than a millisecond and leap seconds are not values
    // listo makes; chrono knows how to write them.
    if !(0..=9999).contains(&year)
        || time.nanosecond() % 1_000_000 != 0
        || time.nanosecond() >= 1_000_000_000
    {
        return at.to_rfc3339().into();
    }
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, date.month(), 2);
    put(8, date.day(), 2);
    put(11, time.hour(), 2);
    put(14, time.minute(), 2);
    put(17, time.second(), 2);
    let millis = time.nanosecond() / 1_000_000;
    let len = if millis == 0 {
        19
    } else {
        put(20, millis, 3);
        buf[19] = b'.';
        23
    };
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[len..len + 6].copy_from_slice(b"+00:00");
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&buf[..len + 6])
}

#[cfg(test)]
mod tests {
    use super::format_instant;
    use chrono::{TimeZone, Utc};
    use rand::{RngExt, SeedableRng};

    #[test]
    fn instants_read_as_chrono_writes_them() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut cases: Vec<i64> = vec![0, 1, 999, 1_000, 1_764_063_970_017, 253_402_300_799_999];
        cases.extend((0..10_000).map(|_| rng.random_range(0..253_402_300_799_999)));
        for ms in cases {
            let at = Utc.timestamp_millis_opt(ms).unwrap();
            let mut buf = [0u8; 29];
            assert_eq!(format_instant(&at, &mut buf), at.to_rfc3339(), "{ms}");
        }
        for nanos in [1, 999_999_999, 1_500_000_000] {
            let at = Utc.timestamp_nanos(1_764_063_970_000_000_000 + nanos);
            let mut buf = [0u8; 29];
            assert_eq!(format_instant(&at, &mut buf), at.to_rfc3339(), "{nanos}");
        }
    }
}
