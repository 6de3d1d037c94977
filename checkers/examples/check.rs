//! A stand-in for `clustersim check` until the CLI wires it in:
//! `cargo run -p checkers --example check -- FILE MODEL [FORMAT] [--json]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let positional: Vec<&String> = args.iter().filter(|a| *a != "--json").collect();
    if positional.len() < 2 {
        eprintln!("usage: check FILE MODEL [FORMAT] [--json]");
        std::process::exit(checkers::cli::EXIT_BAD_INPUT);
    }
    let code = checkers::cli::check_command(
        std::path::Path::new(positional[0]),
        positional[1],
        positional.get(2).map(|s| s.as_str()),
        json,
    );
    std::process::exit(code);
}
