fn main() -> std::process::ExitCode {
    scenarios::cli::main()
}
