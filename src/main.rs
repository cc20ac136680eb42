//! The C entry point: what every applet needs from the process before it runs (its arguments,
//! fds 0-2 open, SIGPIPE and SIGXFSZ ignored), and nothing more. std's runtime setup
//! (`lang_start`) is skipped: for the main thread's stack guard it reads and parses
//! /proc/self/maps, a fifth of a hook's instructions and a dozen system calls, for a process that
//! lives a millisecond. What else that setup did that we need is done here, or (flushing stdout)
//! by `claude_session::main`.
// Under `cargo test` the harness brings its own main.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: i32, argv: *const *const std::ffi::c_char) -> i32 {
    open_standard_fds();
    ignore_signals();
    // SAFETY: the C runtime hands `main` `argc` valid C strings in `argv`.
    let args = unsafe { arguments(argc, argv) };
    claude_session::main(args)
}

/// The arguments from `main`'s own argc/argv: std fills `std::env::args` from glibc's
/// `.init_array` only on linux-gnu, and from `lang_start` elsewhere, which we skip. On musl or
/// macOS it would be empty.
#[cfg(not(test))]
unsafe fn arguments(argc: i32, argv: *const *const std::ffi::c_char) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    let count = if argv.is_null() { 0 } else { usize::try_from(argc).unwrap_or(0) };
    (0..count)
        // SAFETY: `i < argc`, and argv[0..argc] are valid NUL-terminated strings.
        .map(|i| unsafe { *argv.add(i) })
        .take_while(|arg| !arg.is_null())
        .map(|arg| std::ffi::OsStr::from_bytes(unsafe { std::ffi::CStr::from_ptr(arg) }.to_bytes()).to_owned())
        .collect()
}

/// A closed fd 0, 1 or 2 is reopened on /dev/null, as std's runtime would: otherwise the next file
/// we open (the outbox lock) becomes "stderr", and the hook's own `dup2` over stderr closes it.
/// One `poll` finds them all.
#[cfg(not(test))]
fn open_standard_fds() {
    use nix::libc;
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    // SAFETY: `fds` is a valid array of three pollfds; a zero timeout never blocks.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for pfd in fds {
        let closed = if polled < 0 {
            // poll can fail (EINTR, ENOMEM): ask each fd on its own.
            // SAFETY: F_GETFD only reads the fd's flags.
            let flags = unsafe { libc::fcntl(pfd.fd, libc::F_GETFD) };
            flags < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
        } else {
            pfd.revents & libc::POLLNVAL != 0
        };
        if closed {
            // The lowest free fd is the closed one, so this lands on it. Without /dev/null there
            // is nothing better to do than go on.
            // SAFETY: a constant NUL-terminated path.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

/// For every applet: a closed pipe fails a write with EPIPE (`show | head -1` ends quietly, a hook
/// whose reader went away still exits 0), and a file-size limit fails a write with EFBIG, instead
/// of the signal killing the process.
#[cfg(not(test))]
fn ignore_signals() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for sig in [Signal::SIGPIPE, Signal::SIGXFSZ] {
        // SAFETY: setting a signal to ignored installs no handler code.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
}
