"""An attempt's record in its proc directory, in the supervisor's format (src/hosts/supervise.sh).

The worker judges an attempt by these files alone, whichever process runs it (probe.sh and the
local host's probe):
  lock     flock-ed for as long as the attempt runs: here by the runner process, so that a runner
           that dies leaves its attempts unlocked and without an exit record, that is `lost`
  started  epoch milliseconds when the attempt started
  stdout, stderr  what the attempt printed (preflight refusals, a crash's traceback)
  runner   the id of the runner that holds it (where to send a cancel)
  exit     "<exit code> <epoch milliseconds>", written atomically when the attempt has ended
  interrupted  the runner was stopped under it (a service shutdown): the attempt is retried
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path


def now_ms() -> int:
    return int(time.time() * 1000)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class AlreadyStarted(Exception):
    """The proc directory exists: the attempt was started before (by this runner or another)."""


class ProcRecord:
    """The proc directory of one attempt, created and locked by :meth:`open`."""

    def __init__(self, proc: Path) -> None:
        self.proc = proc
        self._lock_fd: int | None = None

    def open(self, runner_id: str) -> None:
        """Makes the directory (atomically: of two starts, one wins), takes the lock, and records
        the start. Raises :class:`AlreadyStarted` if the directory exists."""
        self.proc.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.proc.mkdir()
        except FileExistsError:
            raise AlreadyStarted(str(self.proc)) from None
        fd = os.open(self.proc / "lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_fd = fd
        (self.proc / "runner").write_text(runner_id + "\n")
        (self.proc / "stdout").touch()
        (self.proc / "stderr").touch()
        write_atomic(self.proc / "started", f"{now_ms()}\n")

    def append(self, stream: str, text: str) -> None:
        with open(self.proc / stream, "a") as f:
            f.write(text if text.endswith("\n") else text + "\n")

    def mark_interrupted(self) -> None:
        with contextlib.suppress(OSError):  # its directory may be gone (the work dir was removed)
            (self.proc / "interrupted").touch()

    def close(self, exit_code: int) -> None:
        """Writes the exit record, then lets go of the lock. Idempotent."""
        if self._lock_fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                write_atomic(self.proc / "exit", f"{exit_code} {now_ms()}\n")
        finally:
            os.close(self._lock_fd)
            self._lock_fd = None
