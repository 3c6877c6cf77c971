#!/usr/bin/env bash
# Regenerates test/fixtures/harbor-output/<case>/ from REAL `harbor run`s, using
# the test-only LocalSandboxEnvironment (no Docker needed). Job directories are
# copied verbatim; nothing in them is edited.
#
# usage: test/harbor-env/make-harbor-output-fixtures.sh [HARBOR_BIN]
#        (default: `harbor` on PATH; the fixtures were made with harbor 0.26.0)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
harbor=${1:-harbor}
tasks=$repo/test/fixtures/tasks
out=$repo/test/fixtures/harbor-output
work=/tmp/harbor-fixture-work # fixed, so the paths recorded in the jobs are stable
jobs=$work/jobs
variants=$work/tasks

export HARBOR_TELEMETRY=0 NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH}

rm -rf "$work"
mkdir -p "$jobs" "$variants"

# Broken variants of hello-pass (kept out of test/fixtures/tasks on purpose).
cp -r "$tasks/hello-pass" "$variants/no-solution"
rm -rf "$variants/no-solution/solution"
cp -r "$tasks/hello-pass" "$variants/no-reward"
printf '#!/bin/bash\necho "verifier ran but wrote no reward file"\n' \
    >"$variants/no-reward/tests/test.sh"
cp -r "$tasks/hello-pass" "$variants/long-solve"
printf '#!/bin/bash\necho "starting long solve"\nsleep 300\n' \
    >"$variants/long-solve/solution/solve.sh"
cp -r "$tasks/hello-pass" "$variants/unhealthy"
printf '\n[environment.healthcheck]\ncommand = "test -f /app/ready"\ninterval_sec = 0.2\nretries = 2\n' \
    >>"$variants/unhealthy/task.toml"

# harbor_run CASE TASK_DIR AGENT [extra harbor args...]; call it in a subshell.
harbor_run() {
    local name=$1 task=$2 agent=$3
    shift 3
    exec "$harbor" run -p "$task" -a "$agent" -k 1 -n 1 -o "$jobs" --job-name "$name" \
        -e harbor_runner_testenv:LocalSandboxEnvironment -y -q "$@"
}

(harbor_run passed "$tasks/hello-pass" oracle)
(harbor_run failed "$tasks/hello-fail" oracle)
(harbor_run agent-error "$variants/no-solution" oracle)
(harbor_run verifier-error "$variants/no-reward" oracle)
(harbor_run agent-timeout "$variants/long-solve" oracle --agent-timeout-multiplier 0.02)
(harbor_run environment-error "$variants/unhealthy" oracle)

# cancelled: SIGTERM to `harbor run` while the solution is running.
(harbor_run cancelled "$variants/long-solve" oracle) &
pid=$!
for _ in $(seq 300); do
    grep -qs starting "$jobs"/cancelled/*/agent/oracle.txt && break
    sleep 0.2
done
kill -TERM "$pid"
wait "$pid" || echo "harbor run (cancelled) exited with $? (expected: 130)"

for name in passed failed agent-error verifier-error agent-timeout environment-error cancelled; do
    rm -rf "${out:?}/$name"
    mkdir -p "$out"
    cp -a "$jobs/$name" "$out/$name"
done
echo "fixtures written to $out ($("$harbor" --version 2>/dev/null || echo '?'))"
