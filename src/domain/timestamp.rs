//! `Timestamp`: an instant as listo stores it, whole milliseconds since the Unix epoch.

use super::{Invalid, digits};
use chrono::{DateTime, Utc};

/// The last millisecond of 9999-12-31: four-digit years, as every answer writes them.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// An instant from 1970 to the end of 9999, to the millisecond: what listo stores, and what
/// every task carries twice. Kept as the stored number so reading a row and writing an answer
/// need no calendar arithmetic but the one that formats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Refuses instants before 1970 or past 9999.
    pub fn from_millis(ms: i64) -> Result<Self, Invalid> {
        if (0..=MAX_MILLIS).contains(&ms) {
            Ok(Self(ms))
        } else {
            Err(Invalid(format!("timestamp {ms} is outside 1970..=9999")))
        }
    }

    /// The same instant as chrono holds it.
    pub fn to_datetime(self) -> DateTime<Utc> {
        // In range by construction.
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// RFC 3339 as chrono's `to_rfc3339` writes it (`+00:00`, and milliseconds unless they are
    /// 0), into `buf`; returns the bytes written (ASCII).
    pub fn write_rfc3339(self, buf: &mut [u8; 29]) -> &[u8] {
        // Unsigned: never negative by construction, and unsigned division needs no sign fix-ups.
        let ms = self.0 as u64;
        let (days, in_day) = (ms / 86_400_000, ms % 86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (secs, millis) = ((in_day / 1000) as u32, (in_day % 1000) as u32);
        buf[..2].copy_from_slice(digits::pair(year / 100));
        buf[2..4].copy_from_slice(digits::pair(year % 100));
        buf[5..7].copy_from_slice(digits::pair(month));
        buf[8..10].copy_from_slice(digits::pair(day));
        buf[11..13].copy_from_slice(digits::pair(secs / 3600));
        buf[14..16].copy_from_slice(digits::pair(secs / 60 % 60));
        buf[17..19].copy_from_slice(digits::pair(secs % 60));
        buf[4] = b'-';
        buf[7] = b'-';
        buf[10] = b'T';
        buf[13] = b':';
        buf[16] = b':';
        let len = if millis == 0 {
            19
        } else {
            buf[19] = b'.';
            buf[20] = b'0' + (millis / 100) as u8;
            buf[21..23].copy_from_slice(digits::pair(millis % 100));
            23
        };
        buf[len..len + 6].copy_from_slice(b"+00:00");
        &buf[..len + 6]
    }
}

/// The calendar date `days` after 1970-01-01, by Howard Hinnant's `civil_from_days`: a few
/// dozen instructions where chrono's date arithmetic took several hundred.
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + u64::from(month <= 2)) as u32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{MAX_MILLIS, Timestamp};
    use rand::{RngExt, SeedableRng};

    #[test]
    fn written_as_chrono_writes_it() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut cases: Vec<i64> = vec![0, 1, 999, 1_000, 1_764_063_970_017, MAX_MILLIS];
        cases.extend((0..20_000).map(|_| rng.random_range(0..=MAX_MILLIS)));
        for ms in cases {
            let at = Timestamp::from_millis(ms).unwrap();
            let mut buf = [0u8; 29];
            let ours = std::str::from_utf8(at.write_rfc3339(&mut buf))
                .unwrap()
                .to_owned();
            assert_eq!(ours, at.to_datetime().to_rfc3339(), "{ms}");
            assert_eq!(at.to_datetime().timestamp_millis(), ms);
        }
    }

    #[test]
    fn only_four_digit_years_after_1970() {
        assert!(Timestamp::from_millis(-1).is_err());
        assert!(Timestamp::from_millis(MAX_MILLIS + 1).is_err());
    }
}
