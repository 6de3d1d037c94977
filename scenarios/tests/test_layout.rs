//! Each workspace crate builds its integration tests as one binary,
//! `tests/main.rs`, with `autotests = false` in its manifest: one release link
//! against the whole dependency graph per crate instead of one per file. The
//! price is that Cargo no longer finds a new `tests/*.rs` file by itself: one
//! that `tests/main.rs` does not declare is silently never compiled nor run.
//! This test catches such a file, in every member of the workspace, and says
//! what to add.

use std::path::Path;

/// What is wrong with the test layout of the workspace at `root`, one
/// sentence per problem, each saying what to change.
fn layout_problems(root: &Path) -> Vec<String> {
    let workspace: toml::Table = read_toml(&root.join("Cargo.toml"));
    let members = workspace["workspace"]["members"]
        .as_array()
        .expect("workspace.members is a list");
    let mut problems = Vec::new();
    for member in members {
        let member = member.as_str().expect("a member is a path");
        problems.extend(member_problems(root, member));
    }
    problems
}

/// The problems of one member crate, at `root/member`.
fn member_problems(root: &Path, member: &str) -> Vec<String> {
    let tests = root.join(member).join("tests");
    let files = test_files(&tests);
    let main = tests.join("main.rs");
    if !main.exists() {
        // Without a tests/main.rs Cargo builds each file as its own binary:
        // nothing is skipped, and a single file costs one link either way.
        return match files.len() {
            0 | 1 => Vec::new(),
            n => vec![format!(
                "{member}/tests has {n} test files, each linked as its own binary: \
                 declare them as modules (`mod NAME;`) in a new {member}/tests/main.rs, \
                 and in {member}/Cargo.toml set `autotests = false` under [package] \
                 and add [[test]] name = \"integration\", path = \"tests/main.rs\""
            )],
        };
    }
    let mut problems = Vec::new();
    let manifest = read_toml(&root.join(member).join("Cargo.toml"));
    if manifest["package"]
        .get("autotests")
        .and_then(|v| v.as_bool())
        != Some(false)
    {
        problems.push(format!(
            "{member}/Cargo.toml: set `autotests = false` under [package], or every \
             module of {member}/tests/main.rs is also built as a binary of its own"
        ));
    }
    let declares_main = manifest
        .get("test")
        .and_then(|t| t.as_array())
        .is_some_and(|t| {
            t.iter()
                .any(|t| t.get("path").and_then(|p| p.as_str()) == Some("tests/main.rs"))
        });
    if !declares_main {
        problems.push(format!(
            "{member}/Cargo.toml: add [[test]] name = \"integration\", path = \"tests/main.rs\", \
             or {member}'s integration tests are not built at all"
        ));
    }
    let declared = declared_modules(&std::fs::read_to_string(&main).expect("tests/main.rs reads"));
    for file in files.iter().filter(|f| !declared.contains(f)) {
        problems.push(format!(
            "{member}/tests/{file}.rs is not part of {member}'s test binary and never runs: \
             add `mod {file};` to {member}/tests/main.rs (a helper module it needs is \
             `use crate::common;` there, not `mod common;`)"
        ));
    }
    problems
}

/// The names of the `.rs` files directly in `tests` (not main.rs), sorted.
fn test_files(tests: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(tests) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("tests/ lists").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "main")
        .collect();
    names.sort();
    names
}

/// The modules `mod NAME;` (or `pub mod NAME;`) declares in a main.rs.
fn declared_modules(main: &str) -> Vec<String> {
    main.lines()
        .map(|l| l.trim())
        .map(|l| l.strip_prefix("pub ").unwrap_or(l))
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .map(|name| name.trim().to_string())
        .collect()
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_test_file_of_the_workspace_is_in_its_crates_test_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let problems = layout_problems(&root);
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// A small workspace on disk: one consolidated crate `a` with tests/main.rs
/// declaring `one`, and whatever else a test adds.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n");
    write(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\nautotests = false\n\n[[test]]\nname = \"integration\"\npath = \"tests/main.rs\"\n",
    );
    write(
        "a/tests/main.rs",
        "//! a's tests\nmod common;\n\nmod one;\n",
    );
    write("a/tests/common/mod.rs", "");
    write("a/tests/one.rs", "use crate::common;\n");
    write("b/Cargo.toml", "[package]\nname = \"b\"\n");
    write("b/tests/only.rs", "");
    dir
}

#[test]
fn a_consolidated_workspace_passes() {
    let dir = fixture();
    assert_eq!(layout_problems(dir.path()), Vec::<String>::new());
}

#[test]
fn a_forgotten_test_file_is_named_with_the_line_to_add() {
    let dir = fixture();
    std::fs::write(dir.path().join("a/tests/two.rs"), "#[test]\nfn t() {}\n").unwrap();
    let problems = layout_problems(dir.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("a/tests/two.rs is not part of a's test binary"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].contains("add `mod two;` to a/tests/main.rs"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_manifest_without_autotests_false_or_the_test_target_is_named() {
    let dir = fixture();
    std::fs::write(dir.path().join("a/Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
    let problems = layout_problems(dir.path());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("set `autotests = false`"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].contains("add [[test]] name = \"integration\""),
        "{}",
        problems[1]
    );
}

#[test]
fn a_crate_with_several_unconsolidated_test_files_is_named() {
    let dir = fixture();
    std::fs::write(dir.path().join("b/tests/second.rs"), "").unwrap();
    let problems = layout_problems(dir.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("b/tests has 2 test files"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].contains("new b/tests/main.rs"),
        "{}",
        problems[0]
    );
}
