//! Deterministic fuzzing in the normal test suite: mutations of the real captures (bit flips,
//! interesting values, truncations, splices, insertions, deletions) and random byte strings.
//! Nothing may panic; every result must be self-consistent. The cargo-fuzz target in the
//! repository's fuzz/ directory explores further, without a time limit.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use common::{decode_fixture, frames, FIXTURES};
use pgoutput::replication::{parse_copy_data, ReplicationMessage};
use pgoutput::{decode_message, Decoder, Message};

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

const INTERESTING_BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'n', b'u', b't', b'b', b'K', b'O', b'N', b'd', b'f', b'i',
];
const INTERESTING_INTS: &[u32] = &[0, 1, 2, 0xff, 0xffff, 0x7fff_ffff, 0x8000_0000, u32::MAX];
const TAGS: &[u8] = b"BCORYIUDTMSEcAbPKrpwk";

struct Seed {
    data: Bytes,
    in_stream: bool,
    proto: u32,
}

fn corpus() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for &(name, proto) in FIXTURES {
        for (row, _, in_stream) in decode_fixture(name, proto) {
            seeds.push(Seed {
                data: row.data,
                in_stream,
                proto,
            });
        }
    }
    for frame in frames() {
        seeds.push(Seed {
            data: frame,
            in_stream: false,
            proto: 1,
        });
    }
    seeds
}

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Seed]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.byte();
            }
            2 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
            }
            3 => v.truncate(rng.below(len + 1)),
            4 => {
                let other = &corpus[rng.below(corpus.len())].data;
                v.truncate(rng.below(len + 1));
                v.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
            5 => {
                let at = rng.below(len + 1);
                let extra: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.byte()).collect();
                v.splice(at..at, extra);
            }
            6 if len > 0 => {
                let start = rng.below(len);
                let end = start + rng.below(len - start + 1);
                v.drain(start..end);
            }
            7 if len >= 4 => {
                let value = INTERESTING_INTS[rng.below(INTERESTING_INTS.len())];
                let at = rng.below(len - 3);
                if rng.below(2) == 0 {
                    v[at..at + 4].copy_from_slice(&value.to_be_bytes());
                } else {
                    v[at..at + 2].copy_from_slice(&(value as u16).to_be_bytes());
                }
            }
            _ => v.push(rng.byte()),
        }
    }
    v
}

/// Runs every entry point on `input` and checks the results agree with the input.
fn exercise(input: &[u8], in_stream: bool, proto: u32) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let bytes = Bytes::copy_from_slice(input);
        for (stream, version) in [(in_stream, proto), (!in_stream, proto), (in_stream, 1)] {
            match decode_message(bytes.clone(), stream, version) {
                Ok(message) => {
                    assert_eq!(Some(&message.tag()), input.first());
                    let _ = format!("{message:?}");
                }
                Err(err) => assert!(!err.to_string().is_empty()),
            }
        }
        match parse_copy_data(bytes) {
            Ok(ReplicationMessage::XLogData(x)) => {
                assert_eq!(input.first(), Some(&b'w'));
                assert_eq!(x.data.len() + 25, input.len());
                let _ = Decoder::new(proto).decode(x.data);
            }
            Ok(ReplicationMessage::PrimaryKeepalive(_)) => assert_eq!(input.len(), 18),
            Err(err) => assert!(!err.to_string().is_empty()),
        }
    }));
    if outcome.is_err() {
        panic!("panic on input {input:02x?} (in_stream {in_stream}, proto {proto})");
    }
}

#[test]
fn mutated_captures_never_panic() {
    let corpus = corpus();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..150_000 {
        let seed = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, &seed.data, &corpus);
        exercise(&input, seed.in_stream, seed.proto);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..100_000 {
        let len = rng.below(64);
        let mut input: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Mostly start with a valid tag so decoding gets past the first byte.
        if len > 0 && rng.below(10) != 0 {
            input[0] = TAGS[rng.below(TAGS.len())];
        }
        exercise(&input, rng.below(2) == 0, 1 + rng.below(4) as u32);
    }
}

/// Whole sessions with some messages corrupted: the decoder's stream state must only move on
/// messages that decoded.
#[test]
fn mutated_sessions_keep_decoder_state_sane() {
    let corpus = corpus();
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for &(name, proto) in FIXTURES {
        for _ in 0..20 {
            let mut decoder = Decoder::new(proto);
            for (row, _, _) in decode_fixture(name, proto) {
                let data = if rng.below(10) == 0 {
                    Bytes::from(mutate(&mut rng, &row.data, &corpus))
                } else {
                    row.data
                };
                let before = decoder.in_stream();
                match decoder.decode(data) {
                    Ok(Message::StreamStart(_)) => assert!(decoder.in_stream()),
                    Ok(Message::StreamStop) => assert!(!decoder.in_stream()),
                    Ok(_) | Err(_) => assert_eq!(decoder.in_stream(), before),
                }
            }
        }
    }
}
