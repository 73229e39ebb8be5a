//! The `newsindex` command: parses the command line and hands over to the library.

/// mimalloc instead of the system allocator: ingest allocates documents on the preparing
/// threads and frees them on tantivy's indexing threads, a pattern that leaves glibc's
/// per-thread arenas fragmented (measured in the README, "Benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    end_quietly_when_the_reader_goes();
    std::process::exit(newsindex::cli::main());
}

/// `newsindex search ... | head`: when the reader closes the pipe, end at once and quietly, as
/// Unix tools do. Rust ignores SIGPIPE by default, so the next `println!` would fail and panic.
#[cfg(unix)]
fn end_quietly_when_the_reader_goes() {
    // SAFETY: first thing in main, before any other thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn end_quietly_when_the_reader_goes() {}
