//! Kept answers (`idempotency_keys.answer`) are stored compressed: LZ4 blocks (`lz4_flex`, pure
//! Rust), the answer's length first as 4 bytes little-endian.
//!
//! Why LZ4: the answer is compressed inside the write's own transaction, which on SQLite is the
//! one writer thread every write waits for. Measured on the answer to a sort of a 100-task page
//! (20,629 bytes of JSON, release build): LZ4 3,872 bytes (5.3×) in 13 µs; DEFLATE (`flate2`,
//! miniz_oxide) level 1 3,100 bytes (6.7×) in 108 µs, level 6 2,431 bytes (8.5×) in 457 µs.
//! DEFLATE would keep 20–37 % fewer bytes for 8–35× the writer's time; LZ4's ratio already
//! turns the day's growth from a disk-filling one into a few kilobytes a request.

use super::StoreError;

/// No answer listo writes comes near this (a page is at most 100 tasks); a length above it is
/// a damaged row, refused before anything is allocated for it.
const LARGEST: usize = 16 << 20;

/// The answer's JSON, compressed as it is stored.
pub(crate) fn pack(body: &str) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(body.as_bytes())
}

/// The answer's JSON back from its stored form.
pub(crate) fn unpack(stored: &[u8]) -> Result<String, StoreError> {
    let corrupt = |why: &str| StoreError::corrupt(format!("kept answer: {why}"));
    let (length, block) = stored
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("shorter than its length"))?;
    let length = u32::from_le_bytes(*length) as usize;
    if length > LARGEST {
        return Err(corrupt("longer than any answer"));
    }
    let raw = lz4_flex::block::decompress(block, length).map_err(|e| corrupt(&e.to_string()))?;
    String::from_utf8(raw).map_err(|_| corrupt("not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_back_as_they_went_in() {
        let page = format!(
            "{{\"items\":[{}],\"page\":1}}",
            (1..=100)
                .map(|i| format!(
                    "{{\"id\":{i},\"version\":2,\"position\":\"V{i:03}\",\"date\":\"2026-12-{:02}\",\"task\":\"Task {i}\",\"status\":\"Incomplete\"}}",
                    1 + i % 28
                ))
                .collect::<Vec<_>>()
                .join(",")
        );
        for body in ["", "{}", "{\"task\":\"clé ✓\"}", page.as_str()] {
            let stored = pack(body);
            assert_eq!(unpack(&stored).unwrap(), body);
        }
        assert!(pack(&page).len() * 4 < page.len(), "a page compresses well");
    }

    #[test]
    fn damaged_rows_are_refused() {
        let stored = pack("{\"id\":1}");
        assert!(unpack(&stored[..3]).is_err());
        assert!(unpack(&stored[..stored.len() - 1]).is_err());
        let mut huge = stored.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(unpack(&huge).is_err());
    }
}
