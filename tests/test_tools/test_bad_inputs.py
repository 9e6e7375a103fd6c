# Copyright (c) mkd_mm contributors. All rights reserved.
"""Bad input through ``tools/train.py`` (CPU): bad data and launcher
settings fail with a message naming the config key / file / flag, and leave
the work directory as it was. Errors raised before the Runner exists are
checked in-process through ``train.main`` (the same code path as the
script, seconds faster); errors that need a Runner run the script in a
subprocess. Each test is a row of ``docs/bad_inputs.md``."""
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools'))
import train as train_tool  # noqa: E402

CONFIG = 'configs/demo/mae_demo.py'


def _images(root: Path, num: int = 8, size: int = 64) -> Path:
    """``root/train/a/*.png`` and ``root/meta/train.txt``."""
    folder = root / 'train' / 'a'
    folder.mkdir(parents=True)
    for i in range(num):
        rng = np.random.RandomState(i)
        img = rng.randint(0, 256, (size, size, 3)).astype(np.uint8)
        Image.fromarray(img).save(str(folder / f'{i}.png'))
    (root / 'meta').mkdir()
    (root / 'meta' / 'train.txt').write_text(''.join(f'a/{i}.png 0\n'
                                                     for i in range(num)))
    return root


def _argv(work_dir: Path, *options, extra=()) -> list:
    return [
        str(REPO / CONFIG), '--work-dir',
        str(work_dir), *extra, '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'default_hooks.logger.interval=1', *options
    ]


def _train(run_tool, work_dir: Path, *options, timeout=240):
    """``tools/train.py`` in a subprocess."""
    return run_tool(['tools/train.py', *_argv(work_dir, *options)],
                    timeout=timeout)


def _snapshot(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob('*')) if p.is_file()
    }


@pytest.fixture
def work_dir(tmp_path) -> Path:
    """A work dir that already holds a previous run's files."""
    folder = tmp_path / 'work'
    folder.mkdir()
    (folder / 'epoch_1.pth').write_bytes(b'previous checkpoint')
    (folder / 'last_checkpoint').write_text(str(folder / 'epoch_1.pth'))
    return folder


@pytest.mark.parametrize('case, message', [
    pytest.param(
        'missing_data_root',
        "train_dataloader.dataset.data_root='{root}/nope/': the data root "
        'does not exist',
        id='missing_data_root'),
    pytest.param(
        'missing_ann_file',
        "train_dataloader.dataset.ann_file='meta/x.txt': annotation file "
        "'{root}/meta/x.txt' not found",
        id='missing_ann_file'),
    pytest.param(
        'empty_ann_file',
        "train_dataloader.dataset.ann_file='meta/train.txt': annotation "
        "file '{root}/meta/train.txt' is empty",
        id='empty_ann_file'),
])
def test_train_rejects_bad_data_before_writing(tmp_path, capsys, work_dir,
                                               case, message):
    root = _images(tmp_path / 'data')
    data_root = f'{root}/'
    options = []
    if case == 'missing_data_root':
        data_root = f'{root}/nope/'
    elif case == 'missing_ann_file':
        options.append('train_dataloader.dataset.ann_file=meta/x.txt')
    else:
        (root / 'meta' / 'train.txt').write_text('')
    before = _snapshot(work_dir)
    with pytest.raises(SystemExit) as e:
        train_tool.main(
            _argv(work_dir, f'train_dataloader.dataset.data_root={data_root}',
                  *options))
    assert e.value.code == 2
    assert message.format(root=root) in capsys.readouterr().err
    assert _snapshot(work_dir) == before  # nothing written or overwritten


def test_train_corrupt_image_names_the_file(tmp_path, run_tool, work_dir):
    root = _images(tmp_path / 'data')
    bad = root / 'train' / 'a' / '0.png'
    bad.write_bytes(bad.read_bytes()[:300])
    before = _snapshot(work_dir)
    proc = _train(run_tool, work_dir,
                  f'train_dataloader.dataset.data_root={root}/')
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert (f"ImageLoadError: image file '{bad}' is truncated: a PNG file "
            'without its IEND chunk') in output
    assert 'set skip_corrupt=True in StrictLoadImageFromFile' in output
    # failed in DataCheckHook.before_run: no step, no checkpoint
    assert 'Epoch(train)' not in output
    after = _snapshot(work_dir)
    assert {k: v for k, v in after.items() if k in before} == before
    assert not [k for k in after if k.endswith('.pth') and k not in before]


def test_train_skip_corrupt_counts_in_the_log(tmp_path, run_tool):
    root = _images(tmp_path / 'data')
    bad = root / 'train' / 'a' / '5.png'
    bad.write_bytes(b'')
    work_dir = tmp_path / 'work'
    proc = _train(run_tool, work_dir,
                  f'train_dataloader.dataset.data_root={root}/',
                  'train_dataloader.dataset.pipeline.0.skip_corrupt=True')
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert f"image file '{bad}' is empty (0 bytes): sample skipped" in output
    assert 'skipped_samples: ' in output
    assert 'corrupt sample(s) skipped so far (all ranks)' in output
    assert (work_dir / 'epoch_1.pth').is_file()


@pytest.mark.skipif(
    train_tool.amp_device_available(), reason='needs a machine without GPU')
@pytest.mark.parametrize('flag', ['slurm', 'amp'])
def test_train_rejects_launcher_settings_without_gpu(capsys, work_dir,
                                                     demo_data, flag):
    before = _snapshot(work_dir)
    data = f'train_dataloader.dataset.data_root={demo_data}/imagenet/'
    if flag == 'slurm':
        with pytest.raises(
                RuntimeError,
                match='--launcher slurm needs CUDA .* on a CPU-only machine '
                'use --launcher pytorch'):
            train_tool.main(
                _argv(work_dir, data, extra=('--launcher', 'slurm')))
    else:
        with pytest.raises(SystemExit) as e:
            train_tool.main(_argv(work_dir, data, extra=('--amp', )))
        assert e.value.code == 2
        assert ("--amp uses mmengine's AmpOptimWrapper, which runs only on "
                'CUDA/NPU/MLU/MUSA devices') in capsys.readouterr().err
    assert _snapshot(work_dir) == before
