// Only the binary chooses the allocator: the tests keep the system one, so
// that valgrind sees every allocation they make.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scenarios::cli::main()
}
