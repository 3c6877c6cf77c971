"""The machinery behind ``test/fake-tb/tb``: Terminal-Bench 0.2.18 without Docker and without a model.

The fake runs the REAL ``tb`` command (``terminal_bench.cli.tb.main``) in-process and replaces
only what cannot run on a machine without Docker or network:

1. ``DockerComposeManager`` (``docker compose build/up/down`` and the Docker SDK container) is
   swapped, method by method, for a *local container*: a private temp directory that stands in for
   the container's filesystem, plus a tiny emulation of the handful of ``tmux``/``asciinema``
   commands that TB's own ``TmuxSession`` sends through ``container.exec_run``. ``Terminal``,
   ``TmuxSession``, the agents, the harness, the parsers and every file writer are TB's own code.
2. Unless ``OPENROUTER_API_BASE`` points LiteLLM at a stand-in server (such as
   ``test/harbor-env/fake_openrouter.py``), ``litellm.completion`` is swapped for a scripted model
   chosen by the model name (below), so LLM agents (``terminus``, ``terminus-2``, ...) run their
   real loops, retries and error handling without the network.

What the local container does
-----------------------------
Each trial gets a private root (``$TMPDIR/fake-tb-<container>-*``). Container paths are mapped to
host paths: ``/logs`` to the trial's ``sessions/`` dir and ``/agent-logs`` to its ``agent-logs/``
dir (the bind mounts of TB's docker-compose file, so those files grow on the host while the trial
runs), and every other absolute path to ``<root>/<path>``. There is no chroot: the mapping is
applied to the paths TB passes to ``exec_run``/``put_archive`` and, in command lines typed into a
session, to absolute paths under the top-level dirs ``app``, ``tests``, ``oracle``, ``logs``,
``agent-logs``, ``tmp``, ``root``, ``installed-agent`` and the Dockerfile's ``WORKDIR``. Scripts
run by those commands must therefore use paths relative to the working directory (which is
``<root>/<WORKDIR>``, the Dockerfile's last ``WORKDIR``, ``/`` without one) or ``$TEST_DIR``
(``<root>/tests``), not literal ``/app/...``. Commands run with the host's tools (bash,
coreutils).

A tmux session is one long-lived ``bash`` reading the typed lines on stdin, in its own process
group. Output goes, as it arrives, to the pane buffer, to the session's pipe-pane log
(``sessions/<name>.log``) and, while ``asciinema rec`` is "running", to an asciicast v2 file
(``sessions/<name>.cast``). ``tmux wait -S <channel>`` typed in a session is a shell function that
signals the channel back to the fake; ``timeout <t>s tmux wait <channel>`` waits for it (exit 124
on timeout, like coreutils' ``timeout``). ``C-c`` interrupts the running command; ``C-d`` ends the
recording. Stopping the container kills every process group it started and deletes the root.

Scripted models (the last ``/``-separated segment of ``--model``)
------------------------------------------------------------------
- ``fake-solver``: answers with one command that runs the task's ``solution.sh`` (terminus-1 and
  terminus-2 response formats), then declares the task complete; tokens are counted by LiteLLM.
- ``fake-garbage``: answers text that is not JSON (terminus-1: ``fatal_llm_parse_error`` after its
  retries). Not for terminus-2: it asks again, up to a million times, and TB's agent timeout does not
  stop it (see README.md).
- ``fake-bad-key``: ``litellm.AuthenticationError`` (401 "No auth credentials found").
- ``fake-rate-limit``: ``litellm.RateLimitError`` (429).
- ``fake-context-length``: ``litellm.ContextWindowExceededError``.
- anything else: ``litellm.BadRequestError`` "<model> is not a valid model ID" (OpenRouter's answer
  to an unknown model id).
Without ``OPENROUTER_API_KEY`` (or ``OR_API_KEY``) every model answers ``AuthenticationError``.
LiteLLM's own retry waits (4-15 s) are removed so failures come quickly; attempts are unchanged.

Environment switches
--------------------
- ``FAKE_TB_DOCKER=unavailable``: creating the Docker client fails the way it does on a host
  without a Docker daemon (TB records ``unknown_agent_error`` with no timestamps, exit 0).
- ``FAKE_TB_DOCKER=build-fails``: ``docker compose build`` fails (``CalledProcessError``).
- ``FAKE_TB_KEEP_ROOT=1``: keep the private roots (for debugging).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

FAKE_ROOT_PREFIX = 'fake-tb-'
SESSION_WIDTH = 160
SESSION_HEIGHT = 40
ENTER_KEYS = {'Enter', 'C-m', 'KPEnter', 'C-j', '^M', '^J'}
MAPPED_TOP_DIRS = {'app', 'tests', 'oracle', 'logs', 'agent-logs', 'tmp', 'root', 'installed-agent'}

# The task being run, for the scripted model (set from the command line in ``install``).
_task_dir: Path | None = None


def _dockerfile_workdir(task_dir: Path) -> str:
    workdir = '/'
    dockerfile = task_dir / 'Dockerfile'
    if dockerfile.is_file():
        for line in dockerfile.read_text(errors='replace').splitlines():
            match = re.match(r'\s*WORKDIR\s+(\S+)', line, re.IGNORECASE)
            if match:
                value = match.group(1)
                workdir = value if value.startswith('/') else str(PurePosixPath(workdir) / value)
    return workdir


class ExecResultLike(tuple):
    """``docker.models.containers.ExecResult``'s shape: ``(exit_code, output)``."""

    def __new__(cls, exit_code: int, output: bytes) -> 'ExecResultLike':
        return super().__new__(cls, (exit_code, output))

    @property
    def exit_code(self) -> int:
        return self[0]

    @property
    def output(self) -> bytes:
        return self[1]


