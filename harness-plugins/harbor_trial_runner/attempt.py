"""One attempt: one Harbor trial, run in this process as `harbor run -k 1 -n 1` would run it.

The attempt leaves what that command leaves, where the worker looks for it:
  <jobs_dir>/<job_name>/<trial>/            Harbor's trial directory (Harbor writes it)
  <jobs_dir>/<job_name>/job.log             the trial's log records, as `harbor run` writes them
  <jobs_dir>/<job_name>/harbor-runner-events.jsonl   the phase events (harbor_runner_hooks)
  <proc>/                                   the supervisor-style record (records.py)

Exit codes are the command's: 0 when the trial ran (whatever its outcome: the truth is in its
result.json), 1 when a preflight refused it or Harbor raised before it could record a result,
130 when it was cancelled. Harbor's own exception handling is untouched: inside `Trial.run`,
errors become the trial's `exception_info` as they do under the CLI.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harbor_runner_hooks.phase_events import EVENTS_FILE_NAME, PhaseRecorder

from . import scoped_environ
from .records import ProcRecord

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 130


class SpecError(ValueError):
    """A start request that cannot describe an attempt."""


@dataclass(frozen=True)
class AttemptSpec:
    """What the worker asks for (the same choices as `harbor run`'s flags)."""

    proc: Path
    task: Path
    jobs_dir: Path
    job_name: str
    agent: str
    model: str | None
    environment: str
    environment_kwargs: dict[str, Any]
    timeout_multiplier: float

    @property
    def job_dir(self) -> Path:
        return self.jobs_dir / self.job_name

    @staticmethod
    def parse(raw: Any, work_dir: Path) -> AttemptSpec:
        if not isinstance(raw, dict):
            raise SpecError("the attempt must be an object")

        def text(name: str, optional: bool = False) -> str | None:
            value = raw.get(name)
            if value is None and optional:
                return None
            if not isinstance(value, str) or not value or "\0" in value:
                raise SpecError(f"{name} must be a non-empty string")
            return value

        def inside(name: str) -> Path:
            path = Path(text(name) or "")
            resolved = path.resolve()
            if not path.is_absolute() or not resolved.is_relative_to(work_dir):
                raise SpecError(f"{name} must be an absolute path inside the work dir")
            return resolved

        job_name = text("job_name") or ""
        if "/" in job_name or job_name in (".", ".."):
            raise SpecError("job_name must be a plain name")
        kwargs = raw.get("environment_kwargs") or {}
        multiplier = raw.get("timeout_multiplier", 1.0)
        if not isinstance(kwargs, dict) or not isinstance(multiplier, (int, float)) or multiplier <= 0:
            raise SpecError("environment_kwargs must be an object and timeout_multiplier positive")
        return AttemptSpec(
            proc=inside("proc"),
            task=inside("task"),
            jobs_dir=inside("jobs_dir"),
            job_name=job_name,
            agent=text("agent") or "",
            model=text("model", optional=True),
            environment=text("environment") or "",
            environment_kwargs=kwargs,
            timeout_multiplier=float(multiplier),
        )


class PreflightRefused(Exception):
    """Harbor's preflight said no; `stream` is where `harbor run` would have printed why."""

    def __init__(self, message: str, stream: str) -> None:
        super().__init__(message)
        self.stream = stream


def trial_config(spec: AttemptSpec) -> Any:
    """The TrialConfig `harbor run` builds from the same flags (`harbor/cli/jobs.py`)."""
    from harbor.models.trial.config import AgentConfig, EnvironmentConfig, TaskConfig, TrialConfig

    custom_env = ":" in spec.environment
    return TrialConfig(
        task=TaskConfig(path=spec.task),
        trials_dir=spec.job_dir,
        timeout_multiplier=spec.timeout_multiplier,
        agent=AgentConfig(name=spec.agent, model_name=spec.model),
        environment=EnvironmentConfig(
            type=None if custom_env else spec.environment,
            import_path=spec.environment if custom_env else None,
            kwargs=spec.environment_kwargs,
        ),
        # One job per attempt, as `harbor run` makes one: its id is derived from the job's name.
        job_id=uuid.uuid5(uuid.NAMESPACE_URL, f"harbor-runner:{spec.job_name}"),
    )


# `harbor run` checks its environment once per job; a runner runs many jobs' attempts, and the
# check may start a process (`docker info`): a success holds for a minute, a failure for nobody.
ENVIRONMENT_CHECK_HOLDS_SEC = 60.0
_environments_checked: dict[str, float] = {}
# Agents and environments whose preflight ran once: what it imports (the agent's module, LiteLLM
# for parsing the model name: seconds) is loaded, and it takes well under a millisecond now.
_preflights_warm: set[tuple[str | None, str | None, str | None]] = set()


async def run_preflight(config: Any) -> None:
    """`preflight`, in a thread the first time for its agent and environment (it may import for
    seconds, which must not stop the other attempts), inline after that (a thread's hand-offs would
    cost more than the check, with hundreds of attempts starting at once)."""
    kind = (config.agent.name, config.agent.import_path, config.environment.import_path or str(config.environment.type))
    if kind in _preflights_warm:
        preflight(config)
        return
    await asyncio.to_thread(preflight, config)
    _preflights_warm.add(kind)


def preflight(config: Any) -> None:
    """`harbor run`'s preflight for this trial (`_run_preflight`): the environment's (e.g. Docker
    installed and running) and the agent's (options, model credentials). Blocking: run in a thread."""
    from harbor.agents.factory import AgentFactory
    from harbor.environments.factory import EnvironmentFactory

    env = config.environment
    env_key = json.dumps([str(env.type), env.import_path, env.kwargs], sort_keys=True, default=str)
    try:
        if time.monotonic() - _environments_checked.get(env_key, -math.inf) > ENVIRONMENT_CHECK_HOLDS_SEC:
            EnvironmentFactory.run_preflight(type=env.type, import_path=env.import_path, kwargs=env.kwargs)
            _environments_checked[env_key] = time.monotonic()
        # Importing the agent here, in a thread, keeps a first import off the event loop.
        AgentFactory.run_preflight(config.agent)
    except SystemExit as exc:
        # `raise SystemExit("Docker daemon is not running. …")`: Python prints the message to stderr.
        message = exc.code if isinstance(exc.code, str) else f"preflight failed (status {exc.code})"
        raise PreflightRefused(message, "stderr") from None
    except ValueError as exc:
        raise PreflightRefused(str(exc), "stdout") from None


class Attempt:
    """One attempt's trial, run as an asyncio task of the runner."""

    def __init__(self, spec: AttemptSpec, secrets: dict[str, str], runner_id: str) -> None:
        self.spec = spec
        self.record = ProcRecord(spec.proc)
        self.record.open(runner_id)
        self._secrets = secrets
        self.task: asyncio.Task[int] | None = None

    def start(self) -> asyncio.Task[int]:
        self.task = asyncio.create_task(self._run(), name=f"attempt {self.spec.job_name}")
        return self.task

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def abandon(self) -> None:
        """Gives up on a trial that did not stop when cancelled: the attempt ends now, as killed."""
        self.cancel()
        self.record.close(137)

    async def _run(self) -> int:
        # This task's view of os.environ holds its secrets; nobody else's does.
        scoped_environ.enter(self._secrets)
        self._secrets = {}
        code = EXIT_FAILED
        try:
            code = await self._trial()
        except asyncio.CancelledError:
            code = EXIT_CANCELLED
        except BaseException:  # noqa: BLE001 - whatever Harbor raised is the attempt's, not the runner's
            self.record.append("stderr", traceback.format_exc())
        finally:
            self.record.close(code)
        return code

    async def _trial(self) -> int:
        from harbor.trial.trial import Trial

        config = trial_config(self.spec)
        try:
            await run_preflight(config)
        except PreflightRefused as refused:
            self.record.append(refused.stream, str(refused))
            return EXIT_FAILED
        self.spec.job_dir.mkdir(parents=True, exist_ok=True)
        recorder = PhaseRecorder(self.spec.job_dir / EVENTS_FILE_NAME)
        recorder.create()
        trial = await Trial.create(config)
        recorder.register(trial.add_hook)
        job_log = _attach_job_log(trial.logger, self.spec.job_dir / "job.log")
        try:
            await trial.run()
        finally:
            trial.logger.removeHandler(job_log)
            job_log.close()
            _forget_loggers(trial.logger.name)
        return EXIT_OK


def _forget_loggers(prefix: str) -> None:
    """Drops the trial's loggers (Harbor makes one per trial, and one per component below it), which
    `logging` would otherwise keep for the life of the process: thousands of trials in a runner."""
    registry = logging.Logger.manager.loggerDict
    for name in [n for n in registry if n == prefix or n.startswith(prefix + ".")]:
        del registry[name]


def _attach_job_log(logger: logging.Logger, path: Path) -> logging.Handler:
    """The job log `harbor run` keeps beside its trials: every record of the trial, unformatted."""
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return handler
