"""Reads every job folder of a jobs dir with Harbor's own models, as Harbor would.

Usage: check_harbor_jobs.py <jobs dir>

Each job's config.json, lock.json and result.json, and each trial's result.json, config.json and
lock.json must load (`model_validate_json`); the trial's names, ids and directory must agree; and
the job's stats must be what Harbor computes from its trials (`JobStats.from_trial_results`, its
default `Mean` metric per evals key, `compute_pass_at_k_by_evals`), as `Job.run` does. Prints one
JSON object (job name -> what was read) on stdout; a failed check raises (exit 1, traceback).
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

from harbor.metrics.mean import Mean
from harbor.models.job.config import JobConfig
from harbor.models.job.lock import JobLock, TrialLock
from harbor.models.job.result import JobResult, JobStats
from harbor.models.trial.config import TrialConfig
from harbor.models.trial.result import TrialResult
from harbor.utils.pass_at_k import compute_pass_at_k_by_evals


def expected_stats(job: JobResult, trials: list[TrialResult]) -> JobStats:
    """What `Job.run` writes as the job's stats at its end."""
    stats = JobStats.from_trial_results(
        trials,
        n_total_trials=job.n_total_trials,
        n_running_trials=job.stats.n_running_trials,
        n_retries=job.stats.n_retries,
    )
    rewards = defaultdict(list)
    for trial in trials:
        if trial.reward_valid and trial.verifier_result is not None:
            key = JobStats.format_agent_evals_key(
                trial.agent_info.name,
                trial.agent_info.model_info.name if trial.agent_info.model_info else None,
                trial.source or "adhoc",
            )
            rewards[key].append(trial.verifier_result.rewards)
    for key, values in rewards.items():
        stats.evals[key].metrics.append(Mean().compute(values))
    for key, pass_at_k in compute_pass_at_k_by_evals(trials).items():
        stats.evals[key].pass_at_k = pass_at_k
    return stats


def check_job(job_dir: Path) -> dict:
    config = JobConfig.model_validate_json((job_dir / "config.json").read_text())
    lock = JobLock.model_validate_json((job_dir / "lock.json").read_text())
    job = JobResult.model_validate_json((job_dir / "result.json").read_text())
    assert config.job_name == job_dir.name, (config.job_name, job_dir.name)
    trials: list[TrialResult] = []
    for trial_dir in sorted(d for d in job_dir.iterdir() if d.is_dir()):
        result = TrialResult.model_validate_json((trial_dir / "result.json").read_text())
        trial_config = TrialConfig.model_validate_json((trial_dir / "config.json").read_text())
        TrialLock.model_validate_json((trial_dir / "lock.json").read_text())
        assert result.trial_name == trial_dir.name == trial_config.trial_name, trial_dir
        assert result.config == trial_config, trial_dir
        assert trial_config.job_id == job.id, (trial_config.job_id, job.id)
        trials.append(result)
    assert len(lock.trials) == len(trials), (len(lock.trials), len(trials))
    assert job.stats.n_completed_trials == len(trials)
    # As values: a reward of 1 and one of 1.0 are the same key to Harbor (JSON keeps no difference).
    expected = expected_stats(job, trials)
    written = job.stats.model_dump(mode="json")
    assert job.stats == expected, json.dumps(
        {"written": written, "harbor": expected.model_dump(mode="json")}, indent=2
    )
    return {
        "id": str(job.id),
        "agents": [a.name or a.import_path for a in config.agents],
        "evals": written["evals"],
        "trials": {
            t.trial_name: {
                "task_name": t.task_name,
                "rewards": t.verifier_result.rewards if t.verifier_result else None,
                "reward_valid": t.reward_valid,
                "exception_type": t.exception_info.exception_type if t.exception_info else None,
            }
            for t in trials
        },
    }


def main() -> None:
    jobs_dir = Path(sys.argv[1])
    out = {d.name: check_job(d) for d in sorted(jobs_dir.iterdir()) if d.is_dir()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
