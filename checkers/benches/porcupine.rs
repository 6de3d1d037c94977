//! Times the linearizability checker on every history of the shared
//! Porcupine folder and prints JSON: time per file, total, slowest file,
//! per category. Parsing and decoding are done before the clock starts.
//! Then the 50-client class (a `kv/c10-bad`-shaped history with 50 clients,
//! 10 keys, 1 700 operations, one stale read; each key also checked alone)
//! 40-client histories of our own simulator (`benches/data`: raft-unreliable
//! with two keys and with one, register-healthy; each with both procedures
//! side by side, the default, and with the time sweep alone), and a concurrency sweep over synthetic histories
//! (clients -> verdict, steps, time, memory of the search tables), registers
//! with unique or repeated values and KV appends.
//!
//! `cargo bench -p checkers` (release mode). Speed is reported, not asserted.

use std::path::Path;
use std::time::{Duration, Instant};

use checkers::models::{Kv, Register};
use checkers::synthetic::{self, stale_read, Shape};
use checkers::{check_ops, prepare_ops, CheckOptions, CheckReport, HistoryModel, Strategy};
use serde_json::json;
use sim_core::history::History;

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

/// One timed check: verdict, steps, seconds, peak bytes of search tables.
fn once<M: HistoryModel>(model: &M, h: &History, options: &CheckOptions) -> serde_json::Value {
    let ops = prepare_ops(model, h).expect("synthetic history decodes");
    let start = Instant::now();
    let report = check_ops(model, &ops, options);
    let secs = start.elapsed().as_secs_f64();
    json!({
        "operations": report.operations,
        "verdict": report.verdict.to_string(),
        "steps": report.steps,
        "seconds": secs,
        "memory_mb": report.peak_memory_bytes as f64 / 1e6,
    })
}

/// The 50-client class, whole and key by key.
fn fifty_clients() -> serde_json::Value {
    let shape = Shape::kv(50, 1);
    let (bad, _, _) = stale_read(&shape).expect("a read to make stale");
    let whole = once(&Kv, &bad, &CheckOptions::default());
    eprintln!("50 clients, kv, stale read: {whole}");
    // Every key alone, each with 5 M steps: which keys can be decided.
    let per_key = CheckOptions::with_max_steps(5_000_000);
    let mut keys = Vec::new();
    for key in 0..shape.keys {
        let mut sub = History::new();
        for e in bad
            .entries
            .iter()
            .filter(|e| e.key.as_deref() == Some(&key.to_string()))
        {
            sub.push(e.clone());
        }
        let mut r = once(&Kv, &sub, &per_key);
        r["key"] = json!(key.to_string());
        eprintln!("  key {key} alone: {r}");
        keys.push(r);
    }
    json!({"clients": 50, "keys": shape.keys, "whole": whole, "each_key_alone": keys})
}

/// Clients -> verdict, steps, time, memory, on linearizable synthetic
/// histories (the hard case: the search must find a linearization) with a
/// 5 M step budget per check: registers with unique values, KV appends,
/// and registers whose writes repeat values from a pool of 50.
fn concurrency_sweep() -> serde_json::Value {
    let options = CheckOptions::with_max_steps(5_000_000);
    let mut rows = Vec::new();
    for clients in [5usize, 10, 15, 20, 30, 40, 50] {
        let reg = Shape::register(clients, 7);
        let mut r = once(&Register, &synthetic::history(&reg), &options);
        r["clients"] = json!(clients);
        r["history"] = json!("register, 1 key, unique values");
        eprintln!("  sweep {r}");
        rows.push(r);
        let kv = Shape::kv(clients, 7);
        let mut r = once(&Kv, &synthetic::history(&kv), &options);
        r["clients"] = json!(clients);
        r["history"] = json!("kv appends, 10 keys");
        eprintln!("  sweep {r}");
        rows.push(r);
    }
    // register-healthy's shape: writes draw from 50 values, so many share
    // one (the twin and no-writer-left rules matter here).
    for clients in [10usize, 20, 30, 40] {
        let reg = Shape::register_repeating(clients, 50, 7);
        let mut r = once(&Register, &synthetic::history(&reg), &options);
        r["clients"] = json!(clients);
        r["history"] = json!("register, 1 key, 50 values");
        eprintln!("  sweep {r}");
        rows.push(r);
    }
    json!(rows)
}

/// Histories of our own simulator with 40 clients (`benches/data`, made by
/// `clustersim run SCENARIO --set workload.clients=40 --seed 1`, the
/// register one with `--set duration=1400ms`, the `-1-key` one with `--set
/// workload.keys=1`), checked as `check --model cas-register` does.
fn forty_clients_from_our_scenarios() -> serde_json::Value {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data");
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .expect("benches/data is readable")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    names.sort();
    let mut rows = Vec::new();
    for name in names {
        let loaded = checkers::import::load(&data.join(&name), None).expect("history parses");
        // What users get (both procedures side by side), then the time
        // sweep alone. (The search alone on the one-key history runs
        // until its gigabyte is full, about a minute: left out.)
        for strategy in [Strategy::Both, Strategy::Sweep] {
            let options = CheckOptions {
                strategy,
                ..CheckOptions::default()
            };
            let mut r = once(&Register, &loaded.history, &options);
            r["history"] = json!(name);
            r["strategy"] = json!(format!("{strategy:?}").to_lowercase());
            eprintln!("  40 clients, our scenarios: {r}");
            rows.push(r);
        }
    }
    json!(rows)
}

fn main() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/porcupine"
    ));
    let Ok(listing) = std::fs::read_to_string(dir.join("verdicts.txt")) else {
        let doc = json!({
            "benchmark": "checkers/porcupine",
            "porcupine": format!("shared data not found at {}, skipped", dir.display()),
            "fifty_clients": fifty_clients(),
            "forty_clients_from_our_scenarios": forty_clients_from_our_scenarios(),
            "concurrency_sweep": concurrency_sweep(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
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
        "fifty_clients": fifty_clients(),
        "forty_clients_from_our_scenarios": forty_clients_from_our_scenarios(),
        "concurrency_sweep": concurrency_sweep(),
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
