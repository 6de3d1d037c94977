//! The example manifests of `deploy/` (a Kubernetes Indexed Job, a Slurm job
//! array): every `clustersim` command line in them parses as our command
//! line does, names a scenario and seeds that exist, and in every task of
//! the job gives the shard that task should run, one shard per task.

use std::path::PathBuf;

use clap::Parser;
use scenarios::cli::{Cli, Command};
use scenarios::registry::Registry;
use scenarios::shard_env;
use scenarios::sweep::{SeedRange, Shard};

fn deploy_file(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The `clustersim` command lines of a script, split into words as the
/// shell would (quotes removed), up to the first shell operator.
fn command_lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.find("clustersim ").map(|at| &l[at..]))
        .map(|command| {
            command
                .split_whitespace()
                .take_while(|w| !["||", "&&", ";", "|"].contains(w))
                .map(|w| w.trim_matches(|c| c == '\'' || c == '"').to_string())
                .collect()
        })
        .collect()
}

/// The number after `key` on the line that has it.
fn number_after(text: &str, key: &str) -> u64 {
    let at = text.find(key).unwrap_or_else(|| panic!("no {key}")) + key.len();
    let digits: String = text[at..]
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {key}"))
}

/// Checks every command line; returns the `--shard` text of the sweep line
/// and whether a merge line was found.
fn check_commands(text: &str) -> (String, bool) {
    let registry = Registry::builtin();
    let (mut shard, mut merges) = (None, false);
    for words in command_lines(text) {
        let cli = Cli::try_parse_from(&words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
        match cli.command {
            Command::Sweep {
                scenario,
                seeds,
                shard: s,
                sets,
                ..
            } => {
                registry.resolve(&scenario, &sets).unwrap();
                SeedRange::parse(&seeds).unwrap();
                shard = Some(s.expect("the sweep runs a shard"));
            }
            Command::Merge { dirs, .. } => {
                assert!(!dirs.is_empty());
                merges = true;
            }
            other => panic!("unexpected command {other:?}"),
        }
    }
    (shard.expect("a clustersim sweep line"), merges)
}

/// Resolves `--shard` in each task's environment; asserts one shard each.
fn assert_one_shard_per_task(shard: &str, count: u64, tasks: &[Vec<(&str, String)>]) {
    let shards: Vec<Shard> = tasks
        .iter()
        .map(|vars| {
            let env = |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
            };
            shard_env::resolve(shard, &env).unwrap()
        })
        .collect();
    let expected: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
    assert_eq!(shards, expected);
}

#[test]
fn the_kubernetes_job_runs_one_shard_per_completion_then_merges() {
    let yaml = deploy_file("kubernetes/sweep-job.yaml");
    assert!(yaml.contains("completionMode: Indexed"));
    let completions = number_after(&yaml, "completions:");
    let (shard, merges) = check_commands(&yaml);
    assert!(merges, "no merge step");
    // The merge waits for as many shards as there are completions.
    assert!(yaml.contains(&format!("-eq {completions} ]")));
    let pods: Vec<Vec<(&str, String)>> = (0..completions)
        .map(|k| vec![(shard_env::KUBERNETES_INDEX, k.to_string())])
        .collect();
    assert_one_shard_per_task(&shard, completions, &pods);
}

#[test]
fn the_slurm_array_runs_one_shard_per_task_then_merges() {
    let script = deploy_file("slurm/sweep.sbatch");
    let first = number_after(&script, "#SBATCH --array=");
    let last = number_after(&script, &format!("#SBATCH --array={first}-"));
    let (shard, merges) = check_commands(&script);
    assert!(merges, "no merge step");
    assert!(script.contains("--dependency=\"afterok:$SLURM_ARRAY_JOB_ID\""));
    let count = last - first + 1;
    let tasks: Vec<Vec<(&str, String)>> = (first..=last)
        .map(|id| {
            vec![
                (shard_env::SLURM_ID, id.to_string()),
                (shard_env::SLURM_MIN, first.to_string()),
                (shard_env::SLURM_COUNT, count.to_string()),
            ]
        })
        .collect();
    assert_one_shard_per_task(&shard, count, &tasks);
}

#[test]
fn a_command_line_with_a_flag_we_lack_is_caught() {
    let bad = "clustersim sweep raft-partitions --seeds 0..10 --shards auto || true";
    let words = &command_lines(bad)[0];
    assert!(Cli::try_parse_from(words).is_err());
}
