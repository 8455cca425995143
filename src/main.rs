//! The `idxadvise` binary: parse arguments, run, map errors to documented exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = idxadvise::cli::Cli::parse();
    let json = cli.json_output();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match idxadvise::cli::run(cli, &mut out) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => idxadvise::error::EXIT_OK,
        Err(e) => {
            if json {
                let _ = out.write_all(e.to_json().as_bytes());
            }
            let _ = out.flush();
            eprintln!("error: {}", e.message());
            e.exit_code()
        }
    };
    let _ = out.flush();
    // Every documented code is below 256; anything else would be a bug.
    ExitCode::from(u8::try_from(code).unwrap_or(idxadvise::error::EXIT_INTERNAL as u8))
}
