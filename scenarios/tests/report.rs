//! Plots and report.html from the command line: `run --out DIR` renders them,
//! `report DIR` re-renders a run or a sweep, fault intervals are shaded and
//! labelled, and a failure to write is exit 2.

use crate::common;
use common::*;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

const SHORT: &str = "duration=\"1s\"";

fn run_to(dir: &Path, scenario: &str, seed: &str) -> Output {
    clustersim(&[
        "run",
        scenario,
        "--seed",
        seed,
        "--set",
        SHORT,
        "--out",
        dir.to_str().unwrap(),
    ])
}

/// Every plot is a PNG and a well-formed SVG; every file report.html links
/// to exists; returns the SVG texts by plot name.
fn assert_valid_report(dir: &Path, plots: &[&str]) -> Vec<String> {
    let mut svgs = Vec::new();
    for name in plots {
        let png = std::fs::read(dir.join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{name}.png is not a PNG"
        );
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}.svg: {e}"));
        svgs.push(svg);
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let mut linked = 0;
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let link = &part[..part.find('"').unwrap()];
            assert!(
                dir.join(link).is_file(),
                "report.html links to missing {link}"
            );
            linked += 1;
        }
    }
    assert!(linked >= 2 * plots.len(), "report.html shows the plots");
    svgs
}

/// (fill, text) of the SVG's shapes and texts.
fn fills_and_texts(svg: &str) -> (Vec<String>, Vec<String>) {
    let doc = roxmltree::Document::parse(svg).unwrap();
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
fn run_out_writes_plots_and_a_report_that_opens_from_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_to(tmp.path(), "register-unreliable", "5");
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stdout).contains("report.html"),
        "{}",
        text(&out.stdout)
    );
    assert_valid_report(tmp.path(), &reports::RUN_PLOTS);
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("summary.json")).unwrap())
            .unwrap();
    assert!(html.contains(summary["fingerprint"].as_str().unwrap()));
    assert!(html.contains("linearizability"));
    assert!(!html.contains("<script"), "no script needed");
}

