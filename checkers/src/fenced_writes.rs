//! Mutual exclusion as a guarded resource sees it: the writes it accepted,
//! in its own order, each tagged with the lock grant it was made under.
//!
//! Two conditions, both about the resource's order and not about time:
//! every accepted write's token is at least every earlier accepted write's
//! (a stale holder got through otherwise), and the writes of one grant form
//! one run: once another grant has written, an earlier grant never writes
//! again (two holders' writes interleaved). A grant is its token and its
//! holder together, so that a token handed out twice is two grants.

/// One accepted write: the fencing token it carried (`None` from a lock that
/// issues none) and the holder that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FencedWrite {
    pub token: Option<u64>,
    pub holder: u64,
}

/// `Err` names the first write (by its index in `writes`) that breaks a
/// condition, and which.
pub fn check_fenced_writes(writes: &[FencedWrite]) -> Result<(), String> {
    let mut highest: Option<u64> = None;
    // Grants whose run has ended (another grant wrote after them).
    let mut ended: Vec<FencedWrite> = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        if let (Some(t), Some(h)) = (w.token, highest) {
            if t < h {
                return Err(format!(
                    "write {i} by holder {} carries token {t}, below token {h} accepted before it",
                    w.holder
                ));
            }
        }
        highest = highest.max(w.token);
        if ended.contains(w) {
            return Err(format!(
                "write {i}: holder {} wrote again after another holder's writes (two holders' writes interleave)",
                w.holder
            ));
        }
        if let Some(prev) = i.checked_sub(1).map(|p| writes[p]) {
            if prev != *w {
                ended.push(prev);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(token: u64, holder: u64) -> FencedWrite {
        FencedWrite {
            token: Some(token),
            holder,
        }
    }

    #[test]
    fn runs_in_token_order_pass() {
        assert_eq!(
            check_fenced_writes(&[w(1, 7), w(1, 7), w(2, 8), w(3, 7)]),
            Ok(())
        );
        assert_eq!(check_fenced_writes(&[]), Ok(()));
    }

    #[test]
    fn a_lower_token_after_a_higher_one_is_rejected() {
        let e = check_fenced_writes(&[w(1, 7), w(2, 8), w(1, 7)]).unwrap_err();
        assert!(e.contains("write 2") && e.contains("below token 2"), "{e}");
    }

    #[test]
    fn interleaved_runs_are_rejected_without_tokens_and_with_a_reused_token() {
        let none = |holder| FencedWrite {
            token: None,
            holder,
        };
        let e = check_fenced_writes(&[none(7), none(8), none(7)]).unwrap_err();
        assert!(e.contains("interleave"), "{e}");
        // A wiped lock server hands token 1 out twice.
        let e = check_fenced_writes(&[w(1, 7), w(1, 8), w(1, 7)]).unwrap_err();
        assert!(e.contains("write 2"), "{e}");
        assert_eq!(check_fenced_writes(&[none(7), none(7), none(8)]), Ok(()));
    }
}
