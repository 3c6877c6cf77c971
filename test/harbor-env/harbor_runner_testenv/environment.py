"""LocalSandboxEnvironment: a TEST-ONLY Harbor environment that needs no Docker.

Why this exists
---------------
Harbor Runner drives the real ``harbor`` CLI. Its integration tests must run
real trials on machines (CI runners, dev sandboxes) that have no Docker engine.
This plugin stands in for Harbor's Docker environment there: instead of a
container built from the task's Dockerfile, each trial gets a private root
directory in which the host's own binaries run. The task's image is never
built or pulled, so tasks used with it must only need what the host has
(bash, coreutils, tar).

It is NOT a security boundary and not meant for untrusted agents: processes
run as (namespaced) root with the host's /dev and network.

How it works
------------
``start()`` creates a private root (a temp dir) and launches one long-lived
"holder" process with ``unshare``: a new mount namespace and PID namespace
(plus a user namespace when not running as root, and a network namespace when
the task asks for no network). Inside, the holder bind-mounts the host's /usr,
/bin, /lib*, /etc, /opt read-only, /dev and /sys, a fresh /proc, and every host
mount Harbor asks for (e.g. the trial's ``agent/``, ``verifier/`` and
``artifacts/logs/artifacts/`` dirs onto /logs/agent, /logs/verifier,
/logs/artifacts), then chroots into the private root and waits. Everything
else (/app or the Dockerfile's WORKDIR, /tests, /solution, /tmp, /root,
whatever Harbor uploads) is a plain directory inside the private root, so
nothing is ever created in the host's real ``/`` and mounts never leak out of
the namespace.

``exec()`` runs ``bash -c COMMAND`` inside that namespace and root via
``nsenter`` (the analogue of ``docker exec``). Processes started by one exec
survive into the next one, as in a container. Each exec gets its own process
group, which is killed on timeout or cancellation. ``stop()`` kills the holder,
which is PID 1 of the sandbox's PID namespace: the kernel then kills every
process the environment ever started, however it was detached. The holder
also exits by itself if Harbor dies (it waits for EOF on a pipe from Harbor).

File transfers go through the sandbox too (``tar``/``cat`` over a pipe), so
they see exactly what the sandboxed commands see.

Deliberate simplifications: the ``user`` argument of ``exec`` is ignored
(everything runs as root inside the sandbox, like a default Docker image);
Dockerfile instructions other than WORKDIR are ignored; docker-compose task
environments, GPUs and network allowlists are rejected.

Options (``--ek key=value``)
----------------------------
``auto_mounting`` (default ``true`` here, unlike Harbor's built-in providers):
bind the trial's ``agent/``, ``verifier/`` and artifacts dirs into the sandbox,
so Harbor skips its post-run downloads and the files grow live on the host
while the agent/verifier runs. ``--ek auto_mounting=false`` keeps them private
and makes Harbor download them after each phase, like a remote sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from harbor.environments.base import (
    BaseEnvironment,
    ExecResult,
    OutputCallback,
    OutputStream,
    transfer_tar_filter,
)
from harbor.environments.capabilities import (
    EnvironmentCapabilities,
    EnvironmentResourceCapabilities,
)
from harbor.environments.options import EnvironmentOptions
from harbor.models.trial.paths import EnvironmentPaths
from pydantic import Field

# Host directories shown read-only inside the sandbox (those that exist).
# Symlinks among them (merged-/usr systems: /bin -> usr/bin) are copied as symlinks.
_HOST_DIRS_READ_ONLY = (
    "usr",
    "bin",
    "sbin",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "etc",
    "opt",
)
# Directories private to each sandbox, with their modes.
_PRIVATE_DIRS = {
    "tmp": 0o1777,
    "var/tmp": 0o1777,
    "root": 0o700,
    "home": 0o755,
    "run": 0o755,
    "dev": 0o755,
    "proc": 0o555,
    "sys": 0o555,
}
_DEFAULT_WORKDIR = "/app"
_SANDBOX_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
}
_HOST_TOOLS = ("unshare", "nsenter", "mount", "chroot")

# Runs as PID 1 of the new namespaces (started by `unshare`), before chroot, so it
# uses the host's /bin/sh, mount and chroot. Arguments: ROOT, then triples of
# `ro|rw SOURCE TARGET` to bind-mount at ROOT/TARGET (mountpoints already exist).
_HOLDER_SCRIPT = r"""
set -eu
root=$1; shift
while [ "$#" -gt 0 ]; do
    mode=$1 src=$2 dst=$root$3; shift 3
    mount --rbind "$src" "$dst"
    if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi
