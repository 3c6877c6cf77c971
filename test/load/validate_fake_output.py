"""Loads a job directory with Harbor's own models (the installed Harbor): the fake harness's output
must be what the real one writes. Prints what it loaded; exits non-zero on the first file that does
not load.

usage: python validate_fake_output.py JOB_DIR
"""

import pathlib
import sys

from harbor.models.job.config import JobConfig
from harbor.models.job.lock import JobLock, TrialLock
from harbor.models.job.result import JobResult
from harbor.models.trial.config import TrialConfig
from harbor.models.trial.result import TrialResult


def main(job_dir: pathlib.Path) -> None:
    JobConfig.model_validate_json((job_dir / "config.json").read_text())
    JobLock.model_validate_json((job_dir / "lock.json").read_text())
    job = JobResult.model_validate_json((job_dir / "result.json").read_text())
    trials = [p for p in job_dir.iterdir() if p.is_dir()]
    assert len(trials) == 1, trials
    trial_dir = trials[0]
    TrialConfig.model_validate_json((trial_dir / "config.json").read_text())
    TrialLock.model_validate_json((trial_dir / "lock.json").read_text())
    trial = TrialResult.model_validate_json((trial_dir / "result.json").read_text())
    assert trial.trial_name == trial_dir.name, (trial.trial_name, trial_dir.name)
    print(f"ok job {job.id} trial {trial.trial_name} rewards {trial.verifier_result.rewards}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
