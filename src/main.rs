#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    mailra::cli::main()
}
