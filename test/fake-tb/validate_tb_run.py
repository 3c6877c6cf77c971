"""Checks a `tb run` run directory with Terminal-Bench's own models and code; prints a JSON summary.

usage: python validate_tb_run.py RUN_DIR TASK_DIR

Loads, with the installed ``terminal_bench`` (0.2.18):
- ``results.json`` as ``BenchmarkResults``, ``run_metadata.json`` as ``RunMetadata``, ``tb.lock``
  with ``RunLock.from_json`` (which also checks the directory's name against the run id);
- each trial directory's ``results.json`` as ``TrialResults``, equal to its entry in the run's
  ``results.json``, and its layout against ``TrialPaths`` (panes, sessions, agent-logs,
  commands.txt);
- the post-test pane through the task's own parser (``ParserFactory``), whose verdict must be the
  trial's ``parser_results``;
- ``commands.txt`` as one Python ``repr`` of a key list per line, as ``TmuxSession.send_keys``
  writes it, and each ``sessions/*.cast`` as asciicast v2 (a JSON header, then JSON events).
Exits non-zero with the reason on stderr when anything does not match.
"""

import ast
import json
import sys
from pathlib import Path

from terminal_bench.handlers.trial_handler import Task, TaskPaths, TrialPaths
from terminal_bench.harness.models import BenchmarkResults, RunMetadata, TrialResults
from terminal_bench.parsers.parser_factory import ParserFactory
from terminal_bench.utils.run_lock import RunLock


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(1)


def main() -> None:
    run_dir, task_dir = Path(sys.argv[1]), Path(sys.argv[2])
    results = BenchmarkResults.model_validate_json((run_dir / 'results.json').read_text())
    metadata = RunMetadata.model_validate_json((run_dir / 'run_metadata.json').read_text())
    lock = RunLock.from_json(run_dir / 'tb.lock')
    if metadata.run_id != run_dir.name or lock.local_config.run_id != run_dir.name:
        fail(f'run id mismatch: {metadata.run_id} / {lock.local_config.run_id} / {run_dir.name}')
    if not (run_dir / 'run.log').is_file():
        fail('run.log missing')

    task = Task.from_yaml(TaskPaths(task_dir).task_config_path)
    parser = ParserFactory.get_parser(task.parser_name)
    trials = []
    for entry in results.results:
        paths = TrialPaths(run_dir, entry.task_id, entry.trial_name)
        trial_dir = paths.task_output_path
        if trial_dir.parent.parent != run_dir:
            fail(f'trial dir {trial_dir} is not under {run_dir}')
        own = TrialResults.model_validate_json(paths.results_path.read_text())
        if own.model_dump() != entry.model_dump():
            fail(f'{paths.results_path} differs from its entry in results.json')
        for required in (paths.pre_agent_pane_path, paths.post_agent_pane_path, paths.post_test_pane_path,
                         paths.commands_path):
            if not required.is_file():
                fail(f'missing {required}')
        for required in (paths.sessions_path, paths.agent_logging_dir):
            if not required.is_dir():
                fail(f'missing {required}/')
        if entry.parser_results is not None:
            verdict = parser.parse(paths.post_test_pane_path.read_text())
            if verdict != entry.parser_results:
                fail(f'the post-test pane parses to {verdict}, results say {entry.parser_results}')
        keys = [ast.literal_eval(line) for line in paths.commands_path.read_text().splitlines() if line]
        if not all(isinstance(k, (list, str)) for k in keys):
            fail('commands.txt holds something other than key lists')
        casts = sorted(paths.sessions_path.glob('*.cast'))
        for cast in casts:
            lines = cast.read_text().splitlines()
            header = json.loads(lines[0])
            if header.get('version') != 2:
                fail(f'{cast} is not asciicast v2')
            for line in lines[1:]:
                event = json.loads(line)
                if not (isinstance(event, list) and len(event) == 3 and event[1] in ('o', 'i', 'm')):
                    fail(f'{cast}: bad event {line[:80]}')
        if entry.recording_path and not (run_dir.parent / entry.recording_path).is_file():
            fail(f'recording_path {entry.recording_path} does not exist')
        trials.append({
            'trial_name': entry.trial_name,
            'is_resolved': entry.is_resolved,
            'failure_mode': entry.failure_mode.value,
            'files': sorted(str(p.relative_to(trial_dir)) for p in trial_dir.rglob('*') if p.is_file()),
            'commands': keys,
        })
    print(json.dumps({
        'run_files': sorted(str(p.relative_to(run_dir)) for p in run_dir.iterdir() if p.is_file()),
        'accuracy': results.accuracy,
        'agent_name': metadata.agent_name,
        'trials': trials,
    }))


if __name__ == '__main__':
    main()
