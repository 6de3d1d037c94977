//! Known-bug variants are switched on by name (`bugs = [...]` in a scenario).

/// Which of `known` are named in `names`, in `known`'s order; a name not in
/// `known` is an error that lists the known ones.
pub fn switched_on<const N: usize>(
    protocol: &str,
    names: &[String],
    known: [&str; N],
) -> Result<[bool; N], String> {
    let mut on = [false; N];
    for name in names {
        match known.iter().position(|k| k == name) {
            Some(i) => on[i] = true,
            None => {
                return Err(format!(
                    "unknown bug `{name}` for {protocol} (known: {})",
                    known.join(", ")
                ))
            }
        }
    }
    Ok(on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_switch_bugs_on_and_unknown_names_are_listed() {
        let names = vec!["b".to_string()];
        assert_eq!(switched_on("p", &names, ["a", "b"]), Ok([false, true]));
        let e = switched_on("p", &["c".to_string()], ["a", "b"]).unwrap_err();
        assert_eq!(e, "unknown bug `c` for p (known: a, b)");
    }
}
