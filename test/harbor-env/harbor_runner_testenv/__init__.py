"""Test-only Harbor environment plugin used by Harbor Runner's test suite.

Pass it to the real ``harbor`` CLI as an import path::

    PYTHONPATH=test/harbor-env harbor run ... \
        -e harbor_runner_testenv:LocalSandboxEnvironment

See ``environment.py`` for what it does and ``../README.md`` for how it was verified.
``faults.py`` adds two environments that fail on purpose, for fault tests:
``CrashFirstAttemptEnvironment`` and ``BrokenEnvironment``.
"""

from harbor_runner_testenv.environment import (
    LocalSandboxEnvironment,
    LocalSandboxOptions,
)
from harbor_runner_testenv.faults import (
    BrokenEnvironment,
    CrashFirstAttemptEnvironment,
    SimulatedHarnessCrash,
)

__all__ = [
    "BrokenEnvironment",
    "CrashFirstAttemptEnvironment",
    "LocalSandboxEnvironment",
    "LocalSandboxOptions",
    "SimulatedHarnessCrash",
]
