"""The design not taken, measured: a pre-imported fork server with a child per attempt.

    python fork_probe.py K TASK_DIR OUT_DIR

Imports what `harbor run` imports (its CLI, terminus-2 and with it LiteLLM), freezes the heap
(gc.freeze, so that the children's garbage collections do not touch the parent's objects), then
forks K children, each running one trial of the load tests' stand-in agent (20 s) in the test
environment, as a forked `harbor run` would. Once all run, prints one JSON line: the parent's
resident and unique memory, and the children's unique memory (Private_Clean + Private_Dirty:
what each costs beyond the pages it shares with the parent), mean and sum, in MiB.
"""

import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path

import harbor.agents.terminus_2  # noqa: F401
import harbor.cli.main  # noqa: F401
from harbor.models.trial.config import AgentConfig, EnvironmentConfig, TaskConfig, TrialConfig
from harbor.trial.trial import Trial


def unique_mib(pid: int) -> float:
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean", "Private_Dirty")):
                total += int(line.split()[1])
    return total / 1024


def resident_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


async def one_trial(task: Path, out: Path) -> None:
    config = TrialConfig(
        task=TaskConfig(path=task),
        trials_dir=out,
        agent=AgentConfig(name="harbor_load_agent:SleepingAgent", model_name="load/d20-r1"),
        environment=EnvironmentConfig(import_path="harbor_runner_testenv:LocalSandboxEnvironment"),
    )
    await (await Trial.create(config)).run()


def main() -> None:
    k, task, out = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    gc.freeze()
    children = []
    for i in range(k):
        pid = os.fork()
        if pid == 0:
            asyncio.run(one_trial(task, out / f"fork-{i}"))
            os._exit(0)
        children.append(pid)
    time.sleep(12)  # every child is in its agent's 20 s by now
    unique = [unique_mib(p) for p in children]
    print(
        json.dumps(
            {
                "children": k,
                "parent_resident_mib": resident_mib(os.getpid()),
                "parent_unique_mib": unique_mib(os.getpid()),
                "child_unique_mib_mean": sum(unique) / k,
                "child_unique_mib_sum": sum(unique),
            }
        ),
        flush=True,
    )
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
