"""Checks a task directory by its harness's own rules, without running anything.

Usage: python check_task.py (harbor | terminal-bench) <task dir>
       python check_task.py --serve
The first form prints one JSON verdict. With --serve it answers requests, one JSON object per
line on stdin ({"id": ..., "kind": ..., "root": ...}), with one verdict per line on stdout (with
the request's "id"): importing the harnesses takes seconds, checking a task a few milliseconds.
A verdict is:
  {"ok": true, "name": ..., "time_limit_sec": <float or null>}
  {"ok": false, "type": ..., "message": ...}
`time_limit_sec` is how long one trial may take by the task's own timeouts (environment build,
agent setup, agent, verifier), before any multiplier; null when the agent has no timeout.
Paths in messages are made relative to the task, so the uploader sees "tests/test.sh", not ours.
"""

import contextlib
import json
import sys
from pathlib import Path

# Harbor's fixed agent-setup timeout (Trial._AGENT_SETUP_TIMEOUT_SEC in 0.26).
HARBOR_AGENT_SETUP_SEC = 360.0
# Terminal-Bench has no build timeout; allow this long for the image and the container.
TB_SETUP_ALLOWANCE_SEC = 900.0


def check_harbor(root: Path) -> dict:
    from harbor.models.task.task import Task

    task = Task(root)
    config = task.config
    agent = config.agent.timeout_sec
    limit = None
    if agent is not None:
        limit = config.environment.build_timeout_sec + HARBOR_AGENT_SETUP_SEC + agent + config.verifier.timeout_sec
    return {"ok": True, "name": task.name, "time_limit_sec": limit}


def check_terminal_bench(root: Path) -> dict:
    from terminal_bench.handlers.trial_handler import Task, TaskPaths

    task = Task.from_yaml(root / "task.yaml")
    paths = TaskPaths(root)
    for required in (paths.run_tests_path, paths.docker_compose_path):
        if not required.is_file():
            raise FileNotFoundError(f"Terminal-Bench needs {required.name} (exactly that name)")
    limit = TB_SETUP_ALLOWANCE_SEC + task.max_agent_timeout_sec + task.max_test_timeout_sec
    return {"ok": True, "name": root.name, "time_limit_sec": limit}


def check(kind: str, root: Path) -> dict:
    try:
        # Terminal-Bench prints its own notes on stdout: keep them off the protocol.
        with contextlib.redirect_stdout(sys.stderr):
            return check_harbor(root) if kind == "harbor" else check_terminal_bench(root)
    except Exception as error:  # noqa: BLE001 - every failure is a verdict on the task
        return {"ok": False, "type": type(error).__name__, "message": describe(error, root)}


def serve() -> None:
    # Import both harnesses now, so that the first request is answered as fast as the others.
    with contextlib.redirect_stdout(sys.stderr):
        import harbor.models.task.task  # noqa: F401
        import terminal_bench.handlers.trial_handler  # noqa: F401
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        verdict = check(request["kind"], Path(request["root"]).resolve())
        print(json.dumps({"id": request["id"], **verdict}), flush=True)


def main() -> None:
    if sys.argv[1] == "--serve":
        serve()
    else:
        print(json.dumps(check(sys.argv[1], Path(sys.argv[2]).resolve())))


def describe(error: Exception, root: Path) -> str:
    text = str(error).replace(f"{root}/", "").replace(str(root), "the task")
    lines = [line for line in text.splitlines() if "errors.pydantic.dev" not in line and line.strip()]
    return "\n".join(lines[:8])


if __name__ == "__main__":
    main()
