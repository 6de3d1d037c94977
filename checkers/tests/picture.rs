//! The counterexample picture: the failing key's operations per client on
//! a time axis in ms, the prefix numbered in green, the unplaceable op red.

use checkers::models::Kv;
use checkers::picture::counterexample_svg;
use checkers::synthetic::{stale_read, Shape};
use checkers::{check_history, CheckOptions, Verdict};

#[test]
fn the_picture_shows_prefix_candidates_and_the_unplaceable_op() {
    let (h, client, _) = stale_read(&Shape::kv(6, 2)).unwrap();
    let report = check_history(&Kv, &h, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    let c = &report.counterexamples[0];
    assert!(!c.window.is_empty());
    let svg = counterexample_svg(c);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // One group (with its hover title) per operation drawn.
    assert_eq!(svg.matches("<g><title>").count(), c.window.len());
    assert_eq!(svg.matches("cannot be placed</title>").count(), 1);
    let described = c
        .unplaceable
        .description
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    assert!(svg.contains(&format!("(client {client}) {described}")));
    assert!(svg.contains("#c00000"), "the unplaceable op is red");
    let last = c.prefix.len();
    let shown = c
        .window
        .iter()
        .filter(|o| c.prefix.iter().any(|p| p.op.op == o.op))
        .count();
    assert!(shown > 0, "some prefix steps are in the window");
    assert!(svg.contains(&format!("prefix step {last}, state after")) || shown < last);
    assert!(svg.contains(" ms</text>"), "times in ms");
    let key = format!("key {:?}", c.partition.as_deref().unwrap()).replace('"', "&quot;");
    assert!(svg.contains(&key));

    // `check --html` writes the page.
    let dir = std::env::temp_dir().join(format!("checkers-picture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.jsonl");
    let lines: Vec<String> = h
        .entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let html = dir.join("bad.html");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = checkers::cli::run_check(
        &file,
        "kv",
        checkers::Consistency::Linearizable,
        None,
        false,
        &CheckOptions::default(),
        Some(&html),
        &mut out,
        &mut err,
    );
    assert_eq!(code, checkers::cli::EXIT_NOT_LINEARIZABLE);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("cannot be placed"));
}
