"""Harbor job plugins used by Harbor Runner in production.

Load with ``PYTHONPATH=<repo>/harness-plugins`` and::

    harbor run ... --plugin harbor_runner_hooks:PhaseEvents

See ``phase_events.py`` for what the plugin writes and why.
"""

from harbor_runner_hooks.phase_events import EVENTS_FILE_NAME, PhaseEvents, PhaseRecorder

__all__ = ["EVENTS_FILE_NAME", "PhaseEvents", "PhaseRecorder"]
