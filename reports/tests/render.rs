//! Rendering run and sweep directories written by hand: the files are valid
//! PNG, SVG and HTML, fault intervals are shaded and labelled, and the output
//! is byte-identical from one rendering to the next.

use std::path::Path;

use serde_json::json;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A run of 2 s virtual with three clients, some failed and indeterminate
/// operations, and (optionally) two faults, one lasting to the end.
fn write_run_dir(dir: &Path, faults: bool) {
    write_run_dir_with(dir, faults, 300);
}

fn write_run_dir_with(dir: &Path, faults: bool, ops: u64) {
    let mut summary = json!({
        "scenario": {"name": "hand-made", "protocol": "quorum-register", "description": "<test>"},
        "seed": 42,
        "cluster": {"replicas": [0, 1, 2], "clients": [3, 4, 5]},
        "virtual_time_ns": 2_000_000_000u64,
        "ops": {"invoked": 300, "ok": 280, "fail": 10, "info": 10},
        "latency_ms": {"p50": 3.0, "p90": 8.0, "p99": 20.0, "max": 40.0, "mean": 4.2},
        "throughput": 140.0,
        "verdicts": [{"check": "no-panic", "result": "pass"},
                     {"check": "linearizability", "result": "fail", "detail": "read 3 after write 4",
                      "time": 1_200_000_000u64}],
        "passed": false,
        "fingerprint": "0123456789abcdef"
    });
    if faults {
        summary["faults_applied"] = json!([
            {"start": 500_000_000u64, "end": 1_000_000_000u64, "kind": "partition",
             "label": "isolate n2", "nodes": [2]},
            {"start": 1_500_000_000u64, "end": null, "kind": "crash", "label": "crash n1", "nodes": [1]}
        ]);
    }
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();

    // A fixed linear congruential sequence: varied latencies, same every time.
    let mut x: u64 = 7;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut lines = String::new();
    let mut t = [0u64; 3];
    for i in 0..ops {
        let p = (i % 3) as usize;
        let invoke = t[p] + 1_000_000 + next() % 2_000_000;
        let latency = 500_000 + next() % 20_000_000;
        let outcome = match i % 30 {
            7 => "fail",
            13 => "info",
            _ => "ok",
        };
        lines += &format!(
            "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":{invoke}}}\n"
        );
        lines += &format!(
            "{{\"process\":{p},\"type\":\"{outcome}\",\"f\":\"read\",\"value\":null,\"time\":{}}}\n",
            invoke + latency
        );
        t[p] = invoke + latency;
    }
    // One operation left open at the end: indeterminate, never completed.
    lines +=
        "{\"process\":9,\"type\":\"invoke\",\"f\":\"write\",\"value\":1,\"time\":1900000000}\n";
    std::fs::write(dir.join("history.jsonl"), lines).unwrap();
}

fn write_sweep_dir(dir: &Path) {
    let mut lines = String::new();
    // Written out of order, as shards concatenated would be.
    for seed in (0..40u64).rev() {
        let failed = seed % 7 == 3;
        let verdict = if failed { "fail" } else { "pass" };
        let line = json!({
            "seed": seed, "scenario": "hand-made", "passed": !failed,
            "verdicts": [{"check": "linearizability", "result": verdict, "detail": "x"}],
            "finding": null, "fault_kinds": [],
            "latency_ms": {"p50": 2.0, "p99": 5.0 + (seed % 10) as f64, "max": 30.0},
            "throughput": 100.0 + seed as f64, "ops": {"ok": 100},
        });
        lines += &format!("{line}\n");
    }
    std::fs::write(dir.join("sweep.jsonl"), lines).unwrap();
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(PNG_SIGNATURE),
        "{} is not a PNG",
        path.display()
    );
    assert!(bytes.len() > 2_000, "{} is nearly empty", path.display());
}

fn svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

/// Every `src="..."` and `href="..."` of the page names a file of `dir`.
fn assert_links_resolve(dir: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let mut links = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let link = &part[..part.find('"').unwrap()];
            assert!(
                !link.contains("://") && !link.starts_with('/'),
                "{link} is not relative"
            );
            assert!(
                dir.join(link).is_file(),
                "report.html links to missing {link}"
            );
            links.push(link.to_string());
        }
    }
    links
}

