"""EnvProbeAgent: a test-only Harbor agent that reports what secrets it can see, as digests.

    --agent harbor_runner_testenv.probe_agent:EnvProbeAgent --model probe/d8

For the secrets tests: several owners' attempts run as trials in one runner process, and each must
see only its own key. In its agent phase it writes to ``agent/probe.txt`` one line per variable,
``<where> <NAME> <sha256 of the value>`` (never a value), for three places:

- ``os.environ``: the environment as the agent's own code (and Harbor's and LiteLLM's key lookups)
  reads it;
- ``process``: the process's own environment (``/proc/self/environ``), which its subprocesses
  inherit;
- ``sandbox``: ``env`` run in its environment, as the task's code sees it.

Then it stays ``dN`` seconds (from the model name, default 5), so that attempts overlap, and ends
with ``window <start ms> <end ms>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time

from harbor.agents.base import BaseAgent
from harbor.environments.base import BaseEnvironment
from harbor.models.agent.context import AgentContext


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class EnvProbeAgent(BaseAgent):
    @staticmethod
    def name() -> str:
        return "env-probe"

    def version(self) -> str:
        return "1.0.0"

    async def setup(self, environment: BaseEnvironment) -> None:
        pass

    async def run(self, instruction: str, environment: BaseEnvironment, context: AgentContext) -> None:
        start = int(time.time() * 1000)
        lines = [f"os.environ {name} {_digest(value)}" for name, value in os.environ.items()]
        with open("/proc/self/environ", "rb") as f:
            for entry in f.read().split(b"\0"):
                name, _, value = entry.decode(errors="replace").partition("=")
                if name:
                    lines.append(f"process {name} {_digest(value)}")
        result = await environment.exec("env")
        for entry in (result.stdout or "").splitlines():
            name, _, value = entry.partition("=")
            if name:
                lines.append(f"sandbox {name} {_digest(value)}")
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        probe = self.logs_dir / "probe.txt"
        probe.write_text("\n".join(lines) + "\n")
        match = re.search(r"d(\d+(?:\.\d+)?)", self.model_name or "")
        await asyncio.sleep(float(match.group(1)) if match else 5.0)
        with open(probe, "a") as f:
            f.write(f"window {start} {int(time.time() * 1000)}\n")