#[test]
fn a_run_with_faults_draws_shaded_labelled_intervals() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(code(&run_to(tmp.path(), "register-healthy", "2")), 0);
    let (fills, _) =
        fills_and_texts(&std::fs::read_to_string(tmp.path().join("latency.svg")).unwrap());
    for kind in ["partition", "crash"] {
        assert!(
            !fills.contains(&reports::fault_colour_svg(kind)),
            "no faults, no shading"
        );
    }

    // Until every scenario records its faults, write them into summary.json.
    let path = tmp.path().join("summary.json");
    let mut summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    summary["faults_applied"] = serde_json::json!([
        {"start": 200_000_000u64, "end": 450_000_000u64, "kind": "partition",
         "label": "isolate n2", "nodes": [2]},
        {"start": 700_000_000u64, "end": null, "kind": "crash", "label": "crash n0", "nodes": [0]}
    ]);
    std::fs::write(&path, summary.to_string()).unwrap();
    let out = clustersim(&["report", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    let svgs = assert_valid_report(tmp.path(), &reports::RUN_PLOTS);
    for svg in &svgs[..2] {
        let (fills, texts) = fills_and_texts(svg);
        for kind in ["partition", "crash"] {
            let colour = reports::fault_colour_svg(kind);
            let shaded = fills.iter().filter(|f| **f == colour).count();
            assert_eq!(
                shaded,
                1 + 1,
                "{kind}: its interval and its key swatch: {fills:?}"
            );
        }
        for label in ["1: isolate n2", "2: crash n0"] {
            assert!(
                texts.iter().any(|t| t == label),
                "no `{label}` in {texts:?}"
            );
        }
    }
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(
        html.contains("isolate n2") && html.contains("end of run"),
        "fault table"
    );
}

#[test]
fn report_re_renders_a_sweep_and_rejects_a_directory_of_neither_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let out = clustersim(&[
        "sweep",
        "register-healthy",
        "--seeds",
        "0..6",
        "--set",
        SHORT,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    std::fs::remove_file(dir.join("histogram.svg")).unwrap();
    let out = clustersim(&["report", dir.to_str().unwrap(), "--metric", "throughput"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let svgs = assert_valid_report(&dir, &reports::SWEEP_PLOTS);
    assert!(svgs[1].contains("throughput across 6 seeds"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("6 of 6 seeds passed"), "{html}");

    let out = clustersim(&[
        "report",
        dir.to_str().unwrap(),
        "--metric",
        "latency_ms.p42",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("latency_ms.p42"),
        "{}",
        text(&out.stderr)
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = clustersim(&["report", empty.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("summary.json"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_plot_that_cannot_be_written_is_exit_2_after_the_run_is_saved() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory where the PNG should go: writing it fails.
    std::fs::create_dir_all(tmp.path().join("latency.png")).unwrap();
    let out = run_to(tmp.path(), "register-healthy", "1");
    assert_eq!(code(&out), 2, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stderr).contains("latency.png"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        tmp.path().join("summary.json").is_file(),
        "the run itself is kept"
    );
}

#[test]
fn a_traced_run_gets_a_space_time_diagram_ending_at_its_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let out = clustersim(&[
        "run",
        "register-bug-unwrap-missing-key",
        "--seed",
        "3",
        "--trace",
        "--out",
        d,
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(tmp.path().join("timeline.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let arrows = doc
        .descendants()
        .filter(|n| n.attribute("marker-end").is_some())
        .count();
    assert!(arrows > 0, "delivered messages are arrows");
    assert!(
        svg.contains("panic: queried key was written before"),
        "the finding is marked"
    );
    assert!(svg.contains(">Query<"), "message types in the legend");
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("timeline.svg"));
    // Without --trace there is no diagram, and the report says how to get one.
    let plain = tempfile::tempdir().unwrap();
    run_to(plain.path(), "register-healthy", "1");
    assert!(!plain.path().join("timeline.svg").exists());
    let html = std::fs::read_to_string(plain.path().join("report.html")).unwrap();
    assert!(html.contains("--trace"));
}

/// A run whose history is not linearizable gets a picture of the
/// counterexample in its directory, shown by report.html; a passing run in
/// the same directory removes it.
#[test]
fn a_linearizability_failure_gets_a_counterexample_picture() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_to(tmp.path(), "register-bug-no-write-back", "3");
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let svg = std::fs::read_to_string(tmp.path().join("counterexample.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "title")
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        titles
            .iter()
            .filter(|t| t.ends_with("cannot be placed"))
            .count(),
        1
    );
    assert!(titles.iter().any(|t| t.contains("prefix step ")));
    assert!(svg.contains(" ms</text>"));
    assert_valid_report(tmp.path(), &reports::RUN_PLOTS);
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("Linearizability counterexample"));
    assert!(html.contains("data=\"counterexample.svg\""));

    let out = run_to(tmp.path(), "register-bug-no-write-back", "1");
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!tmp.path().join("counterexample.svg").exists());
    assert!(!tmp.path().join("counterexample.json").exists());
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(!html.contains("Linearizability counterexample"));
}

/// The report of a traced known-bug run: the space-time diagram inline in
/// report.html (so that its hover texts work) with its key, the violation
/// marked there and on every plot, and the counterexample's operation that
/// cannot be placed highlighted on its client's lane.
#[test]
fn a_known_bug_report_shows_the_timeline_inline_with_the_violation_and_the_counterexample() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let out = clustersim(&[
        "run",
        "register-bug-no-sync",
        "--seed",
        "1",
        "--trace",
        "--out",
        d,
    ]);
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let summary = summary(tmp.path());
    let verdict = summary["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "linearizability")
        .unwrap();
    assert_eq!(verdict["result"], "fail");
    let shows_at = verdict["time"].as_u64().unwrap();
    let at = format!("violation at {:.3} s", shows_at as f64 / 1e9);

    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    let start = html.find("<svg").expect("an inline svg");
    let end = html[start..].find("</svg>").unwrap() + start + "</svg>".len();
    let inline = &html[start..end];
    roxmltree::Document::parse(inline).expect("the inline svg is well-formed");
    assert!(
        inline.contains("class=\"timeline\""),
        "the space-time diagram"
    );
    assert!(
        !html.contains("<img src=\"timeline.svg\""),
        "not behind an <img>"
    );
    for symbol in [
        ">key<",
        ">message delivered<",
        ">message dropped<",
        ">client invokes<",
    ] {
        assert!(inline.contains(symbol), "the key lacks {symbol}");
    }
    assert!(
        inline.contains("class=\"violation\""),
        "the violation marked"
    );
    assert!(inline.contains(">first violation<"), "and keyed");
    let highlighted: Vec<&str> = inline
        .lines()
        .filter(|l| l.contains("class=\"counterexample\""))
        .collect();
    assert!(
        highlighted
            .iter()
            .any(|l| l.contains("counterexample, cannot be placed: op #")),
        "{highlighted:?}"
    );
    assert!(inline.contains("cannot be placed (1 of 1 in this window)"));
    for plot in ["latency", "throughput"] {
        let svg = std::fs::read_to_string(tmp.path().join(format!("{plot}.svg"))).unwrap();
        assert!(svg.contains(&at), "{plot} does not mark the {at}");
    }
    let cdf = std::fs::read_to_string(tmp.path().join("latency-cdf.svg")).unwrap();
    assert!(
        cdf.contains(&format!("first {at}")),
        "latency-cdf states the violation"
    );
}
