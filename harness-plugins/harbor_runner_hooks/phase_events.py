"""PhaseEvents: a Harbor job plugin that records each trial's phases as they happen.

Why this exists
---------------
Harbor writes a trial's ``result.json`` once, when the trial is over, and its
``job.log``/``trial.log`` say little about phases (see the README next to this
package). Harbor Runner wants to show which phase a run is in while it runs, and
to time the phases, without scraping human-oriented logs. Harbor 0.26 calls a
job plugin's ``on_job_start(job)`` before any trial starts; there this plugin
registers a callback for every trial lifecycle event
(``harbor.trial.hooks.TrialEvent``) and appends one JSON object per line to
``<job dir>/harbor-runner-events.jsonl``::

    {"event": "agent_started", "trial": "hello-pass__AbCdEfG", "time": "2026-11-29T05:07:13.012Z"}

Only these three fields are written: never the trial config, environment
variables, or anything else that could hold a secret.

Events (Harbor's ``TrialEvent`` -> our name, in the order Harbor emits them):
``START`` -> ``trial_started``, ``ENVIRONMENT_START`` -> ``environment_started``
(before the environment starts), ``AGENT_START`` -> ``agent_started``,
``AGENT_END`` -> ``agent_ended``, ``VERIFICATION_START`` ->
``verification_started`` (skipped when Harbor does not grade),
``CANCEL`` -> ``trial_cancelled`` (then ``trial_ended`` still follows), and
``END`` -> ``trial_ended`` (after ``result.json`` is written). A member added by
a later Harbor version is written as its value with ``-`` replaced by ``_``.

Harbor has no event for the start of agent setup (installing the agent in the
environment, after the environment is up). The hook event carries the trial's
live ``TrialResult``, whose ``agent_setup`` timing Harbor sets when that phase
begins; from ``environment_started`` until ``agent_started`` the plugin watches
it and writes ``agent_setup_started`` (with Harbor's own start time) when it
appears, or, if setup was quicker than the watch, just before ``agent_started``.

How lines are written
---------------------
Each line is written with a single ``os.write`` to a file descriptor opened with
``O_APPEND`` for that one event, then closed: the line is visible to readers as
soon as the call returns (there is no user-space buffer to flush), and lines from
concurrent trials never interleave. A failed write only logs a warning: Harbor
awaits hooks inline, and an exception from a hook would fail the trial (or, for
``START``, abort the whole job), which is far worse than a missing event line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from harbor.trial.hooks import TrialEvent, TrialHookEvent

if TYPE_CHECKING:
    from harbor.job import Job
    from harbor.models.job.result import JobResult

EVENTS_FILE_NAME = "harbor-runner-events.jsonl"

_EVENT_NAMES: dict[TrialEvent, str] = {
    TrialEvent.START: "trial_started",
    TrialEvent.ENVIRONMENT_START: "environment_started",
    TrialEvent.AGENT_START: "agent_started",
    TrialEvent.AGENT_END: "agent_ended",
    TrialEvent.VERIFICATION_START: "verification_started",
    TrialEvent.END: "trial_ended",
    TrialEvent.CANCEL: "trial_cancelled",
}

_logger = logging.getLogger(__name__)


def event_name(event: TrialEvent) -> str:
    """Our stable name for a Harbor trial event (also for members we do not know)."""
    return _EVENT_NAMES.get(event, str(event.value).replace("-", "_"))


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision and a ``Z`` suffix, the form
    JavaScript's ``Date.parse`` reads exactly."""
    if moment.tzinfo is None:  # Harbor's timestamps are aware; be safe anyway
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def append_line(path: Path, record: dict[str, str]) -> None:
    """Append ``record`` as one JSON line with a single write (see module doc)."""
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class PhaseRecorder:
    """Appends one JSON line per trial event to ``path``, for every trial whose
    hooks it is registered on: a whole job's (``PhaseEvents``), or one trial's
    (the trial runner, ``harbor_trial_runner``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._setup_seen: set[str] = set()

    def create(self) -> None:
        """Creates the file, empty, so a reader can tell "recorder loaded, no
        trial yet" from "no recorder"."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.close(fd)

    def register(self, add_hook: Callable[[TrialEvent, Callable[[TrialHookEvent], Awaitable[None]]], None]) -> None:
        """Registers for every trial event through ``add_hook`` (``Job.add_hook``
        or ``Trial.add_hook``)."""
        for event in TrialEvent:
            add_hook(event, self._record)

    async def _record(self, event: TrialHookEvent) -> None:
        if event.event is not TrialEvent.ENVIRONMENT_START:
            self._stop_watching(event.trial_name)
        if event.event is TrialEvent.AGENT_START:
            self._note_agent_setup(event)
        self._write(event_name(event.event), event.trial_name, event.timestamp)
        if event.event is TrialEvent.ENVIRONMENT_START:
            self._watchers[event.trial_name] = asyncio.create_task(self._watch_agent_setup(event))

    async def _watch_agent_setup(self, event: TrialHookEvent) -> None:
        """Writes ``agent_setup_started`` once Harbor has begun the trial's agent setup."""
        while not self._note_agent_setup(event):
            await asyncio.sleep(0.1)

    def _note_agent_setup(self, event: TrialHookEvent) -> bool:
        """Writes ``agent_setup_started`` once per trial, if Harbor has begun agent setup."""
        if event.trial_name in self._setup_seen:
            return True
        timing = event.result.agent_setup
        if timing is None or timing.started_at is None:
            return False
        self._setup_seen.add(event.trial_name)
        self._write("agent_setup_started", event.trial_name, timing.started_at)
        return True

    def _stop_watching(self, trial: str) -> None:
        task = self._watchers.pop(trial, None)
        if task is not None and not task.done():
            task.cancel()

    def _write(self, name: str, trial: str, moment: datetime) -> None:
        record = {"event": name, "trial": trial, "time": iso_utc(moment)}
        try:
            append_line(self.path, record)
        except OSError as exc:
            _logger.warning("Could not append to %s: %s", self.path, exc)


class PhaseEvents:
    """Job plugin (``--plugin harbor_runner_hooks:PhaseEvents``) that appends one
    JSON line per trial event to ``<job dir>/harbor-runner-events.jsonl``."""

    def __init__(self, **kwargs: Any) -> None:
        # Harbor passes --plugin-kwarg values here; this plugin has no options,
        # and rejecting unknown ones makes a typo fail loudly at job start.
        if kwargs:
            raise TypeError(f"PhaseEvents takes no options, got {sorted(kwargs)}")
        self._recorder: PhaseRecorder | None = None

    @property
    def path(self) -> Path | None:
        """The events file, once the job has started."""
        return self._recorder.path if self._recorder else None

    async def on_job_start(self, job: Job) -> None:
        """Register for every trial event; the file is created now (empty)."""
        self._recorder = PhaseRecorder(Path(job.job_dir) / EVENTS_FILE_NAME)
        self._recorder.create()
        self._recorder.register(job.add_hook)

    async def on_job_end(self, job_result: JobResult) -> None:
        """Nothing to do: every line is already on disk."""
