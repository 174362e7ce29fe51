"""A script's process group, as the runner starts it: killed with the worker that started it
(parent-death signal), killed as a group (a hard time limit kills the pool child, not the script
it started), noticed the moment it exits, and found again from its pidfile after a crash."""

import ctypes
import os
import select
import signal
import socket
import subprocess
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

PR_SET_PDEATHSIG = 1
KILL_GRACE_SECONDS = 5


def die_with_parent():
    # Runs in the child between fork and exec: if the worker thread that started the script
    # dies (SIGKILL), the kernel kills the script too, so no orphan goes on calling a paid API.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def kill_group(process):
    """SIGTERM the script's process group, then SIGKILL what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            # the leader is gone; make sure no child of it survives in the group
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_stale_run(pidfile):
    """A previous run of this unit may still be running: its worker was killed by a hard time
    limit or the OOM killer, which the script itself survives only if it ignored its parent's death
    (or left FFmpeg children). Its runner wrote `pidfile` (host, process group); kill that group
    before the unit runs again, so no orphan keeps calling a paid API or writing the output."""
    try:
        host, pgid = Path(pidfile).read_text().split()
        pgid = int(pgid)
    except (OSError, ValueError):
        return False
    Path(pidfile).unlink(missing_ok=True)
    if host != socket.gethostname() or not group_alive(pgid):
        return False
    log.warning("stale_script_group_killed", pgid=pgid)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def write_pidfile(pidfile, pid):
    if pidfile:
        Path(pidfile).parent.mkdir(parents=True, exist_ok=True)
        Path(pidfile).write_text(f"{socket.gethostname()} {pid}\n")


class ExitWaiter:
    """exited(seconds) -> whether the process has exited, waking the moment it does.

    Popen.wait(timeout) polls with sleeps of up to 50 ms; a pidfd (Linux 5.3+) becomes readable
    exactly when the process exits, which takes that delay off every script call."""

    def __init__(self, process):
        self.process = process
        self.poller = self.pidfd = None
        try:
            self.pidfd = os.pidfd_open(process.pid)
            self.poller = select.poll()
            self.poller.register(self.pidfd, select.POLLIN)
        except (AttributeError, OSError):  # not Linux, or an old kernel: Popen's own polling
            self.close()

    def __call__(self, seconds):
        if self.poller is not None and not self.poller.poll(int(seconds * 1000)):
            return False
        try:
            self.process.wait(timeout=0 if self.poller is not None else seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self):
        if self.pidfd is not None:
            os.close(self.pidfd)
        self.poller = self.pidfd = None
