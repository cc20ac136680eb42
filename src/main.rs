//! The C entry point. std's runtime setup (`lang_start`) is skipped: for the main thread's stack
//! guard it reads and parses /proc/self/maps, a fifth of a hook's instructions and a dozen system
//! calls, for a process that lives a millisecond. What else the runtime did that we need (SIGPIPE,
//! flushing stdout), `claude_session::main` does itself.
// Under `cargo test` the harness brings its own main.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    claude_session::main(std::env::args_os().collect())
}