/// The fills of every `rect` and `polygon` of an SVG, with their text contents.
fn fills_and_texts(text: &str) -> (Vec<String>, Vec<String>) {
    let doc = roxmltree::Document::parse(text).unwrap();
    let fills = doc
        .descendants()
        .filter(|n| matches!(n.tag_name().name(), "rect" | "polygon"))
        .filter_map(|n| n.attribute("fill").map(String::from))
        .collect();
    let texts = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    (fills, texts)
}

#[test]
fn a_run_renders_valid_plots_and_a_report_with_fault_intervals() {
    let tmp = tempfile::tempdir().unwrap();
    write_run_dir(tmp.path(), true);
    let written = reports::render_run(tmp.path()).unwrap();
    assert_eq!(written.len(), 2 * reports::RUN_PLOTS.len() + 1);
    for name in reports::RUN_PLOTS {
        assert_png(&tmp.path().join(format!("{name}.png")));
        svg(&tmp.path().join(format!("{name}.svg")));
    }
    let links = assert_links_resolve(tmp.path());
    for name in reports::RUN_PLOTS {
        assert!(links.contains(&format!("{name}.png")), "{name} not shown");
    }
    for plot in ["latency", "throughput"] {
        let (fills, texts) = fills_and_texts(&svg(&tmp.path().join(format!("{plot}.svg"))));
        // Each kind in its own colour, in the band and in the key.
        for kind in ["partition", "crash"] {
            let colour = reports::fault_colour_svg(kind);
            let shaded = fills.iter().filter(|f| **f == colour).count();
            assert_eq!(shaded, 2, "{plot}: {kind} band and key among {fills:?}");
            assert!(texts.iter().any(|t| t == kind), "{plot}: no key for {kind}");
        }
        assert_ne!(
            reports::fault_colour_svg("partition"),
            reports::fault_colour_svg("crash")
        );
        for caption in ["1: isolate n2", "2: crash n1"] {
            assert!(
                texts.iter().any(|t| t == caption),
                "{plot}: no `{caption}` in {texts:?}"
            );
        }
    }
    for plot in reports::RUN_PLOTS {
        let (_, texts) = fills_and_texts(&svg(&tmp.path().join(format!("{plot}.svg"))));
        let marked = texts
            .iter()
            .any(|t| t == "violation at 1.2 s" || t.starts_with("first violation at 1.2 s"));
        assert!(marked, "{plot}: violation not marked in {texts:?}");
    }
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    for needle in [
        "isolate n2",
        "linearizability",
        "read 3 after write 4",
        "&lt;test&gt;",
        "0123456789abcdef",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
}

#[test]
fn a_run_without_faults_has_no_fault_shading() {
    let tmp = tempfile::tempdir().unwrap();
    write_run_dir(tmp.path(), false);
    reports::render_run(tmp.path()).unwrap();
    let (fills, texts) = fills_and_texts(&svg(&tmp.path().join("latency.svg")));
    for kind in ["partition", "crash"] {
        assert!(!fills.contains(&reports::fault_colour_svg(kind)));
    }
    assert!(!texts.iter().any(|t| t == "faults:"), "no key of faults");
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("No faults were applied"));
}

#[test]
fn rendering_is_byte_identical_from_one_time_to_the_next() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [a.path(), b.path()] {
        write_run_dir(dir, true);
        reports::render_run(dir).unwrap();
    }
    for name in reports::RUN_PLOTS {
        for ext in ["png", "svg"] {
            let file = format!("{name}.{ext}");
            let (x, y) = (
                std::fs::read(a.path().join(&file)),
                std::fs::read(b.path().join(&file)),
            );
            assert_eq!(x.unwrap(), y.unwrap(), "{file} differs");
        }
    }
    assert_eq!(
        std::fs::read(a.path().join("report.html")).unwrap(),
        std::fs::read(b.path().join("report.html")).unwrap()
    );
}

