//! Every history in the shared Porcupine folder gets its listed verdict.

use std::path::{Path, PathBuf};

use checkers::cli::{check_command_with, EXIT_LINEARIZABLE, EXIT_NOT_LINEARIZABLE};
use checkers::{check_history_named, import, CheckOptions, Strategy, Verdict};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/porcupine"
    ));
    if dir.join("verdicts.txt").exists() {
        Some(dir.to_path_buf())
    } else {
        println!("shared data not found at {}, skipping", dir.display());
        None
    }
}

/// (relative path, expected linearizable?)
fn listed(dir: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(dir.join("verdicts.txt")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (file, verdict) = l.split_once(char::is_whitespace).unwrap();
            let ok = match verdict.trim() {
                "linearizable" => true,
                "not-linearizable" => false,
                other => panic!("unexpected verdict {other}"),
            };
            (file.to_string(), ok)
        })
        .collect()
}

fn model_for(file: &str) -> &'static str {
    if file.starts_with("kv/") {
        "kv"
    } else {
        "cas-register"
    }
}

#[test]
fn every_listed_history_gets_its_verdict() {
    let Some(dir) = data_dir() else { return };
    let files = listed(&dir);
    assert_eq!(
        files
            .iter()
            .filter(|(f, _)| f.starts_with("jepsen/"))
            .count(),
        51
    );
    assert_eq!(
        files.iter().filter(|(f, _)| f.starts_with("kv/")).count(),
        4
    );
    let mut wrong = Vec::new();
    // Each procedure alone, and both together (the default), must give
    // every verdict.
    for ((file, expect_ok), strategy) in files
        .iter()
        .flat_map(|f| [Strategy::Both, Strategy::Search, Strategy::Sweep].map(|s| (f, s)))
    {
        let loaded = import::load(&dir.join(file), None).unwrap();
        let options = CheckOptions {
            strategy,
            ..CheckOptions::default()
        };
        let report = check_history_named(model_for(file), &loaded.history, &options).unwrap();
        let expected = if *expect_ok {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        if report.verdict != expected {
            wrong.push(format!(
                "{file} ({strategy:?}): got {}, expected {expected}",
                report.verdict
            ));
        }
        if !expect_ok {
            assert_eq!(
                report.counterexamples.len().min(1),
                1,
                "{file}: no counterexample"
            );
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn formats_are_detected() {
    let Some(dir) = data_dir() else { return };
    let log = import::load(&dir.join("jepsen/etcd_000.log"), None).unwrap();
    assert_eq!(log.format, import::Format::JepsenLog);
    let edn = import::load(&dir.join("kv/c01-ok.txt"), None).unwrap();
    assert_eq!(edn.format, import::Format::JepsenEdn);
}

#[test]
fn the_command_exits_with_the_verdict() {
    let Some(dir) = data_dir() else { return };
    let run = |file: &str, model: &str, format: Option<&str>| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = check_command_with(
            &dir.join(file),
            model,
            format,
            false,
            &CheckOptions::default(),
            &mut out,
            &mut err,
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    let (code, out, _) = run("jepsen/etcd_002.log", "cas-register", Some("jepsen-log"));
    assert_eq!(code, EXIT_LINEARIZABLE, "{out}");
    assert!(out.contains(": linearizable"), "{out}");
    let (code, out, _) = run("kv/c10-bad.txt", "kv", Some("jepsen-edn"));
    assert_eq!(code, EXIT_NOT_LINEARIZABLE);
    assert!(out.contains("cannot be placed"), "{out}");
    let (code, out, _) = run("jepsen/etcd_000.log", "cas-register", None);
    assert_eq!(code, EXIT_NOT_LINEARIZABLE);
    // The counterexample points into the file by line.
    assert!(out.contains("lines "), "{out}");
}
