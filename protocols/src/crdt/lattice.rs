//! What every state-based CRDT is: a join-semilattice. Replicas converge
//! because merging is commutative, associative and idempotent and never
//! loses what either side had (inflationary); [`assert_merge_laws`] is the
//! one property test every type of this folder runs.

use std::fmt::Debug;

/// A state that replicas merge.
pub trait Lattice: Clone + PartialEq + Debug {
    /// Joins `other` into `self` (least upper bound).
    fn join(&mut self, other: &Self);

    /// `self ≤ other` in the lattice's order. By default: joining `self`
    /// into `other` leaves it as it was (the definition, at the cost of a
    /// copy; the registers use it, the larger states compare directly).
    fn leq(&self, other: &Self) -> bool {
        let mut joined = other.clone();
        joined.join(self);
        joined == *other
    }
}

/// Checks the merge laws on three states with the given `merge` and order
/// `leq`; `Err` names the first law broken.
pub fn assert_merge_laws<T: Clone + PartialEq + Debug>(
    merge: impl Fn(&mut T, &T),
    leq: impl Fn(&T, &T) -> bool,
    a: &T,
    b: &T,
    c: &T,
) -> Result<(), String> {
    let joined = |x: &T, y: &T| {
        let mut z = x.clone();
        merge(&mut z, y);
        z
    };
    let ab = joined(a, b);
    if ab != joined(b, a) {
        return Err(format!("not commutative: {a:?} ⊔ {b:?}"));
    }
    if joined(&ab, c) != joined(a, &joined(b, c)) {
        return Err(format!("not associative: {a:?}, {b:?}, {c:?}"));
    }
    if joined(a, a) != *a {
        return Err(format!("not idempotent: {a:?}"));
    }
    if !(leq(a, &ab) && leq(b, &ab)) {
        return Err(format!("not inflationary: {a:?} ⊔ {b:?} = {ab:?}"));
    }
    Ok(())
}

/// [`assert_merge_laws`] for a [`Lattice`].
pub fn lattice_laws<T: Lattice>(a: &T, b: &T, c: &T) -> Result<(), String> {
    assert_merge_laws(T::join, T::leq, a, b, c)
}
