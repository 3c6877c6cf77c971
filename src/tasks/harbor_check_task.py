"""Checks a task directory with Harbor's own task model, without running anything.

Usage: python harbor_check_task.py <task dir>
Prints one JSON object: {"ok": true, "name": ...} or {"ok": false, "type": ..., "message": ...}.
Paths in messages are made relative to the task, so the uploader sees "tests/test.sh", not ours.
"""

import json
import sys
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    try:
        from harbor.models.task.task import Task

        task = Task(root)
        print(json.dumps({"ok": True, "name": task.name}))
    except Exception as error:  # noqa: BLE001 - every failure is a verdict on the task
        print(json.dumps({"ok": False, "type": type(error).__name__, "message": describe(error, root)}))


def describe(error: Exception, root: Path) -> str:
    text = str(error).replace(f"{root}/", "").replace(str(root), "the task")
    lines = [line for line in text.splitlines() if "errors.pydantic.dev" not in line and line.strip()]
    return "\n".join(lines[:8])


if __name__ == "__main__":
    main()
