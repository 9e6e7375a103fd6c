# Copyright (c) mkd_mm contributors. All rights reserved.
"""Every config file in ``configs/`` trains through ``tools/train.py``.

Each config is shrunk by a small override that inherits it (see
``cpu_overrides.py``: sizes, data roots, lengths only) and trained for two
iterations (one stage each for multi-stage dBOT) on the demo data by the
real ``tools/train.py``, each run in its own process (``run_scripts.py``).
The list of configs is the folder itself, so a new config is covered as
soon as it is added, and fails here if no shrinker knows its family.
"""
import math
import re
from pathlib import Path

import pytest
from cpu_overrides import all_configs
from user_paths import prepare, run_many

CONFIGS = all_configs()


@pytest.fixture(scope='module')
def runs(tmp_path_factory, demo_data):
    """One two-iteration training per config, all in one batch of jobs."""
    root = tmp_path_factory.mktemp('every_config')
    jobs, errors = [], {}
    for i, config in enumerate(CONFIGS):
        folder = root / f'{i:02d}'
        try:
            override = prepare(config, folder, demo_data)
        except Exception as e:  # reported by the test of that config
            errors[config] = f'{type(e).__name__}: {e}'
            continue
        jobs.append(
            dict(
                config=config,
                argv=[
                    'tools/train.py',
                    str(override), '--work-dir',
                    str(folder / 'work')
                ],
                log=str(folder / 'train.log'),
                timeout=240))
    results = run_many([dict(j) for j in jobs], root)
    return {
        'errors': errors,
        'results': {
            j['config']: (r, Path(j['log']), Path(j['argv'][3]))
            for j, r in zip(jobs, results)
        }
    }


def test_configs_found():
    assert len(CONFIGS) > 50
    assert 'configs/dbot/vitb_stage2.py' in CONFIGS
    assert not any('_base_' in c for c in CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains(runs, config):
    assert config not in runs['errors'], runs['errors'].get(config)
    result, log, work_dir = runs['results'][config]
    text = log.read_text()
    assert result['returncode'] == 0, text[-5000:]
    assert sorted(p.name for p in work_dir.glob('*.pth')), text[-3000:]
    # the batch convention line of MKDRunner, and finite losses
    assert re.search(r'Total batch \d+ = 1 processes x 2 per process', text)
    losses = [float(v) for v in re.findall(r'\sloss: (-?[0-9.e+-]+)', text)]
    assert losses and all(math.isfinite(v) for v in losses), text[-3000:]
