#!/usr/bin/env bash
# Regenerates Harbor output fixtures (test/fixtures/harbor-output/<case>/) from
# REAL `harbor run`s of the oracle agent, using the test-only environments in
# this directory (no Docker needed) and Harbor Runner's job plugin
# (harness-plugins/harbor_runner_hooks). Job directories are copied verbatim;
# nothing in them is edited.
#
# usage: make-harbor-output-fixtures.sh [HARBOR_BIN [OUT_DIR [CASE...]]]
#   HARBOR_BIN  default: `harbor` on PATH (the fixtures were made with harbor 0.26.0)
#   OUT_DIR     default: test/fixtures/harbor-output of this checkout; each
#               OUT_DIR/<case> is replaced, nothing else there is touched
#   CASE...     default: all cases (listed in ALL_CASES below)
# environment:
#   HARBOR_FIXTURE_WORK      scratch dir, wiped first (default /tmp/harbor-fixture-work,
#                            fixed so the paths recorded in the committed jobs are stable)
#   HARBOR_FIXTURE_PARALLEL  how many cases run at once (default 4)
#
# Exit status: 0 when every case ended as expected (Harbor's exit status, and a
# trial result.json present or, for harness-crash, absent); 1 otherwise (the
# job dirs are still copied, and the mismatches are printed); 2 on bad usage.
set -euo pipefail