#[test]
fn a_sweep_renders_violations_and_a_histogram() {
    let tmp = tempfile::tempdir().unwrap();
    write_sweep_dir(tmp.path());
    let (kind, _) = reports::render_dir(tmp.path(), "throughput").unwrap();
    assert_eq!(kind, reports::DirKind::Sweep);
    for name in reports::SWEEP_PLOTS {
        assert_png(&tmp.path().join(format!("{name}.png")));
        svg(&tmp.path().join(format!("{name}.svg")));
    }
    assert_links_resolve(tmp.path());
    let (_, texts) = fills_and_texts(&svg(&tmp.path().join("violations.svg")));
    assert!(texts.iter().any(|t| t == "linearizability"), "{texts:?}");
    // Seeds 3, 10, 17, 24, 31, 38 fail, of 40.
    assert!(texts.iter().any(|t| t == "6 / 40"), "{texts:?}");
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("34 of 40 seeds passed, 6 failed"), "{html}");
    assert!(html.contains("clustersim run hand-made --seed 17"));
}

#[test]
fn a_directory_with_neither_file_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let e = reports::render_dir(tmp.path(), reports::DEFAULT_METRIC).unwrap_err();
    assert_eq!(e.kind, reports::ErrorKind::Input);
    assert!(e.to_string().contains("summary.json"), "{e}");
}

#[test]
fn a_long_run_draws_a_bounded_number_of_dots_and_steps() {
    let tmp = tempfile::tempdir().unwrap();
    write_run_dir_with(tmp.path(), false, 90_000);
    reports::render_run(tmp.path()).unwrap();
    let dots = svg(&tmp.path().join("latency.svg"))
        .matches("<circle")
        .count();
    // 84 000 ok operations, every 5th drawn (at most 20 000 per outcome);
    // all 3 000 fail and 3 000 info; 3 legend dots.
    assert_eq!(dots, 84_000 / 5 + 3_000 + 3_000 + 3);
    let cdf = svg(&tmp.path().join("latency-cdf.svg"));
    assert!(
        cdf.len() < 400_000,
        "latency-cdf.svg is {} bytes",
        cdf.len()
    );
}

#[test]
fn a_sweep_by_fault_kind_groups_kinds_in_their_families_colours() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for seed in 0..12u64 {
        let kinds = match seed % 3 {
            0 => json!(["isolate", "partition_majority"]),
            1 => json!(["crash", "clock_jump"]),
            _ => json!([]),
        };
        let failed = seed % 3 == 0 && seed < 6;
        let line = json!({"seed": seed, "scenario": "hand-made", "passed": !failed,
            "verdicts": [{"check": "linearizability", "result": if failed { "fail" } else { "pass" }}],
            "fault_kinds": kinds, "latency_ms": {"p99": 900.0 + seed as f64 * 50.0}});
        lines += &format!("{line}\n");
    }
    std::fs::write(tmp.path().join("sweep.jsonl"), lines).unwrap();
    reports::render_dir(tmp.path(), reports::DEFAULT_METRIC).unwrap();
    let (fills, texts) = fills_and_texts(&svg(&tmp.path().join("violations.svg")));
    for family in ["partition", "crash", "clock skew/drift/jump", "no faults"] {
        assert!(
            texts.iter().any(|t| t == family),
            "no bar for {family}: {texts:?}"
        );
    }
    assert!(!texts.iter().any(|t| t == "isolate"), "kinds are grouped");
    // The two failing seeds ran under a partition: counted once each.
    assert!(texts.iter().any(|t| t == "2 / 4"), "{texts:?}");
    assert!(fills.contains(&reports::fault_colour_svg("isolate")));
    assert!(texts
        .iter()
        .any(|t| t == "failing, under a partition fault"));
    // p99 latencies of 900 to 1450 ms are shown in s, on 1-2-5 ticks.
    let (_, texts) = fills_and_texts(&svg(&tmp.path().join("histogram.svg")));
    assert!(texts.iter().any(|t| t == "latency p99 (s)"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "1.2"), "{texts:?}");
    // The report's table still lists every kind.
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("<td>partition_majority</td>"), "{html}");
}
