//! The one `sportello` binary.

fn main() -> std::process::ExitCode {
    sportello::cli::main()
}
