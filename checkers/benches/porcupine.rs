//! Times the linearizability checker on every history of the shared
//! Porcupine folder and prints JSON: time per file, total, slowest file,
//! per category. Parsing and decoding are done before the clock starts.
//!
//! `cargo bench -p checkers` (release mode). Speed is reported, not asserted.

use std::path::Path;
use std::time::{Duration, Instant};

use checkers::models::{Kv, Register};
use checkers::{check_ops, prepare_ops, CheckOptions, CheckReport, HistoryModel};
use serde_json::json;

/// Median time of one check, measured over batches of at least `MIN_BATCH`.
fn time_check<M: HistoryModel>(
    model: &M,
    ops: &[checkers::Op<M::Input, M::Output>],
) -> (Duration, CheckReport) {
    const MIN_BATCH: Duration = Duration::from_millis(20);
    const BATCHES: usize = 5;
    let options = CheckOptions::default();
    let report = check_ops(model, ops, &options); // warm-up, and the verdict
    let mut per_batch = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..per_batch {
            std::hint::black_box(check_ops(model, std::hint::black_box(ops), &options));
        }
        if start.elapsed() >= MIN_BATCH || per_batch >= 1 << 20 {
            break;
        }
        per_batch *= 2;
    }
    let mut samples: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                std::hint::black_box(check_ops(model, std::hint::black_box(ops), &options));
            }
            start.elapsed() / per_batch
        })
        .collect();
    samples.sort();
    (samples[BATCHES / 2], report)
}

fn main() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/porcupine"
    ));
    let Ok(listing) = std::fs::read_to_string(dir.join("verdicts.txt")) else {
        println!("shared data not found at {}, skipping", dir.display());
        return;
    };
    let mut files = Vec::new();
    let mut totals: std::collections::BTreeMap<String, (usize, f64)> = Default::default();
    let mut total = 0.0f64;
    let mut slowest = (String::new(), 0.0f64);
    let (mut unknown, mut wrong) = (0, 0);
    for line in listing.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (file, expected) = line.split_once(char::is_whitespace).expect("file verdict");
        let expected = expected.trim();
        let loaded = checkers::import::load(&dir.join(file), None).expect("history parses");
        let (elapsed, report) = if file.starts_with("kv/") {
            let ops = prepare_ops(&Kv, &loaded.history).expect("kv history decodes");
            time_check(&Kv, &ops)
        } else {
            let ops = prepare_ops(&Register, &loaded.history).expect("register history decodes");
            time_check(&Register, &ops)
        };
        let got = report.verdict.to_string().replace(' ', "-");
        unknown += usize::from(got == "unknown");
        wrong += usize::from(got != expected);
        let secs = elapsed.as_secs_f64();
        total += secs;
        if secs > slowest.1 {
            slowest = (file.to_string(), secs);
        }
        let category = file.split('/').next().unwrap_or("").to_string();
        let entry = totals.entry(category).or_default();
        entry.0 += 1;
        entry.1 += secs;
        files.push(json!({
            "file": file,
            "operations": report.operations,
            "verdict": got,
            "expected": expected,
            "seconds": secs,
            "steps": report.steps,
            "configurations": report.configurations,
        }));
    }
    let categories: serde_json::Map<String, serde_json::Value> = totals
        .iter()
        .map(|(k, (n, s))| (k.clone(), json!({"files": n, "seconds": s})))
        .collect();
    let doc = json!({
        "benchmark": "checkers/porcupine",
        "files": files,
        "categories": categories,
        "total_seconds": total,
        "slowest": {"file": slowest.0, "seconds": slowest.1},
        "unknown_verdicts": unknown,
        "wrong_verdicts": wrong,
    });
    println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
    eprintln!(
        "checked {} files: total {:.3} ms, slowest {} {:.3} ms, {} unknown, {} wrong",
        files.len(),
        total * 1e3,
        slowest.0,
        slowest.1 * 1e3,
        unknown,
        wrong
    );
    for (k, (n, s)) in &totals {
        eprintln!("  {k}: {n} files, {:.3} ms", s * 1e3);
    }
    if wrong > 0 {
        std::process::exit(1);
    }
}
