//! Warns when this crate is built by a rustc known to miscompile safe code in
//! optimised builds (1.95 and 1.96, rust-lang/rust#158830) without the MIR pass
//! GVN switched off. The repository's `.cargo/config.toml` switches it off; a
//! crate outside the workspace that depends on ours needs the same two lines.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let affected = version.starts_with("rustc 1.95.") || version.starts_with("rustc 1.96.");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let gvn_off = flags
        .split('\x1f')
        .any(|f| f.starts_with("-Zmir-enable-passes=") && f.contains("-GVN"));
    if affected && !gvn_off {
        println!(
            "cargo:warning={} miscompiles some safe code in optimised builds \
             (rust-lang/rust#158830); build with the repository's .cargo/config.toml \
             (rustflags -Zmir-enable-passes=-GVN, RUSTC_BOOTSTRAP=1)",
            version.trim()
        );
    }
}
