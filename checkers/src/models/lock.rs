//! A mutex or lease lock whose grants carry fencing tokens.
//!
//! The client is the history's process. `acquire` returns a fencing token
//! (or `null` if the lock issues none); `release` gives the lock back.
//!
//! * Mutual exclusion (`lock`): an acquire succeeds only while nobody holds
//!   the lock. In lease mode (`lease`), an acquire may also succeed while
//!   another client holds it (its lease is taken to have expired); only the
//!   fencing tokens then protect the resource.
//! * A release succeeds only for the current holder.
//! * `expire` (value: a client's process) ends that client's lease if it
//!   still holds the lock, and does nothing otherwise. No client invokes it:
//!   a driver adds one where a holder's process ended by a crash, at the
//!   latest time its lease can have been valid (see the redlock driver), so
//!   that a crashed holder does not hold the lock forever, or where the
//!   service itself ended a live client's hold (a coordination service
//!   expiring the session it was granted under).
//! * Fencing tokens strictly increase from grant to grant. A grant whose token
//!   is unknown (indeterminate acquire, or `null`) still used up a token, so the
//!   state keeps a lower bound for the next token rather than the last one:
//!   with integer tokens that bound is exact.

use sim_core::history::HistoryEntry;

use super::{json_i64, unknown_f};
use crate::model::{HistoryModel, Model};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockInput {
    Acquire {
        client: u64,
    },
    Release {
        client: u64,
    },
    /// The lease of `client` runs out (it never released: it crashed, or
    /// the service expired it).
    Expire {
        client: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockOutput {
    /// A granted acquire and its fencing token, if any.
    Granted(Option<i64>),
    Released,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockState {
    pub holder: Option<u64>,
    /// Every later token must be at least this.
    pub next_token_min: i64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Lock {
    /// Lease semantics: an acquire may take the lock from its holder.
    pub lease: bool,
}

impl Lock {
    pub fn mutex() -> Lock {
        Lock { lease: false }
    }

    pub fn lease() -> Lock {
        Lock { lease: true }
    }
}

impl Model for Lock {
    type State = LockState;
    type Input = LockInput;
    type Output = LockOutput;

    fn name(&self) -> &'static str {
        if self.lease {
            "lease"
        } else {
            "lock"
        }
    }

    fn init(&self) -> LockState {
        LockState {
            holder: None,
            next_token_min: i64::MIN,
        }
    }

    fn step(
        &self,
        state: &LockState,
        input: &LockInput,
        output: Option<&LockOutput>,
    ) -> Option<LockState> {
        match input {
            LockInput::Acquire { client } => {
                if state.holder.is_some() && !self.lease {
                    return None;
                }
                let token = match output {
                    Some(LockOutput::Granted(t)) => *t,
                    _ => None,
                };
                let next_token_min = match token {
                    Some(t) if t < state.next_token_min => return None,
                    Some(t) => t.saturating_add(1),
                    None => state.next_token_min.saturating_add(1),
                };
                Some(LockState {
                    holder: Some(*client),
                    next_token_min,
                })
            }
            LockInput::Release { client } => (state.holder == Some(*client)).then_some(LockState {
                holder: None,
                next_token_min: state.next_token_min,
            }),
            LockInput::Expire { client } => Some(LockState {
                holder: state.holder.filter(|h| h != client),
                next_token_min: state.next_token_min,
            }),
        }
    }

    fn describe_op(&self, input: &LockInput, output: Option<&LockOutput>) -> String {
        match (input, output) {
            (LockInput::Acquire { client }, Some(LockOutput::Granted(Some(t)))) => {
                format!("acquire by {client} -> token {t}")
            }
            (LockInput::Acquire { client }, Some(_)) => format!("acquire by {client}"),
            (LockInput::Acquire { client }, None) => format!("acquire by {client} (indeterminate)"),
            (LockInput::Release { client }, Some(_)) => format!("release by {client}"),
            (LockInput::Release { client }, None) => format!("release by {client} (indeterminate)"),
            (LockInput::Expire { client }, _) => format!("lease of {client} expires"),
        }
    }

    fn describe_state(&self, state: &LockState) -> String {
        let holder = match state.holder {
            Some(c) => format!("held by {c}"),
            None => "free".to_string(),
        };
        if state.next_token_min == i64::MIN {
            holder
        } else {
            format!("{holder}, next token >= {}", state.next_token_min)
        }
    }
}

impl HistoryModel for Lock {
    fn decode_input(&self, invoke: &HistoryEntry) -> Result<LockInput, String> {
        let client = invoke.process;
        match invoke.f.as_str() {
            "acquire" | "lock" => Ok(LockInput::Acquire { client }),
            "release" | "unlock" => Ok(LockInput::Release { client }),
            "expire" => {
                let client = json_i64(&invoke.value, "expiring client")?;
                u64::try_from(client)
                    .map(|client| LockInput::Expire { client })
                    .map_err(|_| format!("expiring client must be a process, got {client}"))
            }
            f => Err(unknown_f(f, self.name(), "acquire, release, expire")),
        }
    }

    fn decode_output(
        &self,
        input: &LockInput,
        completion: &HistoryEntry,
    ) -> Result<LockOutput, String> {
        Ok(match input {
            LockInput::Acquire { .. } if completion.value.is_null() => LockOutput::Granted(None),
            LockInput::Acquire { .. } => {
                LockOutput::Granted(Some(json_i64(&completion.value, "fencing token")?))
            }
            LockInput::Release { .. } => LockOutput::Released,
            LockInput::Expire { .. } => LockOutput::Expired,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acq(m: &Lock, s: &LockState, client: u64, token: Option<i64>) -> Option<LockState> {
        m.step(
            s,
            &LockInput::Acquire { client },
            Some(&LockOutput::Granted(token)),
        )
    }

    #[test]
    fn mutex_excludes_and_tokens_increase() {
        let m = Lock::mutex();
        let s = acq(&m, &m.init(), 1, Some(5)).unwrap();
        assert!(acq(&m, &s, 2, Some(6)).is_none(), "held: no second grant");
        assert!(m
            .step(&s, &LockInput::Release { client: 2 }, None)
            .is_none());
        let s = m.step(&s, &LockInput::Release { client: 1 }, None).unwrap();
        assert!(acq(&m, &s, 2, Some(5)).is_none(), "token must increase");
        assert!(acq(&m, &s, 2, Some(6)).is_some());
    }

    #[test]
    fn expiry_frees_only_its_own_holders_lock() {
        let m = Lock::mutex();
        let s = acq(&m, &m.init(), 1, None).unwrap();
        let same = m.step(&s, &LockInput::Expire { client: 2 }, None).unwrap();
        assert!(acq(&m, &same, 2, None).is_none(), "1 still holds it");
        let s = m.step(&s, &LockInput::Expire { client: 1 }, None).unwrap();
        assert!(acq(&m, &s, 2, None).is_some(), "1's lease ran out");
    }

    #[test]
    fn unknown_token_uses_one_up() {
        let m = Lock::lease();
        let s = acq(&m, &m.init(), 1, Some(1)).unwrap();
        // Indeterminate grant: its token is at least 2.
        let s = m.step(&s, &LockInput::Acquire { client: 2 }, None).unwrap();
        assert!(acq(&m, &s, 3, Some(2)).is_none());
        assert!(acq(&m, &s, 3, Some(3)).is_some(), "lease: may take over");
    }
}