class LocalContainer:
    """The part of a Docker SDK ``Container`` that Terminal-Bench uses, backed by a private root."""

    def __init__(self, name: str, task_dir: Path, mounts: dict[str, Path], env: dict[str, str]) -> None:
        self.name = name
        self.workdir = _dockerfile_workdir(task_dir)
        self.attrs = {'Config': {'User': '', 'WorkingDir': self.workdir}}
        self.root = Path(tempfile.mkdtemp(prefix=f'{FAKE_ROOT_PREFIX}{name}-'))
        self.mounts = {k: v.absolute() for k, v in mounts.items()}
        for top in ('app', 'tmp', 'root'):
            (self.root / top).mkdir(exist_ok=True)
        self.host_path(self.workdir).mkdir(parents=True, exist_ok=True)
        self._top_dirs = set(MAPPED_TOP_DIRS)
        if self.workdir != '/':
            self._top_dirs.add(PurePosixPath(self.workdir).parts[1])
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin'),
            'HOME': str(self.host_path('/root')),
            'TMPDIR': str(self.host_path('/tmp')),
            'LANG': 'C.UTF-8',
            'TERM': 'tmux-256color',
            **env,
        }
        self._sessions: dict[str, LocalSession] = {}
        self._channels: dict[str, int] = {}
        self._cond = threading.Condition()
        self.stopped = False
        ctl_r, ctl_w = os.pipe()
        self._ctl_w = ctl_w
        threading.Thread(target=self._read_channels, args=(ctl_r,), daemon=True).start()

    # -- paths -----------------------------------------------------------------------------------

    def host_path(self, container_path: str | PurePosixPath) -> Path:
        path = PurePosixPath('/') / PurePosixPath(str(container_path))
        for mount, host in sorted(self.mounts.items(), key=lambda kv: -len(kv[0])):
            if path == PurePosixPath(mount) or PurePosixPath(mount) in path.parents:
                return host / path.relative_to(mount)
        return self.root / path.relative_to('/')

    def rewrite(self, text: str) -> str:
        """Absolute container paths in a typed command line, made host paths."""

        def repl(match: re.Match[str]) -> str:
            top = match.group(2)
            if top not in self._top_dirs:
                return match.group(0)
            return match.group(1) + str(self.host_path('/' + top + (match.group(3) or '')))

        return re.sub(r'(^|[\s"\'=:;(<>|&`])/([A-Za-z0-9._-]+)(/[^\s"\';|&<>()`]*)?', repl, text)

    # -- tmux channels (`tmux wait -S`, `tmux wait`) ---------------------------------------------

    def _read_channels(self, fd: int) -> None:
        with os.fdopen(fd, 'r', errors='replace') as pipe:
            for line in pipe:
                self.signal_channel(line.strip())

    def signal_channel(self, channel: str) -> None:
        with self._cond:
            self._channels[channel] = self._channels.get(channel, 0) + 1
            self._cond.notify_all()

    def _wait_channel(self, channel: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._channels.get(channel, 0) == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopped:
                    return False
                self._cond.wait(min(remaining, 0.5))
            self._channels[channel] -= 1
            return True

    # -- the Docker SDK surface --------------------------------------------------------------------

    def exec_run(self, cmd: str | list[str], user: str = '', **_: Any) -> ExecResultLike:
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        if argv[:2] == ['tmux', '-V']:
            return ExecResultLike(0, b'tmux 3.4\n')
        if argv[:2] == ['asciinema', '--version']:
            return ExecResultLike(0, b'asciinema 2.4.0\n')
        if argv[:2] == ['mkdir', '-p']:
            for d in argv[2:]:
                self.host_path(d).mkdir(parents=True, exist_ok=True)
            return ExecResultLike(0, b'')
        if argv[:2] == ['bash', '-c'] and argv[2].lstrip().startswith('tmux new-session'):
            return self._new_session(argv[2])
        if argv[:1] == ['timeout'] and argv[2:4] == ['tmux', 'wait']:
            seconds = argv[1].rstrip('s')
            timeout = float('inf') if seconds == 'inf' else float(seconds)
            return ExecResultLike(0 if self._wait_channel(argv[4], timeout) else 124, b'')
        if argv[:1] == ['tmux'] and '-t' in argv:
            session = self._sessions.get(argv[argv.index('-t') + 1])
            if argv[1] == 'has-session':
                return ExecResultLike(0 if session and session.alive() else 1, b'')
            if session is None:
                return ExecResultLike(1, b"can't find session\n")
            if argv[1] == 'send-keys':
                session.send_keys(argv[argv.index('-t') + 2:])
                return ExecResultLike(0, b'')
            if argv[1] == 'capture-pane':
                return ExecResultLike(0, session.capture(entire='-S' in argv).encode())
            if argv[1] == 'clear-history':
                session.clear()
                return ExecResultLike(0, b'')
        # Anything else (the asciinema timestamp script, installed agents' setup): run it for real.
        mapped = [self.rewrite(a) if a.startswith('/') else a for a in argv]
        proc = subprocess.run(
            mapped, cwd=self.host_path(self.workdir), env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
        )
        return ExecResultLike(proc.returncode, proc.stdout)

    def put_archive(self, path: str, data: bytes) -> bool:
        target = self.host_path(path)
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(target, filter='data')
        return True

    def _new_session(self, script: str) -> ExecResultLike:
        name = re.search(r'-s (\S+)', script)
        log = re.search(r'cat > ([^"\']+)', script)
        if not name:
            return ExecResultLike(1, b'bad new-session\n')
        log_path = self.host_path(log.group(1).strip()) if log else None
        self._sessions[name.group(1)] = LocalSession(self, name.group(1), log_path, self._ctl_w)
        return ExecResultLike(0, b'')

    def stop(self) -> None:
        self.stopped = True
        with self._cond:
            self._cond.notify_all()
        for session in self._sessions.values():
            session.kill()
        if self._ctl_w >= 0:
            os.close(self._ctl_w)
            self._ctl_w = -1
        if os.environ.get('FAKE_TB_KEEP_ROOT') != '1':
            shutil.rmtree(self.root, ignore_errors=True)


class LocalSession:
    """One tmux session: a bash process fed the typed lines, its output kept as the pane."""

    def __init__(self, container: LocalContainer, name: str, log_path: Path | None, ctl_fd: int) -> None:
        self.container = container
        self.name = name
        self._pane = ''
        self._line = ''
        self._lock = threading.Lock()
        self._log = open(log_path, 'w') if log_path else None  # noqa: SIM115 - lives with the session
        self._cast: Any = None
        self._cast_start = 0.0
        env = {**container.env, 'FAKE_TB_CTL_FD': str(ctl_fd)}
        self._proc = subprocess.Popen(
            ['bash', '--noprofile', '--norc'],
            cwd=container.host_path(container.workdir), env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(ctl_fd,), start_new_session=True,
        )
        # `tmux wait -S CHANNEL` typed in the session signals the fake (other tmux verbs do nothing).
        self._write_shell(
            'tmux() { if [ "$1" = wait ] && [ "$2" = -S ]; then printf "\\036%s\\036" "$3"; fi; }\n'
        )
        self._prompt = f'root@{container.name}:{container.workdir}# '
        self._emit(self._prompt)
        threading.Thread(target=self._read_output, daemon=True).start()

    def alive(self) -> bool:
        return self._proc.poll() is None

    def _write_shell(self, text: str) -> None:
        if self._proc.stdin and self.alive():
            try:
                self._proc.stdin.write(text.encode())
                self._proc.stdin.flush()
            except BrokenPipeError:
                pass

    def _emit(self, text: str) -> None:
        with self._lock:
            self._pane += text
            if self._log:
                self._log.write(text)
                self._log.flush()
            if self._cast:
                event = json.dumps(text)
                self._cast.write(f'[{time.monotonic() - self._cast_start:.6f}, "o", {event}]\n')
                self._cast.flush()

    def _read_output(self) -> None:
        """The shell's output into the pane. `tmux wait -S` signals in the same stream (a channel
        name between two RS characters), so everything printed before it is in the pane when the
        waiter wakes, as with tmux; a separate pipe could overtake the output under load."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        pending = ''
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            pending += chunk.decode(errors='replace')
            while True:
                start = pending.find('\x1e')
                if start < 0:
                    self._emit(pending)
                    pending = ''
                    break
                end = pending.find('\x1e', start + 1)
                if end < 0:
                    self._emit(pending[:start])
                    pending = pending[start:]
                    break
                self._emit(pending[:start])
                self.container.signal_channel(pending[start + 1 : end])
                pending = pending[end + 1 :]
        if pending:
            self._emit(pending)

    def send_keys(self, keys: list[str]) -> None:
        for key in keys:
            if key in ENTER_KEYS:
                self._submit()
            elif key == 'C-c':
                self._emit('^C\n')
                self._line = ''
                self._interrupt()
            elif key == 'C-d':
                if self._cast and not self._line:
                    self._stop_recording()
                elif not self._line:
                    self._proc.stdin and self._proc.stdin.close()
            elif key == 'BSpace':
                self._line = self._line[:-1]
            elif re.fullmatch(r'(C|M|S)-.|Escape|Tab|Up|Down|Left|Right|Home|End|PPage|NPage', key):
                continue
            else:
                for ch in key:
                    if ch in '\r\n':
                        self._submit()
                    else:
                        self._line += ch

    def _submit(self) -> None:
        line, self._line = self._line, ''
        self._emit(line + '\n')
        stripped = line.strip()
        rec = re.match(r'asciinema rec\b.*?(\S+\.cast)\s*$', stripped)
        if rec:
            self._start_recording(self.container.host_path(rec.group(1)))
        elif stripped == 'clear':
            with self._lock:
                self._pane = ''
            self._emit(self._prompt)
        else:
            self._write_shell(self.container.rewrite(line) + f'\nprintf %s {shlex.quote(self._prompt)}\n')

    def _interrupt(self) -> None:
        children = Path(f'/proc/{self._proc.pid}/task/{self._proc.pid}/children')
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGINT) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def _start_recording(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            'version': 2, 'width': SESSION_WIDTH, 'height': SESSION_HEIGHT, 'timestamp': int(time.time()),
            'env': {'SHELL': '/bin/bash', 'TERM': 'tmux-256color'},
        }
        with self._lock:
            self._cast = open(path, 'w')  # noqa: SIM115 - closed by _stop_recording
            self._cast.write(json.dumps(header) + '\n')
            self._cast.flush()
            self._cast_start = time.monotonic()
        self._emit(f'asciinema: recording asciicast to {path.name}\n' + self._prompt)

    def _stop_recording(self) -> None:
        self._emit('exit\nasciinema: recording finished\n')
        with self._lock:
            if self._cast:
                self._cast.close()
                self._cast = None

    def capture(self, entire: bool) -> str:
        with self._lock:
            lines = self._pane.split('\n')
        if not entire:
            lines = lines[-SESSION_HEIGHT:]
        return '\n'.join(line[:SESSION_WIDTH] for line in lines) + '\n'

    def clear(self) -> None:
        with self._lock:
            self._pane = ''

    def kill(self) -> None:
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._proc.wait()
        with self._lock:
            if self._cast:
                self._cast.close()
                self._cast = None
            if self._log:
                self._log.close()
                self._log = None


# -- DockerComposeManager, replaced method by method ------------------------------------------------


def _install_container() -> None:
    import subprocess as sp

    from terminal_bench.terminal.docker_compose_manager import DockerComposeEnvVars, DockerComposeManager
    from terminal_bench.utils.logger import logger

    def __init__(self: Any, client_container_name: str, client_image_name: str, docker_compose_path: Path,
                 docker_image_name_prefix: str | None = None, no_rebuild: bool = False, cleanup: bool = False,
                 sessions_logs_path: Path | None = None, agent_logs_path: Path | None = None) -> None:
        if os.environ.get('FAKE_TB_DOCKER') == 'unavailable':
            import docker.errors

            try:
                raise docker.errors.DockerException(
                    "Error while fetching server API version: ('Connection aborted.', "
                    "FileNotFoundError(2, 'No such file or directory'))"
                )
            except docker.errors.DockerException as e:
                raise RuntimeError(
                    (f'Error creating docker client: {e}', 'Please ensure that Docker is installed and running.')
                ) from e
        self._client_container_name = client_container_name
        self._client_image_name = client_image_name
        self._docker_name_prefix = docker_image_name_prefix
        self._docker_compose_path = docker_compose_path
        self._no_rebuild = no_rebuild
        self._cleanup = cleanup
        self._client_container = None
        self._sessions_logs_path = sessions_logs_path
        self._agent_logs_path = agent_logs_path
        self._logger = logger.getChild('terminal_bench.terminal.docker_compose_manager')
        self.env = DockerComposeEnvVars(
            task_docker_client_image_name=client_image_name,
            task_docker_client_container_name=client_container_name,
            task_docker_name_prefix=docker_image_name_prefix,
            container_logs_path=self.CONTAINER_SESSION_LOGS_PATH,
            container_agent_logs_path=self.CONTAINER_AGENT_LOGS_PATH,
            test_dir=str(self.CONTAINER_TEST_DIR),
        ).to_env_dict(include_os_env=False)

    def compose(self: Any, args: list[str], fail: str | None = None) -> None:
        command = self.get_docker_compose_command(args)
        self._logger.debug(f"Running docker compose command: {' '.join(command)}")
        if not Path(self._docker_compose_path).is_file():
            fail = f'open {Path(self._docker_compose_path).absolute()}: no such file or directory'
        if fail:
            # What TB logs when `docker compose` exits non-zero, then the CalledProcessError it raises.
            self._logger.debug('Docker compose command failed with exit code 1')
            self._logger.debug(f"Command: {' '.join(command)}")
            self._logger.debug(f'STDERR: {fail}')
            raise sp.CalledProcessError(1, command, output='', stderr=fail)

    def start(self: Any) -> LocalContainer:
        if not self._no_rebuild:
            build_fails = os.environ.get('FAKE_TB_DOCKER') == 'build-fails'
            compose(self, ['build'], 'failed to solve: fake build failure' if build_fails else None)
        compose(self, ['up', '-d'])
        mounts: dict[str, Path] = {}
        if self._sessions_logs_path is not None:
            mounts[self.CONTAINER_SESSION_LOGS_PATH] = Path(self._sessions_logs_path)
        if self._agent_logs_path is not None:
            mounts[self.CONTAINER_AGENT_LOGS_PATH] = Path(self._agent_logs_path)
        task_dir = Path(self._docker_compose_path).parent
        self._client_container = LocalContainer(
            self._client_container_name, task_dir, mounts,
            {'TEST_DIR': str(self.CONTAINER_TEST_DIR)},
        )
        # TEST_DIR as the sessions see it: the private root's /tests.
        self._client_container.env['TEST_DIR'] = str(self._client_container.host_path(self.CONTAINER_TEST_DIR))
        return self._client_container

    def stop(self: Any) -> None:
        try:
            compose(self, ['down'])
            if self._client_container is not None:
                self._client_container.stop()
            if self._cleanup:
                compose(self, ['down', '--rmi', 'all', '--volumes'])
        except Exception as e:  # TB logs and swallows errors here too
            self._logger.error(f'Error cleaning up docker compose services: {e}')

    def build(self: Any) -> None:
        compose(self, ['build'])

    DockerComposeManager.__init__ = __init__  # type: ignore[method-assign]
    DockerComposeManager.start = start  # type: ignore[method-assign]
    DockerComposeManager.stop = stop  # type: ignore[method-assign]
    DockerComposeManager.build = build  # type: ignore[method-assign]


# -- the scripted model ---------------------------------------------------------------------------------


def _install_llm() -> None:
    import litellm
    import tenacity

    from terminal_bench.llms.lite_llm import LiteLLM

    # LiteLLM.call retries with 4-15 s waits; keep the attempts, drop the waiting.
    LiteLLM.call.retry.wait = tenacity.wait_none()  # type: ignore[attr-defined]
    if os.environ.get('OPENROUTER_API_BASE'):
        return  # a stand-in OpenRouter answers; LiteLLM talks to it for real

    def completion(model: str, messages: list[dict[str, Any]], logger_fn: Any = None, **kwargs: Any) -> Any:
        key = os.environ.get('OPENROUTER_API_KEY') or os.environ.get('OR_API_KEY')
        if logger_fn is not None:
            # The shape of LiteLLM's pre-call log (TB writes it to agent-logs/episode-N/debug.json). Like
            # the real one, it carries the key in clear in the Authorization header; TB hashes only the
            # top-level `api_key`.
            api_base = 'https://openrouter.ai/api/v1'
            call: dict[str, Any] = {
                'model': model, 'messages': messages, 'custom_llm_provider': 'openrouter',
                'optional_params': {k: v for k, v in kwargs.items() if k == 'temperature'},
                'litellm_params': {'api_key': 'None', 'api_base': api_base, 'custom_llm_provider': 'openrouter'},
                'additional_args': {
                    'api_base': f'{api_base}/chat/completions',
                    'headers': {
                        'HTTP-Referer': 'https://litellm.ai', 'X-Title': 'liteLLM',
                        'Authorization': f'Bearer {key}', 'Content-Type': 'application/json',
                    },
                },
            }
            if key:
                call['api_key'] = key
            logger_fn(call)
        name = model.rsplit('/', 1)[-1]
        provider = 'openrouter'
        if name not in ('fake-garbage', 'fake-solver') or not key:
            _print_litellm_help()
        if not key or name == 'fake-bad-key':
            raise litellm.AuthenticationError(
                message='AuthenticationError: OpenrouterException - '
                '{"error":{"message":"No auth credentials found","code":401}}',
                llm_provider=provider, model=model,
            )
        if name == 'fake-rate-limit':
            raise litellm.RateLimitError(
                message='RateLimitError: OpenrouterException - '
                '{"error":{"message":"Rate limit exceeded: free-models-per-min","code":429}}',
                llm_provider=provider, model=model,
            )
        if name == 'fake-context-length':
            raise litellm.ContextWindowExceededError(
                message='OpenrouterException - This endpoint\'s maximum context length is 8192 tokens.',
                model=model, llm_provider=provider,
            )
        if name == 'fake-garbage':
            return _model_response(model, 'I would rather not answer in JSON today.')
        if name == 'fake-solver':
            return _model_response(model, _solver_reply(messages))
        raise litellm.BadRequestError(
            message='OpenrouterException - '
            f'{{"error":{{"message":"{model.removeprefix("openrouter/")} is not a valid model ID","code":400}}}}',
            model=model, llm_provider=provider,
        )

    litellm.completion = completion


def _print_litellm_help() -> None:
    """What LiteLLM's exception mapping prints on stdout before it raises a provider error."""
    import litellm

    if litellm.suppress_debug_info is False:
        print()
        print('\033[1;31mGive Feedback / Get Help: https://github.com/BerriAI/litellm/issues/new\033[0m')
        print("LiteLLM.Info: If you need to debug this error, use `litellm.turn_on_debug()'.")
        print()


def _model_response(model: str, text: str) -> Any:
    import litellm

    return litellm.ModelResponse(
        model=model,
        choices=[{'index': 0, 'finish_reason': 'stop', 'message': {'role': 'assistant', 'content': text}}],
    )


def _solver_reply(messages: list[dict[str, Any]]) -> str:
    """Run the task's solution.sh on the first turn, then declare the task complete."""
    first_turn = sum(1 for m in messages if m.get('role') == 'assistant') == 0
    prompt = str(messages[-1].get('content', '')) if messages else ''
    system = ' '.join(str(m.get('content', '')) for m in messages[:1])
    solution = (_task_dir / 'solution.sh') if _task_dir else None
    script = solution.read_bytes() if solution and solution.is_file() else b'true\n'
    keystrokes = f'echo {base64.b64encode(script).decode()} | base64 -d | bash\n'
    commands = [{'keystrokes': keystrokes, 'is_blocking': True, 'timeout_sec': 60}] if first_turn else []
    if 'state_analysis' in system or 'state_analysis' in prompt:  # terminus-1's schema
        return json.dumps({
            'state_analysis': 'The task has not been started.' if first_turn else 'The solution ran.',
            'explanation': 'Run the solution.' if first_turn else 'Nothing left to do.',
            'commands': commands,
            'is_task_complete': not first_turn,
        })
    return json.dumps({  # terminus-2's JSON format
        'analysis': 'The task has not been started.' if first_turn else 'The solution ran.',
        'plan': 'Run the solution.' if first_turn else 'Confirm completion.',
        'commands': [{'keystrokes': c['keystrokes'], 'duration': 3.0} for c in commands],
        'task_complete': not first_turn,
    })


def _task_from_argv(argv: list[str]) -> Path | None:
    def value(*names: str) -> str | None:
        for i, arg in enumerate(argv):
            for name in names:
                if arg == name and i + 1 < len(argv):
                    return argv[i + 1]
                if arg.startswith(name + '='):
                    return arg.split('=', 1)[1]
        return None

    dataset, task = value('--dataset-path', '-p'), value('--task-id', '-t')
    if dataset and task:
        return Path(dataset) / task
    return None


def install(argv: list[str]) -> None:
    """Swap Docker and the model for their local stand-ins. Call before TB's CLI runs."""
    global _task_dir

    _task_dir = _task_from_argv(argv)
    _install_container()
    _install_llm()
