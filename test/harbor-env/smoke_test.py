"""Quick self-check of LocalSandboxEnvironment without the harbor CLI.

    PYTHONPATH=test/harbor-env .venv/bin/python test/harbor-env/smoke_test.py

Exits non-zero (AssertionError) if the environment misbehaves on this machine.
"""

import asyncio
import os
import tempfile
from pathlib import Path

from harbor.models.task.config import EnvironmentConfig
from harbor.models.trial.paths import TrialPaths

from harbor_runner_testenv import LocalSandboxEnvironment

TASK_ENV = Path(__file__).parents[1] / "fixtures/tasks/hello-pass/environment"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = TrialPaths(trial_dir=Path(tmp) / "trial")
        paths.mkdir()
        env = LocalSandboxEnvironment(
            environment_dir=TASK_ENV,
            environment_name="smoke",
            session_id="smoke__env",
            trial_paths=paths,
            task_env_config=EnvironmentConfig(),
        )
        await env.start(force_build=False)
        root = env._root
        assert root is not None and root.is_dir()

        r = await env.exec("pwd; echo $FOO; echo err >&2; exit 3", env={"FOO": "x"})
        assert (r.stdout, r.stderr, r.return_code) == ("/app\nx\n", "err\n", 3), r
        assert (await env.exec("pwd", cwd="/tmp")).stdout == "/tmp\n"
        assert (await env.exec("touch /usr/nope")).return_code != 0  # read-only

        # Mounted log dirs are live on the host.
        await env.exec("echo live > /logs/agent/x.txt")
        assert (paths.agent_dir / "x.txt").read_text() == "live\n"

        # Transfers.
        src = Path(tmp) / "src"
        (src / "sub").mkdir(parents=True)
        (src / "sub" / "f.txt").write_text("hello")
        await env.upload_dir(src, "/up")
        await env.upload_file(src / "sub" / "f.txt", "/up/g.txt")
        await env.download_dir("/up", Path(tmp) / "down")
        assert (Path(tmp) / "down/sub/f.txt").read_text() == "hello"
        assert (Path(tmp) / "down/g.txt").read_text() == "hello"

        # Timeout: the Docker environment's error, and the command is killed.
        try:
            await env.exec("sleep 30", timeout_sec=1)
            raise AssertionError("no timeout")
        except RuntimeError as e:
            assert str(e) == "Command timed out after 1 seconds", e
        assert "sleep 30" not in ((await env.exec("ps -eo args")).stdout or "")

        # Background processes survive between execs, and die with stop().
        await env.exec("setsid sleep 777 >/dev/null 2>&1 < /dev/null &")
        assert "sleep 777" in ((await env.exec("ps -eo args")).stdout or "")
        await env.stop(delete=True)
        assert not root.exists()
        leftovers = [
            p for p in os.popen("ps -eo args").read().splitlines() if "sleep 777" in p
        ]
        assert not leftovers, leftovers
        for path in ("/logs/agent/x.txt", "/up/g.txt"):
            assert not Path(path).exists(), f"{path} leaked onto the host"
    print("LocalSandboxEnvironment smoke test: OK")


if __name__ == "__main__":
    asyncio.run(main())
