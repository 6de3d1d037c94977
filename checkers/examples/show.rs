fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = checkers::cli::check_command(
        std::path::Path::new(&args[1]),
        &args[2],
        args.get(3).map(|s| s.as_str()).filter(|s| *s != "-"),
        args.get(4).is_some(),
    );
    std::process::exit(code);
}
