//! The one `sportello` binary.

/// mimalloc instead of glibc's malloc: a profile of the portal under a click-day load of submissions
/// (`bench/profile-submissions`) spent about a tenth of its CPU in glibc's malloc and free (arena locks,
/// `malloc_consolidate`) across the tokio and SQLite threads, which mimalloc's per-thread heaps avoid.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sportello::cli::main()
}
