"""A stand-in for `harbor run`, for load tests only.

It takes the same arguments Harbor Runner gives the real CLI, and writes the same files a real
`harbor run` of one oracle trial writes (job and trial `config.json`, `lock.json`, `result.json`,
`job.log`, `trial.log`, the agent's log, the verifier's output and reward, and our job plugin's
`harbor-runner-events.jsonl`), made from a real run's files (test/fixtures/harbor-output/passed)
with this run's names, paths, ids and times put in. In between it sleeps, writing agent log lines
at a steady rate; each line carries the time it was written (`t=<epoch ms>`) so a load test can
measure how long a line takes to reach an SSE client.

Duration and rate come from the model name, since the harness's environment is fixed by the
service: `--model load/d120-r5` runs 120 s writing 5 lines a second (defaults: 10 s, 5 lines/s).
A model with `-fail` in it gets reward 0.

Cheap on purpose (standard library only, no Harbor import): hundreds run at once on a small box.
`harbor --version` answers like the pinned Harbor. SIGTERM ends it at once with exit status 143,
as a cancelled harness.
"""

import json
import os
import re
import secrets
import signal
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "harbor-output", "passed")
TEMPLATE_TRIAL = "hello-pass__DJvjLnY"
TEMPLATE_JOB_DIR = "/tmp/harbor-fixture-work/jobs/passed"
TEMPLATE_JOBS_DIR = "/tmp/harbor-fixture-work/jobs"
TEMPLATE_TASK_PATH = "/work/main/test/fixtures/tasks/hello-pass"
VERSION = "0.26.0"


def arg(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else default


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


class Run:
    def __init__(self, argv: list[str]) -> None:
        self.task_path = os.path.abspath(arg(argv, "--path") or ".")
        self.task_name = os.path.basename(self.task_path.rstrip("/"))
        self.jobs_dir = os.path.abspath(arg(argv, "--jobs-dir") or "jobs")
        self.job_name = arg(argv, "--job-name") or datetime.now().strftime("%Y-%m-%d__%H-%M-%S")
        self.job_dir = os.path.join(self.jobs_dir, self.job_name)
        self.trial = f"{self.task_name[:32]}__{secrets.token_urlsafe(5)[:7]}"
        self.trial_dir = os.path.join(self.job_dir, self.trial)
        model = arg(argv, "--model") or ""
        d = re.search(r"d(\d+(?:\.\d+)?)", model)
        r = re.search(r"r(\d+(?:\.\d+)?)", model)
        self.duration = float(d.group(1)) if d else 10.0
        self.rate = float(r.group(1)) if r else 5.0
        self.reward = 0.0 if "-fail" in model else 1.0
        self.started = datetime.now(timezone.utc).replace(tzinfo=None)
        self.ids = {}

    def render(self, rel: str, end: datetime) -> str:
        """A template file with this run's names, paths and ids; for JSON, its times too."""
        with open(os.path.join(TEMPLATE, rel.replace(self.trial, TEMPLATE_TRIAL)), encoding="utf-8") as f:
            text = f.read()
        for old, new in (
            (TEMPLATE_JOB_DIR, self.job_dir),
            (TEMPLATE_JOBS_DIR, self.jobs_dir),
            (TEMPLATE_TASK_PATH, self.task_path),
            (TEMPLATE_TRIAL, self.trial),
            ('"job_name": "passed"', f'"job_name": {json.dumps(self.job_name)}'),
            ('"task_name": "hello-pass"', f'"task_name": {json.dumps(self.task_name)}'),
            ('"name": "hello-pass"', f'"name": {json.dumps(self.task_name)}'),
        ):
            text = text.replace(old, new)
        if not rel.endswith(".json"):
            return text
        data = json.loads(text)
        self.retime(data, end)
        return json.dumps(data, indent=4)

    def retime(self, node: object, end: datetime) -> None:
        if isinstance(node, dict):
            for key, value in list(node.items()):
                if key == "id" and isinstance(value, str):
                    node[key] = self.ids.setdefault(value, str(uuid.uuid4()))
                elif key.endswith("_at") and isinstance(value, str):
                    node[key] = iso(self.started if key in ("started_at", "created_at") else end) + (
                        "Z" if value.endswith("Z") else ""
                    )
                elif key == "rewards" and isinstance(value, dict):
                    node[key] = {"reward": self.reward}
                else:
                    self.retime(value, end)
        elif isinstance(node, list):
            for item in node:
                self.retime(item, end)

    def write(self, rel: str, text: str) -> None:
        path = os.path.join(self.job_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)

    def event(self, name: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        with open(os.path.join(self.job_dir, "harbor-runner-events.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": name, "trial": self.trial, "time": stamp}) + "\n")

    def run(self) -> int:
        os.makedirs(self.trial_dir, exist_ok=True)
        planned_end = self.started + timedelta(seconds=self.duration)
        for rel in ("config.json", "lock.json", f"{self.trial}/config.json", f"{self.trial}/lock.json"):
            self.write(rel, self.render(rel, planned_end))
        with open(os.path.join(self.job_dir, "job.log"), "a", encoding="utf-8") as log:
            log.write(f"Starting sandbox at /tmp/fake-harbor-{self.trial}\n")
        for name in ("trial_started", "environment_started", "agent_setup_started", "agent_started"):
            self.event(name)
        os.makedirs(os.path.join(self.trial_dir, "agent"), exist_ok=True)
        total = max(1, int(self.duration * self.rate))
        begin = time.monotonic()
        with open(os.path.join(self.trial_dir, "agent", "oracle.txt"), "a", encoding="utf-8", buffering=1) as out:
            for i in range(1, total + 1):
                # Steady rate without drift: sleep until this line's slot.
                delay = begin + (i - 1) / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                out.write(f"load line {i}/{total} t={int(time.time() * 1000)}\n")
        remaining = begin + self.duration - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        self.event("agent_ended")
        self.event("verification_started")
        end = datetime.now(timezone.utc).replace(tzinfo=None)
        for rel in (f"{self.trial}/verifier/test-stdout.txt", f"{self.trial}/trial.log"):
            self.write(rel, self.render(rel, end))
        self.write(f"{self.trial}/verifier/reward.txt", f"{int(self.reward)}\n")
        self.write(f"{self.trial}/artifacts/manifest.json", self.render(f"{self.trial}/artifacts/manifest.json", end))
        self.write(f"{self.trial}/result.json", self.render(f"{self.trial}/result.json", end))
        self.event("trial_ended")
        job = json.loads(self.render("result.json", end))
        evals = job["stats"]["evals"]
        for ev in evals.values():
            ev["metrics"] = [{"mean": self.reward}]
            ev["reward_stats"] = {"reward": {str(self.reward): [self.trial]}}
        self.write("result.json", json.dumps(job, indent=4))
        print(f"Results written to {os.path.join(self.job_dir, 'result.json')}", flush=True)
        return 0


def main(argv: list[str]) -> int:
    if "--version" in argv or argv[:1] == ["version"]:
        print(VERSION)
        return 0
    if argv[:1] != ["run"]:
        print(f"fake harbor: only `run` and `--version` are supported, not {argv[:1]}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return Run(argv[1:]).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
