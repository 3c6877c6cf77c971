"""python -m harbor_trial_runner --dir RUNNER_DIR --work-dir WORK_DIR --id ID --build BUILD
    [--max-attempts N] [--preload NAME,...] [--idle-exit-sec S] [--stop-grace-sec S]
    [--harbor-check-sec S]

Imports Harbor, then serves until drained, idle, or stopped (server.py). Its own log (never a
secret: requests are not logged) goes to stderr, which the supervisor keeps in <dir>/proc/stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="harbor_trial_runner")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--max-attempts", type=int, default=100)
    parser.add_argument("--preload", default="")
    parser.add_argument("--idle-exit-sec", type=float, default=900.0)
    parser.add_argument("--stop-grace-sec", type=float, default=25.0)
    parser.add_argument("--harbor-check-sec", type=float, default=30.0)
    args = parser.parse_args(argv)

    # Harbor logs every trial's records at DEBUG, and they reach the root logger: only warnings
    # (and the runner's own lines) go to the runner's log. Each attempt's are in its job.log.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(lambda r: r.levelno >= logging.WARNING or r.name.startswith("harbor_trial_runner"))
    logging.getLogger().addHandler(handler)
    logging.getLogger("harbor_trial_runner").setLevel(logging.INFO)
    # Each attempt holds a few descriptors (its lock, Harbor's trial log, its environment's pipes).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    from . import scoped_environ

    scoped_environ.install()
    # Harbor's trial machinery, imported once for every attempt this process will run.
    import harbor.trial.trial  # noqa: F401

    from .server import Runner

    runner = Runner(
        runner_dir=args.dir.resolve(),
        work_dir=args.work_dir.resolve(),
        runner_id=args.id,
        build=args.build,
        max_attempts=args.max_attempts,
        preload=[name for name in args.preload.split(",") if name],
        idle_exit_sec=args.idle_exit_sec,
        stop_grace_sec=args.stop_grace_sec,
        harbor_check_sec=args.harbor_check_sec,
    )
    asyncio.run(runner.serve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
