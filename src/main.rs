use std::process::ExitCode;

fn main() -> ExitCode {
    secrets::cli::main()
}