done
# A /proc that shows only the sandbox's PID namespace (else fall back to the host's).
mount -t proc proc "$root/proc" 2>/dev/null || mount --rbind /proc "$root/proc"
echo ready
# Wait for EOF on stdin, i.e. until Harbor closes the pipe in stop() or dies. When
# PID 1 exits, the kernel kills every process left in the sandbox's PID namespace.
exec chroot "$root" /bin/bash -c 'while read -r _; do :; done'
"""

# Runs inside the sandbox for each exec: $1 = working directory, $2 = command.
_EXEC_SCRIPT = 'cd -- "$1" || exit 126; exec /bin/bash -c "$2"'


class LocalSandboxOptions(EnvironmentOptions):
    """``--ek`` options of LocalSandboxEnvironment."""

    auto_mounting: bool = Field(
        default=True,
        description=(
            "Bind the trial's agent/verifier/artifacts dirs into the sandbox so they "
            "are written live on the host (default true for this test environment)."
        ),
    )


class LocalSandboxEnvironment(BaseEnvironment):
    """Runs a trial's commands in a private root + namespaces on the local host."""

    options_model = LocalSandboxOptions

    def __init__(self, *args: Any, auto_mounting: bool = True, **kwargs: Any):
        # Default auto_mounting to True (BaseEnvironment defaults it to False).
        self._root: Path | None = None  # the private root directory on the host
        self._holder: asyncio.subprocess.Process | None = None  # the `unshare` process
        self._holder_pid: int | None = None  # host PID of the sandbox's PID 1
        self._own_netns = False
        self._running: set[asyncio.subprocess.Process] = set()
        self._tools: dict[str, str] = {}
        super().__init__(*args, auto_mounting=auto_mounting, **kwargs)
        self._workdir = (
            self.task_env_config.workdir
            or _dockerfile_workdir(self.environment_dir / "Dockerfile")
            or _DEFAULT_WORKDIR
        )

    # ------------------------------------------------------------------ identity

    @staticmethod
    def type() -> str:
        return "local-sandbox"

    @property
    def capabilities(self) -> EnvironmentCapabilities:
        # mounted: honour auto_mounting / --mounts with real bind mounts.
        # disable_internet: "no-network" tasks get an empty network namespace.
        return EnvironmentCapabilities(mounted=True, disable_internet=True)

    @classmethod
    def resource_capabilities(cls) -> EnvironmentResourceCapabilities:
        # CPU/memory values are accepted but never enforced; explicit
        # limit/request policies (--cpus limit, ...) are rejected by Harbor.
        return EnvironmentResourceCapabilities(fractional_cpus=True)

    def _validate_definition(self):
        env_dir = self.environment_dir
        if (
            env_dir / "docker-compose.yaml"
        ).exists() or self.extra_docker_compose_paths:
            raise ValueError(
                f"{self.type()} environment does not support docker-compose task "
                f"environments ({env_dir})."
            )
        if (
            not (env_dir / "Dockerfile").exists()
            and not self.task_env_config.docker_image
        ):
            raise FileNotFoundError(
                f"Task environment directory {env_dir} has no Dockerfile and the task "
                "sets no docker_image (the image is never built, but one is required "
                "so the task also runs on Docker)."
            )

    # ----------------------------------------------------------------- preflight

    @classmethod
    def preflight(cls, kwargs: dict[str, Any] | None = None) -> None:
        super().preflight(kwargs)
        try:
            cls._check_host()
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None

    @staticmethod
    def _check_host() -> dict[str, str]:
        """Return absolute paths of the host tools, or raise RuntimeError saying why
        namespaces cannot be used here."""
        if not sys.platform.startswith("linux"):
            raise RuntimeError("LocalSandboxEnvironment needs Linux namespaces.")
        # Also look in the standard dirs: chroot lives in /usr/sbin, which a
        # non-root PATH often lacks.
        tools = {
            name: shutil.which(name) or shutil.which(name, path=_SANDBOX_ENV["PATH"])
            for name in _HOST_TOOLS
        }
        missing = [name for name, path in tools.items() if path is None]
        if missing:
            raise RuntimeError(
                f"LocalSandboxEnvironment needs util-linux tools not found on PATH: "
                f"{', '.join(missing)}."
            )
        probe = [
            tools["unshare"],
            *_userns_args(),
            "--mount",
            "--pid",
            "--fork",
            "true",
        ]
        result = subprocess.run(
            probe, capture_output=True, text=True, timeout=30, check=False
        )
        if result.returncode != 0:
            how = (
                "As root it needs CAP_SYS_ADMIN (mount/PID namespaces)."
                if os.geteuid() == 0
                else "As a non-root user it needs unprivileged user namespaces "
                "(`unshare -r -m` must work: check the sysctls "
                "kernel.unprivileged_userns_clone, user.max_user_namespaces and "
                "kernel.apparmor_restrict_unprivileged_userns, or the container's "
                "seccomp profile), or run as root."
            )
            raise RuntimeError(
                f"LocalSandboxEnvironment cannot create namespaces here: "
                f"`{shlex.join(probe)}` failed: {result.stderr.strip()}. {how}"
            )
        return {name: path for name, path in tools.items() if path}

    # ------------------------------------------------------------------ lifecycle

    async def start(self, force_build: bool) -> None:
        # force_build is meaningless: there is no image to build.
        self._tools = await asyncio.to_thread(self._check_host)
        safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.session_id)[:60]
        self._root = Path(
            tempfile.mkdtemp(prefix=f"harbor-sandbox-{safe_name}-")
        ).resolve()
        mounts = self._prepare_root(self._root)
        self._own_netns = self._network_disabled

        argv = [
            self._tools["unshare"],
            *_userns_args(),
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            *(["--net"] if self._own_netns else []),
            "--",
            "/bin/sh",
            "-c",
            _HOLDER_SCRIPT,
            "sandbox-holder",
            str(self._root),
            *mounts,
        ]
        self.logger.debug(f"Starting sandbox at {self._root}")
        self._holder = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,  # the lifeline, see _HOLDER_SCRIPT
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(_SANDBOX_ENV),
            cwd="/",
            start_new_session=True,
        )
        assert self._holder.stdout is not None and self._holder.stderr is not None
        try:
            ready = await asyncio.wait_for(self._holder.stdout.readline(), timeout=30)
        except TimeoutError:
            ready = b""
        if ready.strip() != b"ready":
            self._kill(self._holder.pid)
            error = (await self._holder.stderr.read()).decode(errors="replace").strip()
            await self._holder.wait()
            raise RuntimeError(f"Failed to set up the sandbox namespace: {error}")
        self._holder_pid = _child_pid(self._holder.pid)

        # Same post-start steps as Harbor's Docker environment.
        await self._upload_environment_dir_after_start()
        await self.ensure_dirs(self._mount_targets(writable_only=True))

    def _prepare_root(self, root: Path) -> list[str]:
        """Create the skeleton of the private root and return the holder's mount
        triples (mode, host source, sandbox target)."""
        mounts: list[str] = []
        for name in _HOST_DIRS_READ_ONLY:
            host = Path("/", name)
            if host.is_symlink():
                (root / name).symlink_to(os.readlink(host))
            elif host.is_dir():
                (root / name).mkdir()
                mounts += ["ro", str(host), f"/{name}"]
        for rel, mode in _PRIVATE_DIRS.items():
            (root / rel).mkdir(parents=True, exist_ok=True)
            (root / rel).chmod(mode)
        mounts += ["rw", "/dev", "/dev", "ro", "/sys", "/sys"]

        env_paths = EnvironmentPaths.for_os(self.os)
        for path in (
            self._workdir,
            env_paths.agent_dir,
            env_paths.verifier_dir,
            env_paths.artifacts_dir,
        ):
            (root / str(path).lstrip("/")).mkdir(parents=True, exist_ok=True)

        # Host mounts: Harbor's log dirs (when auto_mounting) and any --mounts.
        # Parents before children, so nested mounts stay visible.
        for mount in sorted(
            self._host_mounts, key=lambda m: len(PurePosixPath(m["target"]).parts)
        ):
            if mount.get("type", "bind") != "bind":
                raise ValueError(
                    f"{self.type()} environment only supports bind mounts: {mount}"
                )
            source = Path(mount["source"]).expanduser().absolute()
            target = PurePosixPath(mount["target"])
            if not target.is_absolute():
                raise ValueError(f"Mount target must be absolute: {mount}")
            if not source.exists():
                source.mkdir(parents=True)
            mountpoint = root / str(target).lstrip("/")
            if source.is_dir():
                mountpoint.mkdir(parents=True, exist_ok=True)
            else:
                mountpoint.parent.mkdir(parents=True, exist_ok=True)
                mountpoint.touch()
            mounts += [
                "ro" if mount.get("read_only") else "rw",
                str(source),
                str(target),
            ]
        return mounts

    async def stop(self, delete: bool):
        # Commands still running (e.g. the trial was cancelled): kill their groups.
        for proc in list(self._running):
            await _kill_group(proc)

        # Killing the sandbox's PID 1 makes the kernel kill every process in it.
        holder, self._holder = self._holder, None
        if holder is not None:
            if holder.stdin is not None:
                holder.stdin.close()
            for pid in (self._holder_pid, holder.pid):
                self._kill(pid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(holder.wait(), timeout=10)
        self._holder_pid = None

        if self._root is None:
            return
        leftovers = _pids_rooted_at(self._root)
        if leftovers:  # should not happen; kill them anyway
            self.logger.warning(f"Killing leftover sandbox processes: {leftovers}")
            for pid in leftovers:
                self._kill(pid)
        if delete:
            self._remove_root(self._root)
            self._root = None
        else:
            self.logger.info(f"Keeping sandbox root {self._root} (delete=False)")

    @staticmethod
    def _kill(pid: int | None) -> None:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _remove_root(root: Path) -> None:
        # The bind mounts only ever existed inside the (now dead) namespace, so
        # this removes plain files and empty mountpoint dirs only.
        try:
            shutil.rmtree(root)
        except OSError:
            # Non-root: the sandbox may have left dirs without write permission.
            subprocess.run(["chmod", "-R", "u+rwX", str(root)], check=False)
            shutil.rmtree(root, ignore_errors=True)

    # ---------------------------------------------------------------- execution

    async def exec(
        self,
        command: str,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout_sec: int | None = None,
        user: str | int | None = None,
    ) -> ExecResult:
        # `user` is ignored on purpose: everything runs as (namespaced) root.
        return await self._run(
            command,
            cwd=cwd or self._workdir,
            env=self._merge_env(env),
            timeout_sec=timeout_sec,
            on_output=self._output_callback(),
        )

    async def _run(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout_sec: float | None = None,
        stdin_path: Path | None = None,
        stdout_path: Path | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecResult:
        """Run ``bash -c command`` inside the sandbox, like ``docker exec``.

        On timeout the command's process group is killed and RuntimeError is
        raised with the same message as Harbor's Docker environment.
        """
        if self._holder_pid is None:
            raise RuntimeError(f"{self.type()} environment is not started")
        argv = [
            self._tools["nsenter"],
            "--target",
            str(self._holder_pid),
            *(["--user", "--preserve-credentials"] if _userns_args() else []),
            "--mount",
            "--pid",
            *(["--net"] if self._own_netns else []),
            "--root",  # chroot to the holder's root (the private root) ...
            "--wd",  # ... and start in the holder's working directory, its "/"
            "--",
            "/bin/sh",
            "-c",
            _EXEC_SCRIPT,
            "sandbox-exec",
            cwd or self._workdir,
            command,
        ]
        with contextlib.ExitStack() as files:
            stdin = (
                files.enter_context(open(stdin_path, "rb"))
                if stdin_path
                else subprocess.DEVNULL
            )
            stdout = (
                files.enter_context(open(stdout_path, "wb"))
                if stdout_path
                else asyncio.subprocess.PIPE
            )
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=stdin,
                stdout=stdout,
                stderr=asyncio.subprocess.PIPE,
                env={**_SANDBOX_ENV, **(env or {})},
                cwd="/",
                start_new_session=True,  # own process group, killed as a whole
            )
        self._running.add(proc)
        try:
            out, err = await asyncio.wait_for(
                _collect_output(proc, on_output), timeout=timeout_sec or None
            )
        except TimeoutError:
            await _kill_group(proc)
            # Same error as Harbor's Docker environment on timeout.
            raise RuntimeError(
                f"Command timed out after {timeout_sec} seconds"
            ) from None
        except BaseException:  # cancelled (e.g. agent timeout, SIGTERM): kill too
            await _kill_group(proc)
            raise
        finally:
            self._running.discard(proc)
        return ExecResult(
            stdout=out or None, stderr=err or None, return_code=proc.returncode or 0
        )

    async def _run_checked(self, what: str, command: str, **kwargs: Any) -> None:
        result = await self._run(command, cwd="/", **kwargs)
        if result.return_code != 0:
            raise RuntimeError(
                f"{what} failed with code {result.return_code}: "
                f"{result.stderr or result.stdout or 'no output'}"
            )

    # ----------------------------------------------------------- file transfer

    async def upload_file(self, source_path: Path | str, target_path: str):
        source = Path(source_path)
        mode = stat.S_IMODE(source.stat().st_mode)
        # Like `docker cp`: into target_path if it is (or ends with "/" like) a
        # directory, else as target_path.
        script = (
            f"t={shlex.quote(target_path)}; "
            'case "$t" in */) mkdir -p -- "$t";; esac; '
            f'if [ -d "$t" ]; then t="$t"/{shlex.quote(source.name)}; '
            f'else mkdir -p -- "$(dirname -- "$t")"; fi; '
            f'cat > "$t" && chmod {mode:o} "$t"'
        )
        await self._run_checked(
            f"Upload of {source} to {target_path}", script, stdin_path=source
        )

    async def upload_dir(self, source_dir: Path | str, target_dir: str):
        # Like `docker cp source_dir/. target_dir`: copy the contents, create target.
        source = Path(source_dir)
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "upload.tar"
            with tarfile.open(archive, "w") as tar:
                for child in sorted(source.iterdir()):
                    tar.add(child, arcname=child.name, filter=_root_owned)
            target = shlex.quote(target_dir)
            await self._run_checked(
                f"Upload of {source} to {target_dir}",
                f"mkdir -p -- {target} && tar -xf - -C {target}",
                stdin_path=archive,
            )

    async def download_file(self, source_path: str, target_path: Path | str):
        target = Path(target_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        try:
            await self._run_checked(
                f"Download of {source_path}",
                f"cat -- {shlex.quote(source_path)}",
                stdout_path=partial,
            )
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)

    async def download_dir(self, source_dir: str, target_dir: Path | str):
        target = Path(target_dir)
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "download.tar"
            await self._run_checked(
                f"Download of {source_dir}",
                f"tar -cf - -C {shlex.quote(source_dir)} .",
                stdout_path=archive,
            )
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter=transfer_tar_filter)


