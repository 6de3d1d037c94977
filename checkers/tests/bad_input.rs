//! Malformed history files give exit code 2 and a message naming the file
//! and the 1-based line; never a panic.

use std::path::{Path, PathBuf};

use checkers::cli::{
    check_command_with, EXIT_BAD_INPUT, EXIT_LINEARIZABLE, EXIT_NOT_LINEARIZABLE, EXIT_UNKNOWN,
};
use checkers::CheckOptions;

/// Writes `content` to a fresh file under the system temp directory.
fn file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("checkers-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn run_with(
    path: &Path,
    model: &str,
    format: Option<&str>,
    options: &CheckOptions,
) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = check_command_with(path, model, format, false, options, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn run(path: &Path, model: &str, format: Option<&str>) -> (i32, String, String) {
    run_with(path, model, format, &CheckOptions::default())
}

/// Asserts exit 2 and that stderr names `path:line` and contains `what`.
fn assert_bad(path: &Path, model: &str, format: Option<&str>, line: usize, what: &str) {
    let (code, out, err) = run(path, model, format);
    assert_eq!(code, EXIT_BAD_INPUT, "stdout: {out}\nstderr: {err}");
    let at = format!("{}:{line}:", path.display());
    assert!(err.contains(&at), "expected `{at}` in: {err}");
    assert!(err.contains(what), "expected `{what}` in: {err}");
    assert!(out.is_empty(), "nothing on stdout: {out}");
}

const GOOD_LINE: &str = r#"{"process":1,"type":"invoke","f":"write","value":1,"time":0}"#;

#[test]
fn bad_json() {
    let p = file(
        "bad.jsonl",
        &format!("{GOOD_LINE}\n{{\"process\": 1, \"type\": \n"),
    );
    assert_bad(&p, "register", None, 2, "bad history entry");
}

#[test]
fn unknown_op_type() {
    let p = file(
        "type.jsonl",
        &format!("{GOOD_LINE}\n{{\"process\":1,\"type\":\"done\",\"f\":\"write\",\"value\":1,\"time\":1}}\n"),
    );
    assert_bad(&p, "register", Some("jsonl"), 2, "unknown variant `done`");
    // An operation name the model does not know.
    let p = file(
        "f.jsonl",
        "\n{\"process\":1,\"type\":\"invoke\",\"f\":\"frobnicate\",\"value\":1,\"time\":0}\n",
    );
    assert_bad(&p, "register", None, 2, "unknown operation `frobnicate`");
    let p = file("f.log", "INFO  jepsen.util - 1\t:invoke\t:frob\t3\n");
    assert_bad(&p, "cas-register", None, 1, "unknown operation `:frob`");
    let p = file(
        "t.edn",
        "{:process 0, :type :begin, :f :get, :key \"1\", :value nil}\n",
    );
    assert_bad(&p, "kv", None, 1, "unknown operation type `:begin`");
}

#[test]
fn completion_without_invoke() {
    let p = file(
        "orphan.jsonl",
        &format!("{GOOD_LINE}\n{{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1,\"time\":1}}\n{{\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"value\":1,\"time\":2}}\n"),
    );
    assert_bad(&p, "register", None, 3, "without an invocation");
    let p = file(
        "orphan.log",
        "INFO  jepsen.util - 1\t:invoke\t:write\t3\nnoise\nINFO  jepsen.util - 2\t:ok\t:read\t3\n",
    );
    assert_bad(
        &p,
        "cas-register",
        Some("jepsen-log"),
        3,
        "without an invocation",
    );
}

#[test]
fn bad_edn() {
    let p = file(
        "bad.edn",
        "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"1\", :value \"x}\n",
    );
    assert_bad(&p, "kv", Some("jepsen-edn"), 2, "unterminated string");
    let p = file(
        "nomap.edn",
        "{:process 0, :type :invoke, :f :get, :key \"1\" :value nil}\n[1 2]\n",
    );
    assert_bad(&p, "kv", Some("jepsen-edn"), 2, "expected an EDN map");
    let p = file("missing.edn", "{:type :invoke, :f :get}\n");
    assert_bad(&p, "kv", None, 1, "missing :process");
}

#[test]
fn values_that_do_not_fit_the_model() {
    let p = file(
        "nokey.edn",
        "{:process 0, :type :invoke, :f :get, :value nil}\n",
    );
    assert_bad(&p, "kv", None, 1, "has no key");
    let p = file("cas.log", "INFO jepsen.util - 0 :invoke :cas [1]\n");
    assert_bad(&p, "cas-register", None, 1, "cas needs");
    let p = file(
        "twice.jsonl",
        &format!(
            "{GOOD_LINE}\n{}\n",
            GOOD_LINE.replace("\"time\":0", "\"time\":3")
        ),
    );
    assert_bad(&p, "register", None, 2, "still open");
}

#[test]
fn usage_errors() {
    let p = file("ok.jsonl", &format!("{GOOD_LINE}\n"));
    let (code, _, err) = run(&p, "queue", None);
    assert_eq!(code, EXIT_BAD_INPUT);
    assert!(err.contains("unknown model `queue`"), "{err}");
    let (code, _, err) = run(&p, "register", Some("csv"));
    assert_eq!(code, EXIT_BAD_INPUT);
    assert!(err.contains("unknown format `csv`"), "{err}");
    let missing = p.with_file_name("does-not-exist.jsonl");
    let (code, _, err) = run(&missing, "register", None);
    assert_eq!(code, EXIT_BAD_INPUT);
    assert!(err.contains("does-not-exist.jsonl"), "{err}");
    let p = file("what.txt", "hello\nworld\n");
    let (code, _, err) = run(&p, "register", None);
    assert_eq!(code, EXIT_BAD_INPUT);
    assert!(err.contains("cannot tell the history format"), "{err}");
    let p = file("binary.jsonl", "{\"a\":1}\n\u{0}\u{1}\n");
    let (code, _, _) = run(&p, "register", None);
    assert_eq!(code, EXIT_BAD_INPUT);
}

#[test]
fn exit_codes_for_verdicts() {
    let ok = file(
        "good.jsonl",
        &format!(
            "{GOOD_LINE}\n{}\n",
            r#"{"process":1,"type":"ok","f":"write","value":1,"time":1}"#
        ),
    );
    assert_eq!(run(&ok, "register", None).0, EXIT_LINEARIZABLE);
    let bad = file(
        "stale.jsonl",
        &format!(
            "{GOOD_LINE}\n{}\n{}\n{}\n",
            r#"{"process":1,"type":"ok","f":"write","value":1,"time":1}"#,
            r#"{"process":2,"type":"invoke","f":"read","value":null,"time":2}"#,
            r#"{"process":2,"type":"ok","f":"read","value":5,"time":3}"#
        ),
    );
    let (code, out, _) = run(&bad, "register", None);
    assert_eq!(code, EXIT_NOT_LINEARIZABLE);
    assert!(
        out.contains("cannot be placed: op #1 (process 2) read -> 5"),
        "{out}"
    );
    assert!(out.contains("lines 3-4"), "{out}");
    // JSON output parses and carries the verdict.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = check_command_with(
        &bad,
        "register",
        None,
        true,
        &CheckOptions::default(),
        &mut out,
        &mut err,
    );
    assert_eq!(code, EXIT_NOT_LINEARIZABLE);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["verdict"], "not linearizable");
    assert_eq!(doc["counterexamples"][0]["unplaceable"]["invoke_line"], 3);
    // Unknown: its own message and exit code.
    let mut lines = Vec::new();
    // Indeterminate writes, each read by a concurrent read: nothing to prune.
    for p in 0..20 {
        lines.push(format!(
            r#"{{"process":{p},"type":"invoke","f":"write","value":{p},"time":{p}}}"#
        ));
        let r = 100 + p;
        lines.push(format!(
            r#"{{"process":{r},"type":"invoke","f":"read","value":null,"time":{p}}}"#
        ));
    }
    for p in 0..20 {
        let r = 100 + p;
        let t = 50 + p;
        lines.push(format!(
            r#"{{"process":{r},"type":"ok","f":"read","value":{p},"time":{t}}}"#
        ));
    }
    lines.extend(reads_zero_one_zero());
    let hard = file("hard.jsonl", &lines.join("\n"));
    let tight = CheckOptions::with_max_steps(500);
    let (code, out, err) = run_with(&hard, "register", None, &tight);
    assert_eq!(code, EXIT_UNKNOWN);
    assert!(out.contains("unknown"), "{out}");
    assert!(err.contains("verdict unknown"), "{err}");
    assert!(err.contains("step budget (500 steps)"), "{err}");
}

