#!/bin/bash
# Regenerates test/fixtures/tb-output/ (see its README): one `tb run` per case, with the fake tb
# (test/fake-tb/tb) or, for the cases that never reach Docker or a model, the real `tb`.
#
# Usage: test/fake-tb/make-tb-output-fixtures.sh [VENV]   (VENV defaults to the project's .venv;
# it must have terminal-bench==0.2.18). Run it on a host without a Docker daemon: the `no-docker`
# case uses the real tb and records what it does there.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${1:-$repo/.venv}
out=$repo/test/fixtures/tb-output
work=/tmp/tb-fixture-work
tasks=$repo/test/fixtures/tasks

export PATH="$venv/bin:$PATH" LITELLM_LOCAL_MODEL_COST_MAP=True NO_COLOR=1 TERM=dumb COLUMNS=200 \
    _TYPER_STANDARD_TRACEBACK=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    OPENROUTER_API_KEY=sk-or-fixture-not-a-real-key
unset FAKE_TB_DOCKER

rm -rf "$work"
mkdir -p "$work/datasets"

# A dataset dir per task: `tb run -p <dataset> -t <task id>`, where the task dir's name is its id.
dataset() { # NAME SOURCE_TASK_DIR -> prints the dataset dir
    mkdir -p "$work/datasets/$1"
    cp -a "$2" "$work/datasets/$1/tb-hello"
    echo "$work/datasets/$1"
}

ds_pass=$(dataset pass "$tasks/tb-hello")
ds_fail=$(dataset fail "$tasks/tb-hello-fail")
ds_slow=$(dataset slow "$tasks/tb-hello-slow")

# Tests that hang past the task's 2 s test timeout.
ds_test_hang=$(dataset test-hang "$tasks/tb-hello")
sed -i 's/^max_test_timeout_sec: .*/max_test_timeout_sec: 2.0/' "$ds_test_hang/tb-hello/task.yaml"
sed -i 's/^source "\$TEST_DIR\/checks.sh"/echo "tests starting"; sleep 600\n&/' "$ds_test_hang/tb-hello/run-tests.sh"

# Tests whose output has no pytest summary: TB's parser cannot read it.
ds_no_summary=$(dataset no-summary "$tasks/tb-hello")
cat > "$ds_no_summary/tb-hello/run-tests.sh" <<'EOF'
#!/bin/bash
echo "running checks"
echo "all good, probably"
EOF

# CASE DATASET AGENT MODEL [ENV=VALUE ...]: runs one `tb run` into $out/CASE/ with its streams
# ($TB: the tb to run, default the fake; $TASK: the task id, default tb-hello).
run_case() {
    local case=$1 ds=$2 agent=$3 model=$4 tb=${TB:-$repo/test/fake-tb/tb} task=${TASK:-tb-hello}
    shift 4
    rm -rf "${out:?}/$case"
    mkdir -p "$out/$case"
    local argv=(run --dataset-path "$ds" --task-id "$task" --agent "$agent" --output-path "$work/runs/$case"
        --run-id "$case" --n-concurrent 1 --n-attempts 1)
    [ "$model" != - ] && argv+=(--model "$model")
    local status=0
    (cd "$work" && env "$@" "$tb" "${argv[@]}" >"$out/$case/tb.stdout" 2>"$out/$case/tb.stderr") || status=$?
    echo "$status" >"$out/$case/tb.exit"
    printf '%s\n' "$(basename "$tb")" "${argv[@]}" >"$out/$case/tb.argv"
    if [ -d "$work/runs/$case/$case" ]; then cp -a "$work/runs/$case/$case" "$out/$case/"; fi
    echo "$case: exit $status"
}

run_case passed "$ds_pass" oracle -
run_case failed "$ds_fail" oracle -
run_case agent-timeout "$ds_slow" oracle -
run_case test-timeout "$ds_test_hang" oracle -
run_case parse-error "$ds_no_summary" oracle -
run_case terminus-passed "$ds_pass" terminus openrouter/test/fake-solver
run_case llm-parse-error "$ds_pass" terminus openrouter/test/fake-garbage
run_case unknown-model "$ds_pass" terminus openrouter/openai/no-such-model
# Model errors through the real LiteLLM, against the project's OpenRouter stand-in.
with_openrouter() { # STATUS CASE AGENT
    local port_file=$work/openrouter-$1.port
    python3 "$repo/test/harbor-env/fake_openrouter.py" --status "$1" >"$port_file" &
    local pid=$!
    until [ -s "$port_file" ]; do sleep 0.1; done
    run_case "$2" "$ds_pass" "$3" openrouter/openai/gpt-4o OPENROUTER_API_BASE="http://127.0.0.1:$(head -1 "$port_file")/api/v1"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}
with_openrouter 401 bad-key terminus-2
with_openrouter 429 rate-limit terminus-2
with_openrouter 404 no-endpoints terminus
run_case docker-build-failed "$ds_pass" oracle - FAKE_TB_DOCKER=build-fails
# The real tb: what it does on a host without a Docker daemon, and when the task id matches nothing.
TB=$venv/bin/tb run_case no-docker "$ds_pass" oracle -
TB=$venv/bin/tb TASK=no-such-task run_case harness-crash "$ds_pass" oracle -
