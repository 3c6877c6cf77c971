"""A stand-in agent for load tests: a real Harbor agent (by import path) that calls no model.

    --agent harbor_load_agent:SleepingAgent --model load/d120-r5

It runs inside a real Harbor trial (Harbor's own per-trial work, the environment and the verifier
all real), and in its agent phase it sleeps for D seconds while appending R log lines a second to
`agent/load.txt` (each line carries the time it was written, `t=<epoch ms>`, so a load test can
measure how long a line takes to reach an SSE client) and a trajectory step every 10 seconds to
`agent/trajectory.json` (rewritten whole, as Harbor's agents write theirs). Then it writes the file
hello-world tasks check (`hello.txt` in the working directory), unless the model says `-fail`.

Duration and rate come from the model name, since a load test's uploads choose only that:
`load/d120-r5` is 120 s at 5 lines a second (defaults: 10 s, 5 lines/s).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from datetime import UTC, datetime

from harbor.agents.base import BaseAgent
from harbor.environments.base import BaseEnvironment
from harbor.models.agent.context import AgentContext

STEP_EVERY_SEC = 10.0


def _plan(model: str | None) -> tuple[float, float, bool]:
    text = model or ""
    d = re.search(r"d(\d+(?:\.\d+)?)", text)
    r = re.search(r"r(\d+(?:\.\d+)?)", text)
    return (float(d.group(1)) if d else 10.0, float(r.group(1)) if r else 5.0, "-fail" not in text)


class SleepingAgent(BaseAgent):
    @staticmethod
    def name() -> str:
        return "load-sleeper"

    def version(self) -> str:
        return "1.0.0"

    async def setup(self, environment: BaseEnvironment) -> None:
        pass

    async def run(self, instruction: str, environment: BaseEnvironment, context: AgentContext) -> None:
        duration, rate, solve = _plan(self.model_name)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        total = max(1, int(duration * rate))
        steps: list[dict[str, object]] = []
        begin = time.monotonic()
        next_step = STEP_EVERY_SEC
        with open(self.logs_dir / "load.txt", "a", buffering=1) as out:
            for i in range(1, total + 1):
                # A steady rate without drift: wait for this line's slot.
                delay = begin + (i - 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                out.write(f"load line {i}/{total} t={int(time.time() * 1000)}\n")
                if time.monotonic() - begin >= next_step:
                    next_step += STEP_EVERY_SEC
                    steps.append(self._step(len(steps) + 1, i))
                    self._write_trajectory(steps)
        remaining = begin + duration - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        if solve:
            await environment.exec("echo 'Hello, Harbor!' > hello.txt")

    def _step(self, step_id: int, line: int) -> dict[str, object]:
        return {
            "step_id": step_id,
            "timestamp": datetime.now(UTC).isoformat(),
            "source": "agent",
            "model_name": self.model_name,
            "message": f"wrote {line} lines",
        }

    def _write_trajectory(self, steps: list[dict[str, object]]) -> None:
        path = self.logs_dir / "trajectory.json"
        tmp = path.with_name("trajectory.json.tmp")
        tmp.write_text(json.dumps({"schema_version": "ATIF-v1.2", "session_id": "load", "steps": steps}))
        os.replace(tmp, path)