/// Reads of 0, then 1, then 0 again, after every write was called: the only
/// write of 0 would have to take effect twice. Only an exhaustive search
/// finds that out: it first tries the subsets of the other writes (each read
/// by one read) that could go before the write of 0.
fn reads_zero_one_zero() -> Vec<String> {
    [(99, 0, 100), (98, 1, 102), (97, 0, 104)]
        .iter()
        .flat_map(|&(p, v, t)| {
            [
                format!(r#"{{"process":{p},"type":"invoke","f":"read","value":null,"time":{t}}}"#),
                format!(
                    r#"{{"process":{p},"type":"ok","f":"read","value":{v},"time":{}}}"#,
                    t + 1
                ),
            ]
        })
        .collect()
}

/// `--budget`, `--memory` and `--timeout` become the check's limits; a
/// negative timeout is bad input.
#[test]
fn limits_from_the_command_line() {
    use checkers::cli::CheckArgs;
    let args = CheckArgs {
        budget: Some(1234),
        memory_mb: Some(5),
        timeout_s: Some(0.0),
        ..CheckArgs::default()
    };
    let options = args.options().unwrap();
    assert_eq!(options.max_steps, Some(1234));
    assert_eq!(options.max_memory_bytes, Some(5_000_000));
    assert!(options.deadline.is_some());
    let bad = CheckArgs {
        timeout_s: Some(-1.0),
        ..CheckArgs::default()
    };
    assert!(bad.options().unwrap_err().contains("--timeout"));
    // A deadline already passed gives unknown (exit 3) on a history whose
    // search takes more than one deadline check (16 k steps).
    let mut lines = Vec::new();
    for p in 0..24 {
        lines.push(format!(
            r#"{{"process":{p},"type":"invoke","f":"write","value":{p},"time":{p}}}"#
        ));
        lines.push(format!(
            r#"{{"process":{},"type":"invoke","f":"read","value":null,"time":{p}}}"#,
            100 + p
        ));
    }
    for p in 0..24 {
        lines.push(format!(
            r#"{{"process":{},"type":"ok","f":"read","value":{p},"time":{}}}"#,
            100 + p,
            50 + p
        ));
    }
    lines.extend(reads_zero_one_zero());
    let hard = file("hard-timeout.jsonl", &lines.join("\n"));
    let timeout_only = CheckArgs {
        timeout_s: Some(0.0),
        ..CheckArgs::default()
    };
    let (code, _, err) = run_with(&hard, "register", None, &timeout_only.options().unwrap());
    assert_eq!(code, EXIT_UNKNOWN, "{err}");
    assert!(err.contains("hit its deadline"), "{err}");
}

/// A multi-key history (as a run's `history.jsonl` has) checked as a
/// cas-register: each key is its own register, so it passes; a stale read on
/// one key fails and names the key.
#[test]
fn cas_register_on_a_multi_key_history() {
    let lines = [
        r#"{"process":1,"type":"invoke","f":"write","key":"a","value":1,"time":0}"#,
        r#"{"process":1,"type":"ok","f":"write","key":"a","value":1,"time":1}"#,
        r#"{"process":2,"type":"invoke","f":"cas","key":"b","value":[null,2],"time":2}"#,
        r#"{"process":2,"type":"ok","f":"cas","key":"b","value":[null,2],"time":3}"#,
        r#"{"process":1,"type":"invoke","f":"read","key":"a","value":null,"time":4}"#,
        r#"{"process":1,"type":"ok","f":"read","key":"a","value":1,"time":5}"#,
    ];
    let good = file("two-keys.jsonl", &lines.join("\n"));
    let (code, out, err) = run(&good, "cas-register", None);
    assert_eq!(code, EXIT_LINEARIZABLE, "{out}{err}");
    let mut stale = lines.to_vec();
    stale.push(r#"{"process":2,"type":"invoke","f":"read","key":"b","value":null,"time":6}"#);
    stale.push(r#"{"process":2,"type":"ok","f":"read","key":"b","value":1,"time":7}"#);
    let bad = file("two-keys-stale.jsonl", &stale.join("\n"));
    let (code, out, _) = run(&bad, "cas-register", None);
    assert_eq!(code, EXIT_NOT_LINEARIZABLE);
    assert!(out.contains("key \"b\""), "{out}");
}
