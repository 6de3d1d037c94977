//! `clustersim gossip-scale`: the convergence study over gossip settings,
//! and the `convergence_ms` figure it reads from the crdt driver.

use crate::common;
use common::*;

/// A small study runs each setting, finds every one converging, and draws
/// the plot; more fanout never makes the median slower by much on a quiet
/// network (the figure moves the right way).
#[test]
fn a_small_study_converges_and_draws_its_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let out = clustersim(&[
        "gossip-scale",
        "--replicas",
        "30",
        "--fanouts",
        "1,4",
        "--intervals",
        "20ms",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let times: Vec<f64> = table
        .lines()
        .filter(|l| l.starts_with("| 20 ms"))
        .map(|l| {
            let cell = l.split('|').nth(3).unwrap().trim();
            assert!(cell.ends_with(" ms"), "{l}");
            cell.trim_end_matches(" ms").parse().unwrap()
        })
        .collect();
    assert_eq!(times.len(), 2, "{table}");
    assert!(times[1] <= times[0] * 1.5, "{table}");
    assert!(tmp.path().join("gossip-convergence.svg").exists());
    assert!(tmp.path().join("gossip-convergence.png").exists());
}

#[test]
fn bad_settings_are_input_errors() {
    let out = clustersim(&["gossip-scale", "--intervals", "0ms"]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("--intervals"));
    let out = clustersim(&["gossip-scale", "--fanouts", "0"]);
    assert_eq!(code(&out), 2);
}

/// The crdt driver reports how long after the clients stopped its replicas
/// agreed.
#[test]
fn a_crdt_run_reports_its_convergence_time() {
    let tmp = tempfile::tempdir().unwrap();
    let out = clustersim(&[
        "run",
        "crdt-partitions",
        "--seed",
        "3",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let s = summary(tmp.path());
    let ms = s["stats"]["convergence_ms"]
        .as_f64()
        .expect("convergence_ms");
    // The clients stop 1 s before the end: agreement comes within it.
    assert!((0.0..1000.0).contains(&ms), "{ms}");
}
