//! Fractional-index keys for the user's task order.
//!
//! A key is the base-62 fraction `0.d1d2…dn` written with the digits `0-9A-Za-z`, whose ASCII
//! order is their numeric order, so SQLite's plain text order is the list order. Keys never end
//! in `0`, which keeps every fraction to a single spelling and leaves room between any two keys.

use super::Invalid;

const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: u64 = 62;
/// Appends and prepends step by one unit at this many digits, so a list can grow by millions
/// at either end with keys of four or five characters.
const STEP_DIGITS: usize = 4;
/// Past this length the owner's keys are respaced (see `store::tasks`).
const REBALANCE_LEN: usize = 64;

/// What a key `SortKey` produces looks like: digits and letters, not ending in `0`.
fn check_key(raw: &str) -> Result<(), Invalid> {
    let ok =
        !raw.is_empty() && !raw.ends_with('0') && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Invalid(format!("{raw:?} is not a sort key")))
    }
}

/// A position in one user's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortKey(String);

impl SortKey {
    /// Reads a stored key back, refusing anything `SortKey` could not have produced.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        check_key(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether the key has grown long enough that the owner's keys should be respaced.
    pub fn needs_rebalance(&self) -> bool {
        self.0.len() > REBALANCE_LEN
    }

    /// A key strictly between `lower` and `upper` (an open end when `None`).
    pub fn between(lower: Option<&SortKey>, upper: Option<&SortKey>) -> SortKey {
        match (lower, upper) {
            (Some(a), None) => a.after(),
            (None, Some(b)) => b.before(),
            (a, b) => {
                let a = a.map(|k| values(&k.0)).unwrap_or_default();
                let b = b.map(|k| values(&k.0));
                debug_assert!(
                    b.as_ref().is_none_or(|b| a < *b),
                    "lower must sort before upper"
                );
                from_values(&midpoint(&a, b.as_deref()))
            }
        }
    }

    /// `n` evenly spaced keys of equal, minimal length: what a rebalance writes.
    pub fn spread(n: usize) -> Vec<SortKey> {
        let slots = n as u64 + 1;
        let mut width = 1u32;
        // At least two units between neighbours, so each gap still has a one-digit-longer midpoint.
        while BASE.pow(width) < 2 * slots {
            width += 1;
        }
        let space = BASE.pow(width);
        (1..slots)
            .map(|i| from_values(&to_digits(i * space / slots, width as usize)))
            .collect()
    }

    fn after(&self) -> SortKey {
        let digits = values(&self.0);
        let floor = leading_value(&digits);
        if floor + 1 < BASE.pow(STEP_DIGITS as u32) {
            from_values(&to_digits(floor + 1, STEP_DIGITS))
        } else {
            from_values(&midpoint(&digits, None))
        }
    }

    fn before(&self) -> SortKey {
        let digits = values(&self.0);
        let floor = leading_value(&digits);
        // A key longer than STEP_DIGITS sits above its floor, so the floor itself is free.
        let candidate = if digits.len() > STEP_DIGITS {
            floor
        } else {
            floor - 1
        };
        if candidate >= 1 {
            from_values(&to_digits(candidate, STEP_DIGITS))
        } else {
            from_values(&midpoint(&[], Some(&digits)))
        }
    }
}

/// The midpoint of two fractions given as digit values, `a < b`, `b = None` meaning 1.
fn midpoint(a: &[u8], b: Option<&[u8]>) -> Vec<u8> {
    if let Some(b) = b {
        let shared = b
            .iter()
            .enumerate()
            .take_while(|&(i, &d)| a.get(i).copied().unwrap_or(0) == d)
            .count();
        if shared > 0 {
            let mut out = b[..shared].to_vec();
            out.extend(midpoint(a.get(shared..).unwrap_or(&[]), Some(&b[shared..])));
            return out;
        }
    }
    let da = u64::from(a.first().copied().unwrap_or(0));
    let db = b.map_or(BASE, |b| u64::from(b[0]));
    if db - da > 1 {
        vec![((da + db) / 2) as u8]
    } else if let Some(b) = b.filter(|b| b.len() > 1) {
        // b's first digit alone is above a and below b.
        vec![b[0]]
    } else {
        let mut out = vec![da as u8];
        out.extend(midpoint(a.get(1..).unwrap_or(&[]), None));
        out
    }
}

