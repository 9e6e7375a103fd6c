# Copyright (c) mkd_mm contributors. All rights reserved.
"""The Makefile picks the demo config, and ``.ci/run`` reports pytest's
summary and fails when ``make test`` fails (both run against stand-ins, so
nothing is installed or trained here)."""
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which('make') is None, reason='needs GNU make')


def _make_dry_run(root: Path, *targets: str) -> str:
    proc = subprocess.run(['make', '-n', *targets],
                          cwd=str(root),
                          stdin=subprocess.DEVNULL,
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_demo_target_picks_config_and_driver(tmp_path):
    shutil.copy(REPO / 'Makefile', tmp_path / 'Makefile')
    (tmp_path / 'configs' / 'demo').mkdir(parents=True)
    (tmp_path / 'configs/demo/mae_demo.py').write_text('')
    out = _make_dry_run(tmp_path, 'demo')
    assert 'bash tools/setup_env.sh' in out
    assert 'tools/data/make_demo_data.py --out data/demo --if-missing' in out
    assert ('.venv/bin/python tools/train.py configs/demo/mae_demo.py '
            '--work-dir work_dirs/demo/mae_demo') in out
    (tmp_path / 'configs/demo/dbot_demo.py').write_text('')
    out = _make_dry_run(tmp_path, 'demo')
    assert ('tools/train.py configs/demo/dbot_demo.py '
            '--work-dir work_dirs/demo/dbot_demo') in out
    # a driver tools/demo/<name>.py (training + evaluation) takes over
    (tmp_path / 'tools' / 'demo').mkdir(parents=True)
    (tmp_path / 'tools/demo/dbot_demo.py').write_text('')
    out = _make_dry_run(tmp_path, 'demo')
    assert (
        '.venv/bin/python tools/demo/dbot_demo.py --config '
        'configs/demo/dbot_demo.py --work-dir work_dirs/demo/dbot_demo') in out
    out = _make_dry_run(tmp_path, 'demo',
                        'DEMO_CONFIG=configs/demo/mae_demo.py')
    assert 'tools/train.py configs/demo/mae_demo.py' in out
    out = _make_dry_run(tmp_path, 'test')
    assert out.index('setup_env.sh') < out.index('make_demo_data.py') < \
        out.index('-m pytest tests')


def _fake_make(bin_dir: Path, output: str, status: int) -> None:
    script = bin_dir / 'make'
    script.write_text('#!/usr/bin/env bash\n'
                      f"printf '%s\\n' {output!r}\n"
                      f'exit {status}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize('output, status, want_status', [
    ('==== 3 passed, 1 skipped in 2.00s ====', 0, 0),
    ('==== 1 failed, 2 passed in 2.00s ====', 2, 2),
    ('setup_env: ERROR: no C++ compiler', 1, 1),
    ('no summary here', 0, 1),
])
def test_ci_run_reports_and_fails(tmp_path, output, status, want_status):
    repo = tmp_path / 'repo'
    (repo / '.ci').mkdir(parents=True)
    shutil.copy(REPO / '.ci' / 'run', repo / '.ci' / 'run')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    _fake_make(bin_dir, output, status)
    env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    proc = subprocess.run(['bash', str(repo / '.ci' / 'run')],
                          cwd=str(tmp_path),
                          env=env,
                          stdin=subprocess.DEVNULL,
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == want_status, proc.stdout + proc.stderr
    if 'passed' in output:
        assert f'ci: pytest summary: {output}' in proc.stdout
    else:
        assert 'ci: pytest summary: <none' in proc.stdout
