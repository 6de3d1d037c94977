//! The compact binary form of log entries on the simulated disk.
//!
//! Every entry a replica appends is written to its storage, so the encoding
//! is on the path of every client request, on every replica. An entry is its
//! term, a tag, and for a client request the client, session and sequence
//! number, all little-endian, then the operation as its state machine writes
//! it ([`StateMachine::encode_op`]: JSON unless the state machine knows a
//! more compact form, as the key-value store does). A snapshot is its log
//! position, then the state as its state machine writes it
//! ([`StateMachine::encode_state`], same rule). The hard state, written
//! rarely, stays JSON.
//!
//! Decoding never panics: a short or unknown record is an error naming what
//! was missing, which `persist::load` reports with the record's index.

use super::msg::{Command, Entry, Snapshot};
use super::state_machine::StateMachine;

const NOOP: u8 = 0;
const CLIENT: u8 = 1;

/// Appends `value`'s bytes, little-endian.
pub fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Reads what the `put_*` functions wrote, front to back.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn take<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let Some((head, rest)) = self.rest.split_first_chunk::<N>() else {
            return Err(format!(
                "{what}: record ends after {} bytes",
                self.rest.len()
            ));
        };
        self.rest = rest;
        Ok(*head)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take::<1>(what)?[0])
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(what)?))
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }

    /// Checks that nothing is left over.
    pub fn end(self, what: &str) -> Result<(), String> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(format!("{what}: {n} bytes left over")),
        }
    }
}

/// Appends `entry`'s record to `out` (the log's buffer on disk: no
/// allocation of its own).
pub fn encode_entry<S: StateMachine>(entry: &Entry<S>, out: &mut Vec<u8>) {
    put_u64(out, entry.term());
    match entry.command() {
        Command::Noop => out.push(NOOP),
        Command::Client {
            client,
            session,
            seq,
            op,
        } => {
            out.push(CLIENT);
            put_u32(out, *client);
            put_u64(out, *session);
            put_u64(out, *seq);
            S::encode_op(op, out);
        }
    }
}

pub fn decode_entry<S: StateMachine>(bytes: &[u8]) -> Result<Entry<S>, String> {
    let mut r = Reader::new(bytes);
    let term = r.u64("term")?;
    let command = match r.u8("command")? {
        NOOP => {
            r.end("no-op")?;
            Command::Noop
        }
        CLIENT => {
            let client = r.u32("client")?;
            let session = r.u64("session")?;
            let seq = r.u64("seq")?;
            let op = S::decode_op(r.rest())?;
            Command::Client {
                client,
                session,
                seq,
                op,
            }
        }
        tag => return Err(format!("command: unknown tag {tag}")),
    };
    Ok(Entry::new(term, command))
}

pub fn encode_snapshot<S: StateMachine>(snapshot: &Snapshot<S>) -> Vec<u8> {
    let mut out = Vec::new();
    put_u64(&mut out, snapshot.last_index);
    put_u64(&mut out, snapshot.last_term);
    put_u64(&mut out, snapshot.chain);
    snapshot.state.encode_state(&mut out);
    out
}

pub fn decode_snapshot<S: StateMachine>(bytes: &[u8]) -> Result<Snapshot<S>, String> {
    let mut r = Reader::new(bytes);
    Ok(Snapshot {
        last_index: r.u64("last index")?,
        last_term: r.u64("last term")?,
        chain: r.u64("chain")?,
        state: S::decode_state(r.rest())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::kv::KvState;
    use crate::workload::ClientOp;

    fn encoded(entry: &Entry<KvState>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_entry(entry, &mut out);
        out
    }

    fn client(op: ClientOp) -> Entry<KvState> {
        Entry::new(
            7,
            Command::Client {
                client: 12,
                session: u64::MAX - 3,
                seq: 41,
                op,
            },
        )
    }

    #[test]
    fn every_kind_of_entry_round_trips() {
        let entries = [
            Entry::new(3, Command::Noop),
            client(ClientOp::Read { key: 9 }),
            client(ClientOp::Write {
                key: u32::MAX,
                value: 1 << 63,
            }),
            client(ClientOp::Cas {
                key: 0,
                expected: 5,
                new: 6,
            }),
        ];
        for e in entries {
            let bytes = encoded(&e);
            assert_eq!(decode_entry::<KvState>(&bytes), Ok(e));
        }
    }

    #[test]
    fn snapshots_round_trip_and_a_short_one_is_an_error() {
        let mut state = KvState::default();
        for (session, key) in [(1, 3), (u64::MAX, u32::MAX), (7, 0)] {
            let op = ClientOp::Write {
                key,
                value: session,
            };
            state.apply(0, session, 2, &op, true);
        }
        state.apply(0, 9, 1, &ClientOp::Read { key: 3 }, true);
        let snapshot = Snapshot {
            last_index: 12,
            last_term: 3,
            chain: u64::MAX - 1,
            state,
        };
        let bytes = encode_snapshot(&snapshot);
        assert_eq!(decode_snapshot::<KvState>(&bytes), Ok(snapshot));
        for cut in 0..bytes.len() {
            let err = decode_snapshot::<KvState>(&bytes[..cut]).unwrap_err();
            assert!(err.contains("record ends"), "{cut}: {err}");
        }
    }

    #[test]
    fn short_or_unknown_records_are_errors() {
        let bytes = encoded(&client(ClientOp::Write { key: 1, value: 2 }));
        for cut in 0..bytes.len() {
            let err = decode_entry::<KvState>(&bytes[..cut]).unwrap_err();
            assert!(err.contains("record ends"), "{cut}: {err}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_entry::<KvState>(&long)
            .unwrap_err()
            .contains("left over"));
        let mut tag = bytes;
        tag[8] = 9;
        assert!(decode_entry::<KvState>(&tag)
            .unwrap_err()
            .contains("unknown tag 9"));
    }
}
