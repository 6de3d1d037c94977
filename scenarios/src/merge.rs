//! `clustersim merge SHARD_DIR... --out DIR`: the shards of one sweep, run
//! apart (`--shard K/N`, e.g. as the tasks of a batch job), made into the
//! sweep directory the unsharded sweep would have written, byte for byte.
//!
//! `sweep.jsonl` is a k-way merge by seed that streams: shard `s % N` holds
//! seed `s`, so walking the seed range and taking each seed's line from the
//! reader of its shard puts the lines in seed order while holding one line
//! in memory, whatever the number of seeds. Lines are copied as written,
//! never re-serialised. The walk is also the check that nothing is missing or
//! doubled: each line must be the very seed expected next from its shard, and
//! each shard must end where its seeds do.
//!
//! `sweep-summary.json` is folded from the shards' summaries (totals and
//! counts by check added, the failing seeds listed merged by seed up to
//! [`MAX_LISTED_FAILURES`]); each shard's summary is first checked against
//! the lines of its `sweep.jsonl`. Shards of different scenarios, seeds or
//! `--set`s, of different shard counts, the same shard twice or a shard
//! missing are refused, naming the directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::InputError;
use crate::out_dir::{self, OutKind};
use crate::sweep::{SeedRange, Shard, SweepSummary, MAX_LISTED_FAILURES};

/// One shard directory, its summary read and its shard known.
struct ShardDir {
    dir: PathBuf,
    summary: SweepSummary,
    shard: Shard,
}

/// What the merge reads of a line: enough to place it and count it.
#[derive(Deserialize)]
struct LineKey {
    seed: u64,
    passed: bool,
}

fn refuse(dir: &Path, message: impl Into<String>) -> InputError {
    InputError::new(dir.display().to_string(), message)
}

/// Merges the shard directories `dirs` into the sweep directory `out`;
/// returns the merged summary (also written to `out`).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<SweepSummary, InputError> {
    if dirs.is_empty() {
        return Err(InputError::new("merge", "no shard directories given"));
    }
    let shards = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<Vec<_>, _>>()?;
    let by_index = check_shards(&shards)?;
    for shard in &shards {
        if same_dir(&shard.dir, out) {
            return Err(refuse(
                out,
                "--out is one of the shard directories: merging there would overwrite it",
            ));
        }
    }
    let seeds = SeedRange::parse(&shards[0].summary.seeds)
        .map_err(|e| refuse(&shards[0].dir, format!("sweep-summary.json: {e}")))?;

    out_dir::claim(out, OutKind::Sweep)?;
    let jsonl_path = out.join("sweep.jsonl");
    let cannot_write = |e: std::io::Error| {
        InputError::new(
            jsonl_path.display().to_string(),
            format!("cannot write: {e}"),
        )
    };
    let file = std::fs::File::create(&jsonl_path).map_err(cannot_write)?;
    let mut writer = BufWriter::new(file);
    merge_lines(&by_index, seeds, &mut writer)?;
    writer.flush().map_err(cannot_write)?;

    let summary = merged_summary(&by_index);
    let summary_path = out.join("sweep-summary.json");
    std::fs::write(&summary_path, summary.to_json()).map_err(|e| {
        InputError::new(
            summary_path.display().to_string(),
            format!("cannot write: {e}"),
        )
    })?;
    Ok(summary)
}

fn read_shard(dir: &Path) -> Result<ShardDir, InputError> {
    let path = dir.join("sweep-summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        refuse(
            dir,
            format!("not a sweep directory: cannot read sweep-summary.json: {e}"),
        )
    })?;
    let summary: SweepSummary = serde_json::from_str(&text).map_err(|e| {
        InputError::new(path.display().to_string(), e.to_string()).at(e.line(), e.column())
    })?;
    let shard = match &summary.shard {
        Some(text) => Shard::parse(text).map_err(|e| {
            InputError::new(path.display().to_string(), e.message).with_field("shard")
        })?,
        None => Shard { index: 0, count: 1 },
    };
    Ok(ShardDir {
        dir: dir.to_path_buf(),
        summary,
        shard,
    })
}

/// Checks that the shards are all of one sweep and each of its shards once;
/// returns them by index.
fn check_shards(shards: &[ShardDir]) -> Result<Vec<&ShardDir>, InputError> {
    let first = &shards[0];
    let count = first.shard.count;
    let mut by_index: BTreeMap<u64, &ShardDir> = BTreeMap::new();
    for shard in shards {
        let (a, b) = (&first.summary, &shard.summary);
        if (&a.scenario, &a.seeds, a.unsharded_command())
            != (&b.scenario, &b.seeds, b.unsharded_command())
        {
            return Err(refuse(
                &shard.dir,
                format!(
                    "a shard of another sweep: `{}`, where {} is of `{}`",
                    b.unsharded_command(),
                    first.dir.display(),
                    a.unsharded_command()
                ),
            ));
        }
        if shard.shard.count != count {
            return Err(refuse(
                &shard.dir,
                format!(
                    "shard {} where {} is shard {}: all shards must split the seeds the same way",
                    shard.shard,
                    first.dir.display(),
                    first.shard
                ),
            ));
        }
        if let Some(twin) = by_index.insert(shard.shard.index, shard) {
            return Err(refuse(
                &shard.dir,
                format!(
                    "shard {} again: {} holds the same seeds",
                    shard.shard,
                    twin.dir.display()
                ),
            ));
        }
    }
    if let Some(missing) = (0..count).find(|k| !by_index.contains_key(k)) {
        let given: Vec<String> = shards.iter().map(|s| s.dir.display().to_string()).collect();
        return Err(InputError::new(
            "merge",
            format!(
                "shard {missing}/{count} is missing: {} directories given ({}), {count} needed",
                shards.len(),
                given.join(", ")
            ),
        ));
    }
    Ok(by_index.into_values().collect())
}

