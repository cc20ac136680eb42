//! The process around the applets: the C entry point, which gives every applet what it needs from
//! the process (its arguments, fds 0-2 open, SIGPIPE and SIGXFSZ ignored) and nothing more, and the
//! allocator. std's runtime setup (`lang_start`) is skipped: for the main thread's stack guard it
//! reads and parses /proc/self/maps, a fifth of a hook's instructions and a dozen system calls, for
//! a process that lives a millisecond. What else that setup did that we need is done here, or
//! (flushing stdout) by `claude_session::cmd::main`.
// Under `cargo test` the harness brings its own main.
#![cfg_attr(not(test), no_main)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: i32, argv: *const *const std::ffi::c_char) -> i32 {
    // The arena's first touch is a write: a read would map the zero page, and the first
    // allocation's write would then fault a second time.
    ALLOCATOR.top.store(0, Ordering::Relaxed);
    open_standard_fds();
    ignore_signals();
    // SAFETY: the C runtime hands `main` `argc` valid C strings in `argv`.
    let args = unsafe { arguments(argc, argv) };
    claude_session::cmd::main(args)
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

/// Small allocations come from a bump arena in .bss, larger or later ones from the C library.
/// A hook makes a few hundred small allocations and exits: musl's malloc spent half of a hook's
/// instructions on them (callgrind: 70 000 of 135 000), with an mmap/munmap pair every few. The
/// arena frees only its most recent block (enough for a growing buffer to grow in place); what it
/// leaks is bounded by its size, and once full every allocation goes to the C library as before.
#[global_allocator]
// Placed by src/layout.ld after all other zeroed data, so that it does not split their pages.
#[cfg_attr(target_os = "linux", unsafe(link_section = ".bss.arena"))]
static ALLOCATOR: Arena =
    Arena { top: AtomicUsize::new(0), opened: AtomicUsize::new(0), bytes: UnsafeCell::new([0; ARENA + RESERVE]) };

const ARENA: usize = 256 << 10;
/// Past the arena, kept for a hook the system refuses memory: `claude_session::oom` journals its
/// event degraded in it. Never touched otherwise (.bss: no page is faulted in until used).
const RESERVE: usize = 64 << 10;

#[repr(C, align(4096))]
struct Arena {
    /// Offset of the first free byte.
    top: AtomicUsize,
    /// How much of the reserve bumping may use: none, or all once the system refused memory
    /// (zero at start: the arena lives in .bss).
    opened: AtomicUsize,
    bytes: UnsafeCell<[u8; ARENA + RESERVE]>,
}

// SAFETY: blocks are handed out by compare-and-swap on `top`, so no two callers get the same bytes.
unsafe impl Sync for Arena {}

impl Arena {
    fn base(&self) -> usize {
        self.bytes.get() as usize
    }

    /// The arena's offset of `ptr`, if it is ours.
    fn offset(&self, ptr: *mut u8) -> Option<usize> {
        let offset = (ptr as usize).wrapping_sub(self.base());
        (offset < ARENA + RESERVE).then_some(offset)
    }

    /// The system refused memory: the reserve opens, and the hook records its event degraded
    /// (this does not return when a hook is running).
    #[cold]
    fn refused(&self, size: usize) {
        self.opened.store(RESERVE, Ordering::Relaxed);
        claude_session::oom::on_failure(size);
    }

    fn bump(&self, layout: Layout) -> *mut u8 {
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            let start = (self.base() + top).next_multiple_of(layout.align()) - self.base();
            let end = match start.checked_add(layout.size()) {
                Some(end) if end <= ARENA + self.opened.load(Ordering::Relaxed) => end,
                _ => return std::ptr::null_mut(),
            };
            match self.top.compare_exchange_weak(top, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return (self.base() + start) as *mut u8,
                Err(now) => top = now,
            }
        }
    }
}

// SAFETY: every block is either inside the arena, disjoint from all live blocks, or the C
// library's, and each goes back where it came from.
unsafe impl GlobalAlloc for Arena {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = self.bump(layout);
        if !ptr.is_null() {
            return ptr;
        }
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            self.refused(layout.size());
        }
        ptr
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = self.bump(layout);
        if ptr.is_null() {
            // calloc: a fresh mapping is not cleared twice.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if ptr.is_null() {
                self.refused(layout.size());
            }
            return ptr;
        }
        // SAFETY: the block is `layout.size()` bytes of ours; a freed one may hold old bytes.
        unsafe { ptr.write_bytes(0, layout.size()) };
        ptr
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.offset(ptr) {
            // The most recent block is given back; any other stays until exit.
            Some(start) => {
                let _ = self.top.compare_exchange(start + layout.size(), start, Ordering::Relaxed, Ordering::Relaxed);
            }
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(start) = self.offset(ptr) else {
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if new.is_null() {
                self.refused(new_size);
            }
            return new;
        };
        // The most recent block grows or shrinks in place while it fits.
        let end = start + layout.size();
        if start + new_size <= ARENA + self.opened.load(Ordering::Relaxed)
            && self.top.compare_exchange(end, start + new_size, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: `new_size` with the old alignment is a valid layout (the caller's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are at least `layout.size()` long and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}
