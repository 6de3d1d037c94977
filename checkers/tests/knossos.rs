//! Knossos-style EDN files (one vector or list over many lines, `;`
//! comments; a cas-register starts at 0; an `:ok` read of nil read nothing
//! known), read natively, and histories written back as EDN.

use crate::common;

use std::path::{Path, PathBuf};

use checkers::cli::{
    check_command_with, write_edn, EXIT_BAD_INPUT, EXIT_LINEARIZABLE, EXIT_NOT_LINEARIZABLE,
};
use checkers::import::{self, Format};
use checkers::{CheckOptions, Strategy};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn check(path: &Path, model: &str) -> (i32, String, String) {
    check_with(path, model, &CheckOptions::default())
}

fn check_with(path: &Path, model: &str, options: &CheckOptions) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = check_command_with(path, model, None, false, options, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("checkers-knossos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn knossos_files_are_detected_and_judged() {
    for (file, model, expected) in [
        (
            "knossos-cas-register-good.edn",
            "cas-register",
            EXIT_LINEARIZABLE,
        ),
        (
            "knossos-cas-register-bad.edn",
            "cas-register",
            EXIT_NOT_LINEARIZABLE,
        ),
        ("knossos-mutex-good.edn", "lock", EXIT_LINEARIZABLE),
        ("knossos-mutex-bad.edn", "lock", EXIT_NOT_LINEARIZABLE),
    ] {
        let (code, out, err) = check(&data(file), model);
        assert_eq!(code, expected, "{file}: {out}{err}");
        // Each procedure alone agrees.
        for strategy in [Strategy::Search, Strategy::Sweep] {
            let options = CheckOptions {
                strategy,
                ..CheckOptions::default()
            };
            let (code, out, err) = check_with(&data(file), model, &options);
            assert_eq!(code, expected, "{file} ({strategy:?}): {out}{err}");
        }
        let loaded = import::load(&data(file), None).unwrap();
        assert_eq!(loaded.format, Format::KnossosEdn, "{file}");
    }
    // The counterexample points at the file's lines.
    let (_, out, _) = check(&data("knossos-cas-register-bad.edn"), "cas-register");
    assert!(out.contains("read -> 0"), "{out}");
    assert!(out.contains("lines 6-7"), "{out}");
}

#[test]
fn knossos_conventions() {
    let loaded = import::load(&data("knossos-cas-register-good.edn"), None).unwrap();
    // The :ok read of nil became indeterminate (it read nothing known).
    let nil_read = &loaded.history.entries[7];
    assert_eq!(nil_read.op_type, sim_core::history::OpType::Info);
    assert_eq!(loaded.line_of(7), Some(10));
    // Starting at 0 matters: the first read saw 0 before the write.
    let ops = checkers::prepare_ops(&checkers::models::Register, &loaded.history).unwrap();
    let from_nil = checkers::check_ops(&checkers::models::Register, &ops, &CheckOptions::default());
    assert_eq!(from_nil.verdict, checkers::Verdict::NotLinearizable);
}

#[test]
fn bad_knossos_files_name_the_line() {
    let p = temp("unclosed.edn");
    std::fs::write(
        &p,
        "; comment\n[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok",
    )
    .unwrap();
    let (code, _, err) = check(&p, "cas-register");
    assert_eq!(code, EXIT_BAD_INPUT);
    assert!(err.contains("unclosed.edn:3:"), "{err}");
    let p = temp("notamap.edn");
    std::fs::write(
        &p,
        "[{:process 0, :type :invoke, :f :read, :value nil}\n 42]",
    )
    .unwrap();
    let (code, _, err) = check(&p, "cas-register");
    assert_eq!(code, EXIT_BAD_INPUT);
    assert!(
        err.contains("notamap.edn:2:") && err.contains("expected an EDN map"),
        "{err}"
    );
}

/// jsonl -> EDN -> history: the same entries; and the verdicts agree, for a
/// linearizable and a non-linearizable history (nil reads keep our meaning).
#[test]
fn histories_round_trip_through_edn() {
    use checkers::synthetic::{history, stale_read, Shape};
    let shape = Shape::kv(4, 3);
    let good = history(&shape);
    let (bad, _, _) = stale_read(&shape).unwrap();
    let mut register = common::Builder::new()
        .invoke(0, 1, "read", serde_json::Value::Null)
        .ok(1, 1, "read", serde_json::Value::Null)
        .invoke(2, 2, "cas", serde_json::json!([null, "a \"b\""]))
        .ok(3, 2, "cas", serde_json::json!([null, "a \"b\""]))
        .build();
    register.entries[0].key = Some("k".into());
    register.entries[1].key = Some("k".into());
    for (name, h, model) in [
        ("good", &good, "kv"),
        ("bad", &bad, "kv"),
        ("reg", &register, "cas-register"),
    ] {
        let jsonl = temp(&format!("{name}.jsonl"));
        let text: Vec<String> = h
            .entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        std::fs::write(&jsonl, text.join("\n")).unwrap();
        let edn = temp(&format!("{name}.edn"));
        write_edn(&jsonl, None, &edn).unwrap();
        let back = import::load(&edn, None).unwrap();
        assert_eq!(back.format, Format::KnossosEdn);
        assert!(!back.knossos_conventions);
        assert_eq!(back.history.entries, h.entries, "{name}");
        assert_eq!(check(&jsonl, model).0, check(&edn, model).0, "{name}");
    }
    assert_eq!(check(&temp("bad.edn"), "kv").0, EXIT_NOT_LINEARIZABLE);
}
