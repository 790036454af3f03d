//! Decimal digits two at a time, for the dates and instants every task answer writes.
//!
//! One table lookup per pair instead of a division and a remainder per digit: with instants kept
//! as stored milliseconds, writing a task's two instants with their member names went from about
//! 1,060 instructions to 510 (`bench/instructions.sh`, list page 1).

const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The two digits of `n` (0..=99; larger values are taken modulo 100).
pub(crate) fn pair(n: u32) -> &'static [u8] {
    let at = (n % 100) as usize * 2;
    &PAIRS[at..at + 2]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pair_reads_as_its_number() {
        for n in 0..100u32 {
            assert_eq!(super::pair(n), format!("{n:02}").as_bytes());
        }
    }
}
