//! `--shard` from a batch scheduler's own variables, so that one command
//! line serves every task of a job:
//!
//! - `--shard K/N`: shard K of N, as given.
//! - `--shard auto`: a Slurm job array: the index from `SLURM_ARRAY_TASK_ID`
//!   (counted from `SLURM_ARRAY_TASK_MIN` in steps of `SLURM_ARRAY_TASK_STEP`,
//!   since `--array=1-8` or `--array=0-14:2` are as common as `--array=0-7`),
//!   the count from `SLURM_ARRAY_TASK_COUNT`.
//! - `--shard auto/N`: N shards, the index from whichever scheduler set it:
//!   `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job, which does not tell its
//!   pods the number of completions) or Slurm's variables (then N must agree
//!   with `SLURM_ARRAY_TASK_COUNT`).
//!
//! Every error names the variable at fault; the command line turns it into
//! exit 2. The environment is passed in as a function so that the rules are
//! tested without touching the process's own.

use crate::error::InputError;
use crate::sweep::Shard;

/// The index of a pod of a Kubernetes Indexed Job (0 to completions - 1).
pub const KUBERNETES_INDEX: &str = "JOB_COMPLETION_INDEX";
/// The id of a task of a Slurm job array.
pub const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
/// The number of tasks of a Slurm job array.
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// The lowest task id of a Slurm job array.
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// The step between task ids of a Slurm job array.
pub const SLURM_STEP: &str = "SLURM_ARRAY_TASK_STEP";

/// The shard `--shard TEXT` names, reading `env` for `auto` and `auto/N`.
pub fn resolve(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, InputError> {
    let count =
        match text.trim() {
            "auto" => None,
            t => match t.strip_prefix("auto/") {
                Some(n) => Some(n.trim().parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(
                    || {
                        InputError::new("--shard", format!("`{text}`: N must be a number above 0"))
                            .with_field("shard")
                    },
                )?),
                None => return Shard::parse(text),
            },
        };
    let flag = format!("--shard {text}");
    let bad = |message: String| InputError::new(flag.as_str(), message);
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let number = |name: &str| -> Result<Option<u64>, InputError> {
        var(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| bad(format!("{name}=`{v}` is not a whole number")))
            })
            .transpose()
    };

    let (index, count, from) = match (number(KUBERNETES_INDEX)?, number(SLURM_ID)?) {
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "both {KUBERNETES_INDEX} and {SLURM_ID} are set: give the shard as K/N"
            )))
        }
        (None, None) => {
            return Err(bad(format!(
                "neither {KUBERNETES_INDEX} (Kubernetes Indexed Job) nor {SLURM_ID} \
                 (Slurm job array) is set: give the shard as K/N"
            )))
        }
        (Some(index), None) => {
            let count = count.ok_or_else(|| {
                bad(format!(
                    "{KUBERNETES_INDEX} gives the index but not the number of shards: \
                     use --shard auto/N with N the Job's completions"
                ))
            })?;
            (index, count, KUBERNETES_INDEX)
        }
        (None, Some(id)) => {
            let min = number(SLURM_MIN)?.unwrap_or(0);
            let step = number(SLURM_STEP)?.unwrap_or(1);
            if step == 0 {
                return Err(bad(format!("{SLURM_STEP}=0: the step must be above 0")));
            }
            if id < min || (id - min) % step != 0 {
                return Err(bad(format!(
                    "{SLURM_ID}={id} is not {SLURM_MIN}={min} plus a multiple of {SLURM_STEP}={step}"
                )));
            }
            let slurm_count = number(SLURM_COUNT)?;
            let count = match (count, slurm_count) {
                (Some(n), Some(s)) if n != s => {
                    return Err(bad(format!(
                        "{SLURM_COUNT}={s} but the shard count given is {n}"
                    )))
                }
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) => {
                    return Err(bad(format!(
                        "{SLURM_COUNT} is not set: use --shard auto/N with N the array's tasks"
                    )))
                }
            };
            if count == 0 {
                return Err(bad(format!(
                    "{SLURM_COUNT}=0: an array has at least one task"
                )));
            }
            ((id - min) / step, count, SLURM_ID)
        }
    };
    if index >= count {
        return Err(bad(format!(
            "{from} gives shard {index}, but there are only {count} shards (0 to {})",
            count - 1
        )));
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)], text: &str) -> Result<Shard, InputError> {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        resolve(text, &env)
    }

    fn shard(index: u64, count: u64) -> Shard {
        Shard { index, count }
    }

    #[test]
    fn a_given_shard_ignores_the_environment() {
        assert_eq!(with(&[(SLURM_ID, "9")], "1/4").unwrap(), shard(1, 4));
        assert!(with(&[], "4/4").is_err());
    }

    #[test]
    fn kubernetes_gives_the_index_and_the_flag_the_count() {
        let k8s = [(KUBERNETES_INDEX, "2")];
        assert_eq!(with(&k8s, "auto/3").unwrap(), shard(2, 3));
        let e = with(&k8s, "auto").unwrap_err().to_string();
        assert!(e.contains(KUBERNETES_INDEX) && e.contains("auto/N"), "{e}");
        let e = with(&k8s, "auto/2").unwrap_err().to_string();
        assert!(e.contains(KUBERNETES_INDEX) && e.contains("only 2"), "{e}");
        let e = with(&[(KUBERNETES_INDEX, "two")], "auto/3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("JOB_COMPLETION_INDEX=`two`"), "{e}");
        assert!(with(&k8s, "auto/0").is_err());
    }

    #[test]
    fn slurm_ids_count_from_the_array_minimum_in_its_steps() {
        let from_one = [(SLURM_ID, "4"), (SLURM_MIN, "1"), (SLURM_COUNT, "4")];
        assert_eq!(with(&from_one, "auto").unwrap(), shard(3, 4));
        assert_eq!(with(&from_one, "auto/4").unwrap(), shard(3, 4));
        let e = with(&from_one, "auto/5").unwrap_err().to_string();
        assert!(e.contains(SLURM_COUNT), "{e}");
        let stepped = [
            (SLURM_ID, "6"),
            (SLURM_MIN, "0"),
            (SLURM_STEP, "2"),
            (SLURM_COUNT, "5"),
        ];
        assert_eq!(with(&stepped, "auto").unwrap(), shard(3, 5));
        let off_step = [(SLURM_ID, "5"), (SLURM_STEP, "2"), (SLURM_COUNT, "5")];
        let e = with(&off_step, "auto").unwrap_err().to_string();
        assert!(e.contains(SLURM_STEP), "{e}");
        let e = with(&[(SLURM_ID, "0")], "auto").unwrap_err().to_string();
        assert!(e.contains(SLURM_COUNT), "{e}");
        let e = with(&[(SLURM_ID, "0"), (SLURM_COUNT, "x")], "auto")
            .unwrap_err()
            .to_string();
        assert!(e.contains("SLURM_ARRAY_TASK_COUNT=`x`"), "{e}");
    }

    #[test]
    fn no_scheduler_or_two_schedulers_is_an_error_naming_the_variables() {
        let e = with(&[], "auto").unwrap_err().to_string();
        assert!(e.contains(KUBERNETES_INDEX) && e.contains(SLURM_ID), "{e}");
        let both = [(KUBERNETES_INDEX, "0"), (SLURM_ID, "0"), (SLURM_COUNT, "2")];
        let e = with(&both, "auto/2").unwrap_err().to_string();
        assert!(e.contains("both"), "{e}");
    }
}