fn values(key: &str) -> Vec<u8> {
    key.bytes()
        .map(|c| {
            DIGITS
                .iter()
                .position(|&d| d == c)
                .expect("SortKey holds only digits") as u8
        })
        .collect()
}

fn from_values(values: &[u8]) -> SortKey {
    let len = values.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
    debug_assert!(len > 0, "a key is never zero");
    SortKey(
        values[..len]
            .iter()
            .map(|&v| DIGITS[v as usize] as char)
            .collect(),
    )
}

fn leading_value(digits: &[u8]) -> u64 {
    (0..STEP_DIGITS).fold(0, |acc, i| {
        acc * BASE + u64::from(digits.get(i).copied().unwrap_or(0))
    })
}

fn to_digits(mut value: u64, width: usize) -> Vec<u8> {
    let mut out = vec![0u8; width];
    for slot in out.iter_mut().rev() {
        *slot = (value % BASE) as u8;
        value /= BASE;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SortKey {
        SortKey::parse(s).unwrap()
    }

    fn assert_between(lower: Option<&SortKey>, upper: Option<&SortKey>, k: &SortKey) {
        assert!(lower.is_none_or(|l| l < k), "{lower:?} < {k:?}");
        assert!(upper.is_none_or(|u| k < u), "{k:?} < {upper:?}");
        assert!(!k.0.ends_with('0'));
    }

    #[test]
    fn parse_refuses_foreign_text() {
        for bad in ["", "a0", "a-b", "~1", "é"] {
            assert!(SortKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn between_handles_open_ends_and_neighbours() {
        let cases = [
            (None, None),
            (Some("V"), None),
            (None, Some("V")),
            (Some("a"), Some("b")),
            (Some("a"), Some("a1")),
            (Some("a"), Some("a01")),
            (Some("az"), Some("b")),
            (Some("zzzz"), None),
            (None, Some("0001")),
            (Some("1"), Some("2")),
        ];
        for (lo, hi) in cases {
            let (lo, hi) = (lo.map(key), hi.map(key));
            let k = SortKey::between(lo.as_ref(), hi.as_ref());
            assert_between(lo.as_ref(), hi.as_ref(), &k);
        }
    }

    #[test]
    fn appends_and_prepends_stay_short() {
        let mut last = SortKey::between(None, None);
        for _ in 0..100_000 {
            let next = SortKey::between(Some(&last), None);
            assert!(next > last);
            last = next;
        }
        assert!(last.0.len() <= STEP_DIGITS, "{last:?}");
        let mut first = SortKey::between(None, None);
        for _ in 0..100_000 {
            let next = SortKey::between(None, Some(&first));
            assert!(next < first);
            first = next;
        }
        assert!(first.0.len() <= STEP_DIGITS, "{first:?}");
    }

    #[test]
    fn repeated_inserts_into_one_gap_stay_ordered() {
        let (lo, mut hi) = (key("V"), key("W"));
        for _ in 0..300 {
            let k = SortKey::between(Some(&lo), Some(&hi));
            assert_between(Some(&lo), Some(&hi), &k);
            hi = k;
        }
    }

    #[test]
    fn spread_is_ascending_short_and_distinct() {
        for n in [1, 2, 61, 62, 1000, 100_000] {
            let keys = SortKey::spread(n);
            assert_eq!(keys.len(), n);
            assert!(keys.windows(2).all(|p| p[0] < p[1]), "n={n}");
            assert!(keys.iter().all(|k| k.0.len() <= 4), "n={n}");
        }
    }
}
