//! The `newsindex` command: parses the command line and hands over to the library.

/// mimalloc instead of the system allocator: ingest allocates documents on the preparing
/// threads and frees them on tantivy's indexing threads, a pattern that leaves glibc's
/// per-thread arenas fragmented (measured in the README, "Benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(newsindex::cli::main());
}
