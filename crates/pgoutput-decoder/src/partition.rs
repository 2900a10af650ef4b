//! Kafka's Java partitioner for keyed records: `toPositive(murmur2(key)) % partitions`
//! (`BuiltInPartitioner.partitionForKey`), which Kafka Connect's producer uses and librdkafka
//! reproduces with `partitioner=murmur2_random`. The Kafka sink relies on librdkafka; this is
//! the reference to check placement against, and to tell which partition holds a key.

/// Kafka's `Utils.murmur2`: the 32-bit MurmurHash2 with Kafka's seed, as a Java `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    // Java's int arithmetic wraps, and so does this; `length` is an int there.
    let mut h = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a record with this key among `partitions` (at least 1), as the Java
/// producer chooses it.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    // Utils.toPositive: the sign bit cleared, not the absolute value.
    ((murmur2(key) as u32) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own vectors (`UtilsTest.testMurmur2`).
    #[test]
    fn kafka_test_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (data, expected) in cases {
            assert_eq!(murmur2(data), expected, "{}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn partitions_clear_the_sign_bit() {
        // -973932308 & 0x7fffffff = 1173551340
        assert_eq!(partition_for_key(b"21", 1_000_000_000), 173_551_340);
        assert_eq!(partition_for_key(b"21", 1), 0);
        assert_eq!(partition_for_key(b"abc", 0), 0, "no division by zero");
        assert_eq!(
            partition_for_key(br#"{"id":1}"#, 3),
            partition_for_key(br#"{"id":1}"#, 3)
        );
    }
}
