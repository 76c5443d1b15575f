//! Forked children: start one, learn how it ended, stop it (Redis: `server.c` `redisFork`,
//! `checkChildrenDone`, `exitFromChild`, `killRDBChild`).
//!
//! Why fork: a snapshot must describe the dataset at one instant, while the loop goes on
//! changing it. `fork()` gives the child a copy-on-write image of the whole process at the
//! moment of the call; the child serializes that image at its own pace and exits, and the kernel
//! copies only the pages the parent writes meanwhile. This is Redis's design (BGSAVE, AOF
//! rewrite, diskless replication), and the choice is argued in `ARCHITECTURE.md`.
//!
//! ```text
//!   loop thread ── fork_child(work) ──> child: work() ── _exit(0 | 1)
//!        │                                                   │
//!        └── server_cron: try_reap(pid) ── Some(ChildExit) <─┘  (waitpid, WNOHANG)
//! ```
//!
//! The only `unsafe` of the crate's process handling lives here, each call with its proof.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    /// It called `_exit(code)`.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

impl ChildExit {
    pub fn success(self) -> bool {
        self == ChildExit::Code(0)
    }
}

/// Forks; the child runs `work` and exits with 0 if it returned true, else 1 (also if it
/// panicked). Returns the child's pid to the parent.
///
/// The child never returns into the caller: the loop, the sockets and the destructors of the
/// parent's state are not its to run. SIGTERM and SIGINT get their default action back in the
/// child, since the parent's handlers (signal-hook) would write into a pipe the child shares
/// with the parent and make the *parent* believe it was asked to stop.
pub fn fork_child(work: impl FnOnce() -> bool) -> io::Result<i32> {
    fork_child_closing(&[], work)
}

/// [`fork_child`], the child first closing `fds` — the listening sockets, so that a child
/// still writing after its parent died does not keep the port bound (Redis:
/// `closeChildUnusedResourceAfterFork`).
pub fn fork_child_closing(fds: &[i32], work: impl FnOnce() -> bool) -> io::Result<i32> {
    // SAFETY: `fork` has no memory-safety preconditions of its own; the hazard of forking is a
    // lock held by another thread, which would stay locked forever in the child. ferrodis runs
    // its data on one thread (the event loop, which is the caller). The only other thread, the
    // AOF fsync thread (`command::aof`), holds no lock the child takes: it waits on its own
    // channel, which the child never touches, calls fdatasync, and never logs; glibc's malloc
    // takes and releases its arena locks around `fork` itself.
    let parent = std::process::id() as i32;
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(pid);
    }
    // SAFETY: `signal` with SIG_DFL installs no Rust code as a handler; it only restores the
    // kernel's default action for these signals in this (child) process.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    // A child whose parent died (the OOM killer, `kill -9`) has nobody to report to and would
    // keep writing a snapshot for nothing: the kernel kills it with its parent. The parent may
    // have died before the request, hence the check after it. (Redis notices when its child
    // info pipe breaks; this needs no pipe.)
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_PDEATHSIG, sig)` only records a signal number for this process;
    // `getppid` and `_exit` have no preconditions.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    for &fd in fds {
        // SAFETY: closing a descriptor the child never uses again; the objects owning it in
        // the parent's memory image are never dropped here (the child ends with `_exit`).
        unsafe {
            libc::close(fd);
        }
    }
    let ok = catch_unwind(AssertUnwindSafe(work)).unwrap_or(false);
    // SAFETY: `_exit` ends the process without running atexit handlers or flushing stdio
    // buffers copied from the parent, which would otherwise be written twice. Nothing in the
    // child is left that needs dropping: the whole address space goes with it.
    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
}

/// Whether child `pid` has ended, without waiting (Redis: `checkChildrenDone`). `None` while it
/// runs. An error from `waitpid` (the child is not ours, or was reaped already) counts as an
/// exit with code 255, so the caller stops waiting for it.
pub fn try_reap(pid: i32) -> Option<ChildExit> {
    let mut status = 0;
    // SAFETY: `status` is a valid, writable c_int for the duration of the call.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if got == 0 {
        return None;
    }
    if got < 0 {
        return Some(ChildExit::Code(255));
    }
    Some(decode(status))
}

/// Stops child `pid` with SIGUSR1 (the signal Redis's children treat as "killed on purpose,
/// not a failure") and waits for it to end.
pub fn kill_and_reap(pid: i32) -> ChildExit {
    let mut status = 0;
    // SAFETY: `kill` and `waitpid` take plain integers and a valid, writable c_int.
    let got = unsafe {
        libc::kill(pid, libc::SIGUSR1);
        libc::waitpid(pid, &mut status, 0)
    };
    if got < 0 {
        return ChildExit::Code(255);
    }
    decode(status)
}

fn decode(status: i32) -> ChildExit {
    if libc::WIFSIGNALED(status) {
        ChildExit::Signal(libc::WTERMSIG(status))
    } else {
        ChildExit::Code(libc::WEXITSTATUS(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_reports_its_result_and_can_be_killed() {
        let ok = fork_child(|| true).expect("fork");
        let failed = fork_child(|| false).expect("fork");
        let sleeper = fork_child(|| {
            std::thread::sleep(std::time::Duration::from_secs(30));
            true
        })
        .expect("fork");
        let wait = |pid| loop {
            if let Some(exit) = try_reap(pid) {
                return exit;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(wait(ok), ChildExit::Code(0));
        assert_eq!(wait(failed), ChildExit::Code(1));
        assert_eq!(try_reap(sleeper), None);
        assert_eq!(kill_and_reap(sleeper), ChildExit::Signal(libc::SIGUSR1));
    }
}
