//! `sova`: the one binary. `sova serve` runs the server; other subcommands administer it or call it.

mod cli;
mod config;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the server allocates small short-lived buffers on every request; glibc's allocator spent ~15% of the
/// CPU of a signed read in malloc/free (measured with perf), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
