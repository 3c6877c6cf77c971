"""The runner: Harbor imported once, each attempt a `Trial` task, a small control protocol.

Control: a Unix socket (mode 0600), one JSON request per connection, one JSON answer:
  {"op": "state"}                         the runner's state (below)
  {"op": "start", "attempt": {...}, "secret_env": {...}}
                                          starts an attempt (attempt.AttemptSpec); answers once its
                                          record is in place; `already_started` if its proc dir exists
  {"op": "cancel", "proc": "<abs path>"}  cancels the attempt: Harbor cleans up, result.json says
                                          CancelledError, the exit record says 130
  {"op": "kill", "proc": "<abs path>"}    ends an attempt that did not stop when cancelled: its
                                          record says 137 at once
  {"op": "drain"}                         takes no new attempts; exits once the last one ended
Answers: {"ok": true, ...} or {"ok": false, "code": "...", "message": "..."}.

State: id, build, pid, protocol, harbor_version, python, attempts (how many run), max_attempts,
draining, stale (why it drains by itself: Harbor was upgraded under it), warm (preloads done),
rss_bytes, started_at_ms.

The runner exits by itself when it drains and runs nothing, when it has run nothing and heard
nothing for `idle_exit_sec`, or when its directory is removed. SIGTERM (a service shutdown) marks
every attempt interrupted, cancels them, waits up to `stop_grace_sec` for Harbor's clean-up, and
exits.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.metadata
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .attempt import Attempt, AttemptSpec, SpecError
from .records import AlreadyStarted, now_ms, write_atomic

PROTOCOL = 1
MAX_REQUEST_BYTES = 1 << 20
LISTEN_BACKLOG = 4096
# A Unix socket's path must fit in sockaddr_un (108 bytes with the terminating NUL).
MAX_SOCKET_PATH = 100
IDLE_CHECK_EVERY_SEC = 5

log = logging.getLogger("harbor_trial_runner")


class Failure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def socket_path(runner_dir: Path) -> Path:
    """In the runner's directory when the path is short enough, else in a private directory of
    this user under /tmp (named after the runner's directory)."""
    inside = runner_dir / "control.sock"
    if len(str(inside)) <= MAX_SOCKET_PATH:
        return inside
    private = Path("/tmp") / f"harbor-runner-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    info = private.lstat()
    if not private.is_dir() or private.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise SystemExit(f"{private} is not a private directory of this user")
    return private / (hashlib.sha256(str(runner_dir).encode()).hexdigest()[:32] + ".sock")


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Runner:
    def __init__(
        self,
        *,
        runner_dir: Path,
        work_dir: Path,
        runner_id: str,
        build: str,
        max_attempts: int,
        preload: list[str],
        idle_exit_sec: float,
        stop_grace_sec: float,
        harbor_check_sec: float = 30.0,
    ) -> None:
        self.dir = runner_dir
        self.work_dir = work_dir
        self.id = runner_id
        self.build = build
        self.max_attempts = max_attempts
        self.preload = preload
        self.idle_exit_sec = idle_exit_sec
        self.stop_grace_sec = stop_grace_sec
        self.harbor_check_sec = harbor_check_sec
        self.attempts: dict[Path, Attempt] = {}
        self.draining = False
        self.stale: str | None = None
        self.warm = not preload
        self.harbor_version = importlib.metadata.version("harbor")
        self.started_at_ms = now_ms()
        self._last_heard = time.monotonic()
        self._done = asyncio.Event()

    # ---- control ----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "build": self.build,
            "pid": os.getpid(),
            "protocol": PROTOCOL,
            "harbor_version": self.harbor_version,
            "python": sys.version.split()[0],
            "attempts": len(self.attempts),
            "max_attempts": self.max_attempts,
            "draining": self.draining,
            "stale": self.stale,
            "warm": self.warm,
            "rss_bytes": rss_bytes(),
            "started_at_ms": self.started_at_ms,
        }

    def answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise Failure("bad_request", "a request is a JSON object")
        op = request.get("op")
        if op == "state":
            return self.state()
        if op == "start":
            return self.start(request.get("attempt"), request.get("secret_env") or {})
        if op == "cancel":
            self.attempt(request.get("proc")).cancel()
            return {}
        if op == "kill":
            self.attempt(request.get("proc")).abandon()
            return {}
        if op == "drain":
            self.drain("asked to")
            return {}
        raise Failure("bad_request", f"unknown op {op!r}")

    def start(self, raw: Any, secret_env: Any) -> dict[str, Any]:
        if self.draining:
            raise Failure("draining", f"runner {self.id} takes no new attempts")
        if len(self.attempts) >= self.max_attempts:
            raise Failure("full", f"runner {self.id} runs {len(self.attempts)} attempts, its most")
        if not isinstance(secret_env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in secret_env.items()
        ):
            raise Failure("bad_request", "secret_env must map names to strings")
        try:
            spec = AttemptSpec.parse(raw, self.work_dir)
        except SpecError as exc:
            raise Failure("bad_request", str(exc)) from None
        try:
            attempt = Attempt(spec, secret_env, self.id)
        except AlreadyStarted:
            raise Failure("already_started", f"{spec.proc} exists") from None
        self.attempts[spec.proc] = attempt
        attempt.start().add_done_callback(lambda _: self._ended(attempt))
        log.info("attempt %s started (%d running)", spec.job_name, len(self.attempts))
        return {}

    def attempt(self, proc: Any) -> Attempt:
        found = self.attempts.get(Path(proc)) if isinstance(proc, str) else None
        if found is None:
            raise Failure("unknown_attempt", f"runner {self.id} runs no attempt at {proc}")
        return found

    def _ended(self, attempt: Attempt) -> None:
        self.attempts.pop(attempt.spec.proc, None)
        log.info("attempt %s ended (%d running)", attempt.spec.job_name, len(self.attempts))
        if self.draining and not self.attempts:
            self._done.set()

    def drain(self, why: str) -> None:
        if not self.draining:
            log.info("draining (%s): %d attempts to finish", why, len(self.attempts))
        self.draining = True
        if not self.attempts:
            self._done.set()

    # ---- serving ----------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._last_heard = time.monotonic()
        try:
            try:
                # (Past MAX_REQUEST_BYTES without a newline, readline raises ValueError.)
                body = {"ok": True, **self.answer(json.loads(await reader.readline()))}
            except Failure as failure:
                body = {"ok": False, "code": failure.code, "message": str(failure)}
            except ValueError:
                body = {"ok": False, "code": "bad_request", "message": "not a JSON request of at most 1 MiB"}
            writer.write(json.dumps(body).encode() + b"\n")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def serve(self) -> None:
        path = socket_path(self.dir)
        path.unlink(missing_ok=True)
        old_umask = os.umask(0o177)
        try:
            # A host's worker may start hundreds of attempts at once: room for their connections.
            server = await asyncio.start_unix_server(
                self.handle, path=str(path), limit=MAX_REQUEST_BYTES, backlog=LISTEN_BACKLOG
            )
        finally:
            os.umask(old_umask)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(self.interrupt()))
        loop.add_signal_handler(signal.SIGINT, lambda: asyncio.ensure_future(self.interrupt()))
        # Ready: the worker connects once this file names the socket.
        write_atomic(self.dir / "socket", f"{path}\n")
        log.info("runner %s ready at %s (harbor %s)", self.id, path, self.harbor_version)
        housekeeping = [
            asyncio.create_task(self._preload()),
            asyncio.create_task(self._watch_idle()),
            asyncio.create_task(self._watch_harbor()),
        ]
        try:
            await self._done.wait()
        finally:
            for task in housekeeping:
                task.cancel()
            server.close()
            path.unlink(missing_ok=True)
        log.info("runner %s exits", self.id)

    async def interrupt(self) -> None:
        """A service shutdown: every attempt is marked interrupted (retried later), cancelled, and
        given `stop_grace_sec` to clean up."""
        self.draining = True
        attempts = list(self.attempts.values())
        log.info("stopping: interrupting %d attempts", len(attempts))
        for attempt in attempts:
            attempt.record.mark_interrupted()
            attempt.cancel()
        tasks = [a.task for a in attempts if a.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self.stop_grace_sec)
        for attempt in attempts:
            if attempt.task is not None and not attempt.task.done():
                attempt.abandon()
        self._done.set()

    async def _preload(self) -> None:
        """Imports what the first attempts of the usual agents and environments would otherwise
        import themselves (terminus-2 brings LiteLLM: seconds), in a thread, after ready."""
        for name in self.preload:
            try:
                await asyncio.to_thread(_import_component, name)
            except Exception as exc:  # noqa: BLE001 - a preload is an optimisation
                log.warning("could not preload %s: %s", name, exc)
        self.warm = True

    async def _watch_idle(self) -> None:
        while True:
            await asyncio.sleep(IDLE_CHECK_EVERY_SEC)
            if not self.dir.exists():
                # Its host's work dir was removed: nothing it runs can report anywhere.
                log.info("the runner's directory is gone: stopping")
                await self.interrupt()
                return
            if not self.attempts and time.monotonic() - self._last_heard > self.idle_exit_sec:
                log.info("idle for %.0f s: exiting", self.idle_exit_sec)
                self._done.set()

    async def _watch_harbor(self) -> None:
        """A Harbor upgraded under a running runner: new attempts go to a new runner (the worker
        sees `stale`), this one finishes its own."""
        while True:
            await asyncio.sleep(self.harbor_check_sec)
            try:
                installed = await asyncio.to_thread(importlib.metadata.version, "harbor")
            except importlib.metadata.PackageNotFoundError:
                installed = "none"
            if installed != self.harbor_version:
                self.stale = f"harbor {installed} is installed, this runner has {self.harbor_version} loaded"
                self.drain(self.stale)
                return


def _import_component(name: str) -> None:
    """An agent (`terminus-2`), an environment type (`docker`), or a module (`pkg.mod[:Class]`)."""
    from harbor.agents.factory import AgentFactory
    from harbor.environments import factory as environments
    from harbor.models.agent.name import AgentName
    from harbor.models.environment_type import EnvironmentType

    if name in AgentName.values():
        AgentFactory.get_agent_class(AgentName(name))
    elif name in {t.value for t in EnvironmentType}:
        environments._load_environment_class(EnvironmentType(name))
    else:
        importlib.import_module(name.split(":", 1)[0])