# --------------------------------------------------------------------- helpers


def _dockerfile_workdir(dockerfile: Path) -> str | None:
    """The final stage's WORKDIR of a Dockerfile, or None. (Harbor's own parser
    needs the optional `dockerfile-parse` package.) Variables are not expanded."""
    if not dockerfile.is_file():
        return None
    workdir: str | None = None
    for line in dockerfile.read_text(errors="replace").splitlines():
        words = line.split(maxsplit=1)
        if not words:
            continue
        keyword = words[0].upper()
        if keyword == "FROM":  # each build stage starts over
            workdir = None
        elif keyword == "WORKDIR" and len(words) == 2:
            value = words[1].strip().strip("\"'")
            workdir = str(PurePosixPath(workdir or "/", value))
    return workdir


def _userns_args() -> list[str]:
    """Root can use mount/PID namespaces directly; others need a user namespace
    in which they are mapped to root."""
    return [] if os.geteuid() == 0 else ["--map-root-user"]


def _child_pid(parent: int) -> int:
    """Host PID of the (only) child of ``parent``: the sandbox's PID 1."""
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid ..." - comm may contain spaces/parens.
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                return int(stat_file.parent.name)
    raise RuntimeError(f"Sandbox holder process {parent} has no child")


def _pids_rooted_at(root: Path) -> list[int]:
    """PIDs of processes whose root directory is ``root`` (i.e. in the sandbox)."""
    pids = []
    for root_link in Path("/proc").glob("[0-9]*/root"):
        with contextlib.suppress(OSError):
            if os.readlink(root_link) == str(root):
                pids.append(int(root_link.parent.name))
    return pids


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group of an exec (nsenter and the sandboxed command)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    # wait() also waits for the pipes to close; a detached process that still
    # holds them dies when the environment stops, so don't wait forever here.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), timeout=5)


async def _collect_output(
    proc: asyncio.subprocess.Process, on_output: OutputCallback | None
) -> tuple[str, str]:
    """Read stdout/stderr to EOF (streaming complete lines to ``on_output``, as
    Harbor's Docker environment does) and wait for the process to exit."""

    async def pump(stream: asyncio.StreamReader | None, name: OutputStream) -> str:
        if stream is None:
            return ""
        data, pending = bytearray(), b""
        while chunk := await stream.read(65536):
            data += chunk
            if on_output is not None:
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    await on_output(line.decode(errors="replace") + "\n", name)
        if on_output is not None and pending:
            await on_output(pending.decode(errors="replace"), name)
        return data.decode(errors="replace")

    out, err = await asyncio.gather(
        pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr")
    )
    await proc.wait()
    return out, err


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