ALL_CASES=(
    passed failed agent-error verifier-error agent-timeout environment-error cancelled
    verifier-empty-reward verifier-bad-reward-json multi-key-reward ctrf
    agent-error-no-reward environment-start-error harness-crash
    provider-auth provider-rate-limit provider-unknown-model
)

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
harbor=$(command -v "${1:-harbor}") || { echo "harbor not found: ${1:-harbor}" >&2; exit 2; }
[[ $harbor == /* ]] || harbor=$(cd "$(dirname "$harbor")" && pwd)/$(basename "$harbor")
out=${2:-$repo/test/fixtures/harbor-output}
shift $(($# < 2 ? $# : 2))
cases=("$@")
((${#cases[@]})) || cases=("${ALL_CASES[@]}")
for name in "${cases[@]}"; do
    if [[ " ${ALL_CASES[*]} " != *" $name "* ]]; then
        echo "unknown case '$name'; known: ${ALL_CASES[*]}" >&2
        exit 2
    fi
done

tasks=$repo/test/fixtures/tasks
work=${HARBOR_FIXTURE_WORK:-/tmp/harbor-fixture-work}
parallel=${HARBOR_FIXTURE_PARALLEL:-4}
jobs_dir=$work/jobs
variants=$work/tasks
runs=$work/runs # each case's stdout, stderr and exit status
mkdir -p "$(dirname "$work")" "$out"
out=$(cd "$out" && pwd)

# One generator per scratch dir at a time: it is wiped below.
exec 9>"$work.lock"
flock 9
rm -rf "$work"
mkdir -p "$jobs_dir" "$variants" "$runs"

# Variants of hello-pass (kept out of test/fixtures/tasks on purpose).
# variant NAME: a fresh copy of hello-pass in $variants/NAME.
variant() { cp -r "$tasks/hello-pass" "$variants/$1"; }
# test_script NAME BODY: replace the variant's tests/test.sh.
test_script() { printf '#!/bin/bash\n%s\n' "$2" >"$variants/$1/tests/test.sh"; }

variant no-solution
rm -rf "$variants/no-solution/solution"
variant no-reward
test_script no-reward 'echo "verifier ran but wrote no reward file"'
variant long-solve
printf '#!/bin/bash\necho "starting long solve"\nsleep 300\n' >"$variants/long-solve/solution/solve.sh"
variant unhealthy
printf '\n[environment.healthcheck]\ncommand = "test -f /app/ready"\ninterval_sec = 0.2\nretries = 2\n' \
    >>"$variants/unhealthy/task.toml"
variant empty-reward
test_script empty-reward 'echo "writing an empty reward.txt"
: > /logs/verifier/reward.txt'
variant bad-reward-json
test_script bad-reward-json 'echo "writing a reward.json whose reward is not a number"
echo '\''{"reward": "high"}'\'' > /logs/verifier/reward.json'
variant multi-key-reward
test_script multi-key-reward 'echo "writing two rewards to reward.json"
echo '\''{"reward": 1, "style": 0.5}'\'' > /logs/verifier/reward.json'
variant ctrf
test_script ctrf 'echo "3 tests: 2 passed, 1 failed; writing a CTRF report and reward 0"
start=$(date +%s%3N)
stop=$((start + 42))
cat > /logs/verifier/ctrf.json <<EOF
{"results": {"tool": {"name": "pytest"},
  "summary": {"tests": 3, "passed": 2, "failed": 1, "skipped": 0, "pending": 0, "other": 0,
              "start": $start, "stop": $stop},
  "tests": [
    {"name": "test_file_exists", "status": "passed", "duration": 3},
    {"name": "test_file_content", "status": "passed", "duration": 5},
    {"name": "test_trailing_newline", "status": "failed", "duration": 4,
     "message": "AssertionError: expected no trailing newline"}]}}
EOF
echo 0 > /logs/verifier/reward.txt'

# A JobConfig fragment (merged with the command line by `-c`): do not grade a
# trial whose agent raised FileNotFoundError, with the same policy Harbor gives
# its own ungraded agent errors (e.g. AgentAuthenticationError).
cat >"$work/no-grade-agent-errors.json" <<'EOF'
{"override_error_policy": {"FileNotFoundError":
    {"should_retry": false, "should_grade": false, "has_valid_reward": false}}}
EOF

# Harbor's environment: the same variables Harbor Runner gives the harness
# (src/harness/harbor/command.ts, harnessEnvironment), nothing else inherited.
harbor_env=(
    env -i "PATH=$PATH" "HOME=${HOME:-$work}" LANG=C.UTF-8
    HARBOR_TELEMETRY=0 NO_COLOR=1 TERM=dumb COLUMNS=200 _TYPER_STANDARD_TRACEBACK=1
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 LITELLM_LOCAL_MODEL_COST_MAP=True
    "PYTHONPATH=$here:$repo/harness-plugins"
)

# harbor_run CASE JOB_NAME TASK_DIR ENV_CLASS [extra harbor args...]
# Runs in the foreground; stdout/stderr go to $runs/CASE.{stdout,stderr}.
# The agent is the oracle unless AGENT_ARGS (an array) says otherwise.
AGENT_ARGS=(-a oracle)
harbor_run() {
    local name=$1 job_name=$2 task=$3 env_class=$4
    shift 4
    exec "${harbor_env[@]}" "${PROVIDER_ENV[@]}" "$harbor" run -p "$task" "${AGENT_ARGS[@]}" -k 1 -n 1 \
        -o "$jobs_dir" --job-name "$job_name" \
        -e "harbor_runner_testenv:$env_class" \
        --plugin harbor_runner_hooks:PhaseEvents -y -q "$@" \
        >"$runs/$name.stdout" 2>"$runs/$name.stderr"
}

# The Harbor job name of a case: the case name, except harness-crash, whose
# environment crashes only on jobs named like Harbor Runner's first attempts.
job_name_of() {
    if [[ $1 == harness-crash ]]; then echo harness-crash-run-1-attempt-1; else echo "$1"; fi
}

PROVIDER_ENV=()
# provider_case CASE STATUS: terminus-2 (a LiteLLM agent) against a fake OpenRouter that answers
# every request with STATUS, reached through LiteLLM's OPENROUTER_API_BASE.
provider_case() {
    local name=$1 status=$2 port rc=0
    coproc fake { exec python3 "$here/fake_openrouter.py" --status "$status"; }
    read -r port <&"${fake[0]}"
    PROVIDER_ENV=(OPENROUTER_API_BASE="http://127.0.0.1:$port/api/v1" OPENROUTER_API_KEY=sk-or-v1-fixture-not-a-real-key)
    AGENT_ARGS=(-a terminus-2 -m openrouter/openai/gpt-4o)
    (harbor_run "$name" "$name" "$tasks/hello-pass" LocalSandboxEnvironment) || rc=$?
    kill "$fake_PID" 2>/dev/null || true
    return $rc
}

# run_case CASE: one real `harbor run`; its exit status goes to $runs/CASE.exit.
run_case() {
    local name=$1 rc=0 sandbox=LocalSandboxEnvironment
    local job_name
    job_name=$(job_name_of "$name")
    case $name in
    passed) (harbor_run "$name" "$job_name" "$tasks/hello-pass" $sandbox) || rc=$? ;;
    failed) (harbor_run "$name" "$job_name" "$tasks/hello-fail" $sandbox) || rc=$? ;;
    agent-error) (harbor_run "$name" "$job_name" "$variants/no-solution" $sandbox) || rc=$? ;;
    verifier-error) (harbor_run "$name" "$job_name" "$variants/no-reward" $sandbox) || rc=$? ;;
    agent-timeout)
        (harbor_run "$name" "$job_name" "$variants/long-solve" $sandbox \
            --agent-timeout-multiplier 0.02) || rc=$?
        ;;
    environment-error) (harbor_run "$name" "$job_name" "$variants/unhealthy" $sandbox) || rc=$? ;;
    cancelled)
        # SIGTERM to `harbor run` while the solution is running.
        (harbor_run "$name" "$job_name" "$variants/long-solve" $sandbox) &
        local pid=$!
        for _ in $(seq 300); do
            grep -qs starting "$jobs_dir/$job_name"/*/agent/oracle.txt && break
            sleep 0.2
        done
        kill -TERM "$pid"
        wait "$pid" || rc=$?
        ;;
    verifier-empty-reward) (harbor_run "$name" "$job_name" "$variants/empty-reward" $sandbox) || rc=$? ;;
    verifier-bad-reward-json) (harbor_run "$name" "$job_name" "$variants/bad-reward-json" $sandbox) || rc=$? ;;
    multi-key-reward) (harbor_run "$name" "$job_name" "$variants/multi-key-reward" $sandbox) || rc=$? ;;
    ctrf) (harbor_run "$name" "$job_name" "$variants/ctrf" $sandbox) || rc=$? ;;
    agent-error-no-reward)
        (harbor_run "$name" "$job_name" "$variants/no-solution" $sandbox \
            -c "$work/no-grade-agent-errors.json") || rc=$?
        ;;
    environment-start-error) (harbor_run "$name" "$job_name" "$tasks/hello-pass" BrokenEnvironment) || rc=$? ;;
    harness-crash) (harbor_run "$name" "$job_name" "$tasks/hello-pass" CrashFirstAttemptEnvironment) || rc=$? ;;
    provider-auth) provider_case "$name" 401 || rc=$? ;;
    provider-rate-limit) provider_case "$name" 429 || rc=$? ;;
    provider-unknown-model) provider_case "$name" 404 || rc=$? ;;
    esac
    echo "$rc" >"$runs/$name.exit"
}

