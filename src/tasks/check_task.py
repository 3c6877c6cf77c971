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
import re
import sys
import tomllib
from pathlib import Path

# Harbor's fixed agent-setup timeout (Trial._AGENT_SETUP_TIMEOUT_SEC in 0.26).
HARBOR_AGENT_SETUP_SEC = 360.0
# Terminal-Bench has no build timeout; allow this long for the image and the container.
TB_SETUP_ALLOWANCE_SEC = 900.0


# Control characters (C0, DEL, C1) have no place in a path.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TaskPathError(ValueError):
    """A path in task.toml that leaves where it belongs; the message names the field."""


def check_paths(root: Path) -> None:
    """Checks every path in task.toml before Harbor reads it.

    Paths inside the environment (skills_dir, workdir, artifact sources) may be absolute but may not
    climb with "..". Paths on the host (artifact destinations under the trial's directory, step names
    under steps/) must be relative and stay inside. Harbor checks some of these itself; doing it here
    first gives every one the same message, naming the field. A task.toml that is not TOML is left to
    Harbor, which says where it breaks.
    """
    try:
        config = tomllib.loads((root / "task.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return
    for field, value, where in path_fields(config):
        check_path(field, value, where)


def path_fields(config: dict):
    """(field, value, "container" or "host") for every path-valued field of a parsed task.toml."""
    environments = [("environment", config.get("environment"))]
    verifier = config.get("verifier")
    if isinstance(verifier, dict):
        environments.append(("verifier.environment", verifier.get("environment")))
    for prefix, environment in environments:
        if isinstance(environment, dict):
            for key in ("skills_dir", "workdir"):
                if key in environment:
                    yield f"{prefix}.{key}", environment[key], "container"
    yield from artifact_fields("artifacts", config.get("artifacts"))
    steps = config.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, dict):
            if "name" in step:
                yield f"steps[{i}].name", step["name"], "host"
            yield from artifact_fields(f"steps[{i}].artifacts", step.get("artifacts"))


def artifact_fields(prefix: str, artifacts):
    for i, artifact in enumerate(artifacts if isinstance(artifacts, list) else []):
        if isinstance(artifact, str):
            yield f"{prefix}[{i}]", artifact, "container"
        elif isinstance(artifact, dict):
            if "source" in artifact:
                yield f"{prefix}[{i}].source", artifact["source"], "container"
            if artifact.get("destination"):
                yield f"{prefix}[{i}].destination", artifact["destination"], "host"


def check_path(field: str, value, where: str) -> None:
    if not isinstance(value, str):
        return  # a wrong type is Harbor's to report
    shown = json.dumps(value[:200])
    if CONTROL.search(value):
        raise TaskPathError(f"task.toml {field} contains a control character: {shown}")
    # Windows environments use backslashes inside the container, so ".." is looked for across both.
    if ".." in re.split(r"[\\/]", value):
        raise TaskPathError(f'task.toml {field} points outside the task with "..": {shown}')
    if where == "host" and ("\\" in value or re.match(r"^[A-Za-z]:", value) or value.startswith("/")):
        why = f"it must be a relative posix path, not {shown}"
        raise TaskPathError(f"task.toml {field} points outside the task: {why}")


def check_harbor(root: Path) -> dict:
    from harbor.models.task.task import Task

    check_paths(root)
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
