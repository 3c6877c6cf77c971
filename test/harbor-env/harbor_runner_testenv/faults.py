"""TEST-ONLY environments that fail on purpose, for Harbor Runner's fault tests.

Both are LocalSandboxEnvironment subclasses, used like it::

    harbor run ... -e harbor_runner_testenv:CrashFirstAttemptEnvironment
    harbor run ... -e harbor_runner_testenv:BrokenEnvironment

They exist so the tests can make the *real* Harbor fail in the two ways that
matter to Harbor Runner's retry logic, without mocking Harbor:

- a harness crash: ``harbor run`` dies without any trial ``result.json``
  (Runner retries it as a new attempt);
- an environment failure: the trial is recorded with an exception raised while
  its environment was being set up, and no reward.
"""

from __future__ import annotations

from typing import Any

from harbor.models.trial.paths import TrialPaths

from harbor_runner_testenv.environment import LocalSandboxEnvironment

# Harbor Runner names each attempt's Harbor job `<job id>-run-<n>-attempt-<a>`.
FIRST_ATTEMPT_SUFFIX = "-attempt-1"


class SimulatedHarnessCrash(RuntimeError):
    """Raised by CrashFirstAttemptEnvironment; a distinct type so the traceback on
    stderr says plainly that the crash was staged."""


def harbor_job_name(trial_paths: TrialPaths) -> str:
    """The Harbor job name (``--job-name``) of the trial an environment is built for.

    Harbor puts each trial's directory directly in the job directory
    (``<jobs dir>/<job name>/<trial name>``), and the environment only receives
    ``trial_paths``, so the job name is the trial directory's parent's name."""
    return trial_paths.trial_dir.parent.name


class CrashFirstAttemptEnvironment(LocalSandboxEnvironment):
    """Aborts the whole ``harbor run`` on a run's first attempt; a normal
    LocalSandboxEnvironment on every later attempt.

    TEST-ONLY, and coupled to Harbor Runner's naming: it decides "first attempt"
    from the Harbor job name ending in ``-attempt-1`` (Runner passes
    ``--job-name <job id>-run-<n>-attempt-<a>``), found through ``trial_paths``.

    The constructor raises because Harbor builds the environment while it creates
    the trial (``Trial.create``), outside the code that records trial exceptions:
    the exception propagates out of ``Job.run``, Harbor prints the traceback and
    exits 1, and the trial directory is left without a ``result.json``. That is
    what a harness crash looks like to Harbor Runner.
    """

    def __init__(self, *args: Any, trial_paths: TrialPaths, **kwargs: Any):
        job_name = harbor_job_name(trial_paths)
        if job_name.endswith(FIRST_ATTEMPT_SUFFIX):
            raise SimulatedHarnessCrash(
                f"simulated harness crash: {type(self).__name__} refuses the first "
                f"attempt (Harbor job {job_name!r})"
            )
        super().__init__(*args, trial_paths=trial_paths, **kwargs)


class BrokenEnvironment(LocalSandboxEnvironment):
    """An environment whose ``start()`` always fails, as a sandbox or host that
    cannot start would.

    TEST-ONLY. Harbor records the error in the trial's ``exception_info`` (a
    ``RuntimeError`` raised during environment setup), never runs the agent or
    the verifier, and still writes ``result.json`` and exits 0: the trial has an
    exception and no reward.
    """

    async def start(self, force_build: bool) -> None:
        raise RuntimeError("simulated host failure: the sandbox could not start")
