//! plotters' default features pull in font-kit, which needs the fontconfig
//! and freetype system packages; a machine without them fails to build. A
//! green build here proves nothing (this machine may have them), so the
//! dependency tree itself is checked (for this machine's target: font-kit
//! comes in through a plotters feature, the same on every platform).

use std::process::Command;

#[test]
fn no_crate_needs_fontconfig_or_freetype() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for package in ["reports", "scenarios"] {
        let out = Command::new(&cargo)
            .args(["tree", "--package", package])
            .args([
                "--edges",
                "normal,build",
                "--target",
                "all",
                "--prefix",
                "none",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo runs");
        let tree = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            tree.contains("plotters v"),
            "{package}: no plotters in\n{tree}"
        );
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            assert!(
                !(name.contains("font-kit")
                    || name.contains("fontconfig")
                    || name.contains("freetype")),
                "{package} depends on {line}"
            );
        }
    }
}