# What each case must end with: Harbor's exit status, and whether the trial
# wrote its result.json.
expected_exit() {
    case $1 in cancelled) echo 130 ;; harness-crash) echo 1 ;; *) echo 0 ;; esac
}
expects_trial_result() { [[ $1 != harness-crash ]]; }

for name in "${cases[@]}"; do
    while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
    run_case "$name" &
done
wait

status=0
for name in "${cases[@]}"; do
    job_dir=$jobs_dir/$(job_name_of "$name")
    rc=$(cat "$runs/$name.exit")
    problems=()
    [[ $rc == "$(expected_exit "$name")" ]] || problems+=("exit $rc, expected $(expected_exit "$name")")
    if compgen -G "$job_dir/*__*/result.json" >/dev/null; then
        expects_trial_result "$name" || problems+=("a trial result.json was written")
    else
        ! expects_trial_result "$name" || problems+=("no trial result.json")
    fi
    rm -rf "${out:?}/$name"
    if [[ -d $job_dir ]]; then
        cp -a "$job_dir" "$out/$name"
    else
        mkdir -p "$out/$name"
        problems+=("no job dir")
    fi
    if [[ $name == harness-crash ]]; then
        # Without a trial result, what Harbor printed and its status are the evidence.
        cp "$runs/$name.stdout" "$out/$name/harness.stdout.txt"
        cp "$runs/$name.stderr" "$out/$name/harness.stderr.txt"
        echo "$rc" >"$out/$name/exit-code.txt"
    fi
    if ((${#problems[@]})); then
        status=1
        printf -v text '%s; ' "${problems[@]}"
        echo "$name: UNEXPECTED: ${text%; }. End of its stderr:" >&2
        tail -n 5 "$runs/$name.stderr" | sed 's/^/    /' >&2
    else
        echo "$name: exit $rc, as expected"
    fi
done
echo "written to $out ($("$harbor" --version 2>/dev/null || echo 'harbor version ?'))"
exit $status
