# Copyright (c) mkd_mm contributors. All rights reserved.
"""Run repository scripts as ``python SCRIPT ARGS...`` would, many times.

Usage::

    python tests/test_user_paths/run_scripts.py JOBS.json RESULTS.json

``JOBS.json`` is a list of ``{"argv": ["tools/train.py", CONFIG, ...],
"log": PATH, "timeout": SECONDS}``. Each job runs in its own process,
forked from this one after it has imported the third-party stack (torch,
mmengine, mmcv, mmpretrain, mmdet, mmseg) but not ``mkd_mm``: the child
sets ``sys.argv`` and ``sys.path[0]`` as the interpreter does for a script
and executes the script as ``__main__`` (:func:`runpy.run_path`), with its
output in ``log``. So every job goes through the real entry point in a fresh
process, without paying for the interpreter start and the imports again
(about 5 s per job on these CPUs). ``RESULTS.json`` gets one
``{"returncode": N, "seconds": S}`` per job.
"""
import json
import os
import runpy
import signal
import sys
import time
import traceback


def _child(argv: list, log: str) -> None:
    """Body of the forked process: run the script, exit with its code."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = os.fdopen(1, 'w', buffering=1)
    sys.stderr = os.fdopen(2, 'w', buffering=1)
    script = os.path.abspath(argv[0])
    sys.argv = [script] + list(argv[1:])
    sys.path[0] = os.path.dirname(script)
    code = 0
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None
                                                       else 1)
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
    except BaseException:  # noqa: B902  (report everything, like python)
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_job(job: dict) -> dict:
    """Fork, run one job, wait (killing it after ``timeout``)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(job['argv'], job['log'])
    deadline = start + job.get('timeout', 300)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            with open(job['log'], 'a') as f:
                f.write(f'\nrun_scripts: killed after {job["timeout"]} s\n')
            return dict(returncode=-9, seconds=time.monotonic() - start)
        time.sleep(0.05)
    code = os.waitstatus_to_exitcode(status)
    return dict(returncode=code, seconds=round(time.monotonic() - start, 2))


def main() -> None:
    """Entry point (see the module docstring)."""
    jobs_file, results_file = sys.argv[1:3]
    with open(jobs_file) as f:
        jobs = json.load(f)
    # the third-party stack, imported once; mkd_mm is left to each job
    import mmcv.ops  # noqa: F401
    import mmdet.models  # noqa: F401
    import mmengine.runner  # noqa: F401
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401
    import torch  # noqa: F401
    assert 'mkd_mm' not in sys.modules
    results = [run_job(job) for job in jobs]
    with open(results_file, 'w') as f:
        json.dump(results, f)


if __name__ == '__main__':
    main()