/// Whether `a` and `b` name the same directory (`b` may not exist yet).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes the lines of every shard in seed order, checking that each seed
/// of the range comes once, from its shard, and that the lines agree with
/// each shard's summary.
fn merge_lines(
    shards: &[&ShardDir],
    seeds: SeedRange,
    out: &mut dyn Write,
) -> Result<(), InputError> {
    struct Reader<'a> {
        shard: &'a ShardDir,
        path: PathBuf,
        lines: BufReader<std::fs::File>,
        line_no: usize,
        passed: u64,
    }
    let mut readers = shards
        .iter()
        .map(|&shard| {
            let path = shard.dir.join("sweep.jsonl");
            let file = std::fs::File::open(&path).map_err(|e| InputError::io(&path, e))?;
            Ok(Reader {
                shard,
                path,
                lines: BufReader::new(file),
                line_no: 0,
                passed: 0,
            })
        })
        .collect::<Result<Vec<_>, InputError>>()?;
    let count = shards.len() as u64;
    let out_error =
        |e: std::io::Error| InputError::new("--out", format!("cannot write sweep.jsonl: {e}"));
    let mut line = String::new();
    for seed in seeds.start..seeds.end {
        let r = &mut readers[(seed % count) as usize];
        line.clear();
        let read = r
            .lines
            .read_line(&mut line)
            .map_err(|e| InputError::io(&r.path, e))?;
        r.line_no += 1;
        let at = |message: String| {
            InputError::new(r.path.display().to_string(), message).at(r.line_no, 1)
        };
        if read == 0 {
            return Err(at(format!(
                "ends before seed {seed} of shard {}: the shard did not finish",
                r.shard.shard
            )));
        }
        let key: LineKey = serde_json::from_str(line.trim_end())
            .map_err(|e| at(format!("not a line of a sweep: {e}")))?;
        if key.seed != seed {
            return Err(at(format!(
                "seed {} where shard {} has seed {seed} next",
                key.seed, r.shard.shard
            )));
        }
        r.passed += u64::from(key.passed);
        out.write_all(line.trim_end_matches('\n').as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(out_error)?;
    }
    for r in &mut readers {
        line.clear();
        let read = r
            .lines
            .read_line(&mut line)
            .map_err(|e| InputError::io(&r.path, e))?;
        if read > 0 {
            return Err(InputError::new(
                r.path.display().to_string(),
                format!(
                    "more lines than the seeds of shard {} in {}",
                    r.shard.shard, seeds
                ),
            )
            .at(r.line_no + 1, 1));
        }
        let s = &r.shard.summary;
        let lines = r.line_no as u64;
        // A line's `passed` is its run's: true for an unknown seed too.
        if (lines, r.passed) != (s.total, s.passed + s.unknown) {
            return Err(refuse(
                &r.shard.dir,
                format!(
                    "sweep-summary.json says {} seeds, {} passed or unknown; sweep.jsonl has \
                     {lines}, {} passed",
                    s.total,
                    s.passed + s.unknown,
                    r.passed
                ),
            ));
        }
    }
    Ok(())
}

/// The summary of the whole sweep, folded from its shards' (checked) ones.
fn merged_summary(shards: &[&ShardDir]) -> SweepSummary {
    let first = &shards[0].summary;
    let mut merged = SweepSummary {
        scenario: first.scenario.clone(),
        command: first.unsharded_command(),
        seeds: first.seeds.clone(),
        shard: None,
        total: 0,
        passed: 0,
        failed: 0,
        unknown: 0,
        failing: Vec::new(),
        failing_unlisted: 0,
        violations_by_check: BTreeMap::new(),
        unknown_by_check: BTreeMap::new(),
    };
    for s in shards.iter().map(|s| &s.summary) {
        merged.total += s.total;
        merged.passed += s.passed;
        merged.failed += s.failed;
        merged.unknown += s.unknown;
        for (check, n) in &s.violations_by_check {
            *merged.violations_by_check.entry(check.clone()).or_default() += n;
        }
        for (check, n) in &s.unknown_by_check {
            *merged.unknown_by_check.entry(check.clone()).or_default() += n;
        }
        // A shard lists its first failing seeds; the sweep's first ones are
        // among them, since each is among the first of its own shard.
        merged.failing.extend(s.failing.iter().cloned());
    }
    merged.failing.sort_by_key(|f| f.seed);
    merged.failing.truncate(MAX_LISTED_FAILURES);
    merged.failing_unlisted = merged.failed - merged.failing.len() as u64;
    merged
}
