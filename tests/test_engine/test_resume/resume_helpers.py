# Copyright (c) mkd_mm contributors. All rights reserved.
"""Helpers of the exact-resume tests: tiny configs written to files,
``tools/train.py`` in a new process that can SIGKILL itself, checkpoint
comparison.

The configs inherit the repository's ``default_runtime.py`` and
``demo_imagenet_pretrain.py`` (so they test the real defaults: the
``rng_state`` default hook, ``ResumableSampler``), on 12 demo images with
the real random crop/flip pipeline at 32 px, 3 iterations per epoch, a
checkpoint after every iteration, ``num_workers=0`` and deterministic
settings.
"""
import copy
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, List, Optional

import torch
from mmengine.config import Config

from mkd_mm.testing import tiny_dbot_cfg, tiny_dmae_cfg

REPO_ROOT = Path(__file__).resolve().parents[3]
KILL_TRAIN = Path(__file__).resolve().parent / 'kill_train.py'
ITERS_PER_EPOCH = 3
NUM_SAMPLES, BATCH = 12, 4

#: the demo images are real RGB files: ImageNet normalisation
IMAGENET_PREPROCESSOR = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)


def write_config(path: Path,
                 data_root: Path,
                 method: str,
                 max_epochs: int,
                 stage_ends: Optional[List[int]] = None) -> Path:
    """Write a tiny pre-training config (``method``: dbot or dmae)."""
    base = REPO_ROOT / 'configs' / '_base_'
    if method == 'dbot':
        model = tiny_dbot_cfg(
            data_preprocessor=copy.deepcopy(IMAGENET_PREPROCESSOR))
        custom_hooks = [
            dict(type='BootstrapTeacherHook', stage_ends=stage_ends)
        ]
    else:
        model = tiny_dmae_cfg(
            data_preprocessor=copy.deepcopy(IMAGENET_PREPROCESSOR))
        custom_hooks = []
        stage_ends = [max_epochs]
    cfg = dict(
        _base_=[
            str(base / 'datasets' / 'demo_imagenet_pretrain.py'),
            str(base / 'default_runtime.py')
        ],
        model=model,
        train_dataloader=dict(
            batch_size=BATCH,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(
                data_root=f'{data_root}/imagenet/',
                indices=NUM_SAMPLES,
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(
                        type='RandomResizedCrop',
                        scale=32,
                        crop_ratio_range=(0.2, 1.0),
                        backend='pillow',
                        interpolation='bicubic'),
                    dict(type='RandomFlip', prob=0.5),
                    dict(type='PackInputs')
                ])),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
            paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0)),
        param_scheduler=[
            dict(
                type='StagedWarmupCosineLR',
                stage_ends=stage_ends,
                warmup=1,
                by_epoch=True,
                convert_to_iter_based=True)
        ],
        train_cfg=dict(
            type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=1)),
        custom_hooks=custom_hooks,
        randomness=dict(seed=0, deterministic=True),
        log_processor=dict(window_size=1))
    path = Path(path)
    Config(cfg).dump(str(path))
    return path


def train(config: Path,
          work_dir: Path,
          resume: bool = False,
          kill_after_iter: Optional[int] = None,
          kill_during_save: Optional[str] = None,
          fresh_interpreter: bool = False,
          timeout: float = 240) -> subprocess.CompletedProcess:
    """Run ``tools/train.py CONFIG --work-dir DIR [--resume]`` in a new
    process, optionally made to SIGKILL itself (see ``kill_train.py``).

    By default the process is forked from the test process, which has
    already imported torch and the OpenMMLab stack (~6 s of CPU per fresh
    interpreter), and runs ``tools/train.py``'s ``main`` with the same
    arguments as the command line; ``fresh_interpreter=True`` runs the real
    command line (``python tools/train.py ...``) instead.

    Returns:
        subprocess.CompletedProcess: ``returncode`` (-9 after SIGKILL) and
        ``stdout`` (stdout and stderr together).
    """
    argv = [str(config), '--work-dir', str(work_dir)]
    if resume:
        argv.append('--resume')
    if fresh_interpreter:
        return _run_interpreter(argv, kill_after_iter, kill_during_save,
                                timeout)
    return _run_forked(argv, kill_after_iter, kill_during_save, timeout,
                       Path(work_dir).parent)


def _run_interpreter(argv, kill_after_iter, kill_during_save, timeout):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get('PYTHONPATH')) if p)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env.pop('MKD_KILL_AFTER_ITER', None)
    env.pop('MKD_KILL_DURING_SAVE', None)
    script = REPO_ROOT / 'tools' / 'train.py'
    if kill_after_iter is not None:
        env['MKD_KILL_AFTER_ITER'] = str(kill_after_iter)
        script = KILL_TRAIN
    if kill_during_save is not None:
        env['MKD_KILL_DURING_SAVE'] = kill_during_save
        script = KILL_TRAIN
    python = REPO_ROOT / '.venv' / 'bin' / 'python'
    cmd = [str(python if python.exists() else sys.executable), str(script)]
    return subprocess.run(
        cmd + argv,
        cwd=str(REPO_ROOT),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)


def _cache_config_text() -> None:
    """Format the config text once per run (test speed only).

    ``Runner.save_checkpoint`` stores ``cfg.pretty_text`` in every
    checkpoint's ``meta``, and formatting it with yapf costs ~0.5 s on this
    machine, more than a tiny training iteration. The config does not change
    during a run, so the forked test runs compute it once; only the text in
    ``meta['cfg']`` is concerned, never the training state.
    """
    text = Config.pretty_text.fget
    cache: Dict[int, str] = {}

    def cached_text(cfg: Config) -> str:
        if id(cfg) not in cache:
            cache[id(cfg)] = text(cfg)
        return cache[id(cfg)]

    Config.pretty_text = property(cached_text)


def _forked_main(argv, kill_after_iter, kill_during_save, log_path) -> int:
    """Body of the forked child; returns its exit code."""
    fd = os.open(str(log_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    os.chdir(str(REPO_ROOT))
    torch.set_num_threads(1)
    from mmengine.logging import MMLogger

    # a fresh current logger that writes to this child's output (the one
    # inherited from the test process writes to pytest's capture)
    MMLogger.get_instance(f'resume_test_child_{os.getpid()}')
    _cache_config_text()
    import kill_train
    if kill_after_iter is not None:
        kill_train.install_kill_after_iter(kill_after_iter)
    if kill_during_save is not None:
        kill_train.install_kill_during_save(kill_during_save)
    try:
        kill_train.train_tool.main(list(argv))
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _run_forked(argv, kill_after_iter, kill_during_save, timeout, log_dir):
    log_path = Path(log_dir) / f'train_{time.monotonic_ns()}.log'
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            code = _forked_main(argv, kill_after_iter, kill_during_save,
                                log_path)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise subprocess.TimeoutExpired(argv, timeout)
        time.sleep(0.05)
    code = (-os.WTERMSIG(status)
            if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
    return subprocess.CompletedProcess(
        argv, code, stdout=log_path.read_text(errors='replace'))


def describe(proc: subprocess.CompletedProcess) -> str:
    """Exit code and the end of the output, for assertion messages."""
    return f'exit {proc.returncode}\n{proc.stdout[-4000:]}'


def load(path: Path) -> dict:
    """Load a checkpoint written by these tests (a trusted file)."""
    return torch.load(str(path), map_location='cpu', weights_only=False)


def _flatten(prefix: str, value, out: Dict[str, object]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f'{prefix}.{k}', v, out)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _flatten(f'{prefix}.{i}', v, out)
    else:
        out[prefix] = value


def training_state(path: Path) -> Dict[str, object]:
    """Every tensor and number of the model, optimizer and schedulers."""
    ckpt = load(path)
    out: Dict[str, object] = {}
    for key in ('state_dict', 'optimizer', 'param_schedulers'):
        if key in ckpt:
            _flatten(key, ckpt[key], out)
    out['meta.epoch'] = ckpt['meta']['epoch']
    out['meta.iter'] = ckpt['meta']['iter']
    return out


def assert_same_training_state(got: Path, ref: Path) -> None:
    """``torch.equal`` on every tensor (student, teacher, stage, optimizer
    moments) and equality of every number (steps, scheduler counters)."""
    a, b = training_state(got), training_state(ref)
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))[:10]
    assert any(k.startswith('state_dict.teacher.') for k in a) or \
        not any('teacher' in k for k in b)
    for key, value in b.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(a[key], value), f'{got.name}: {key} differs'
        else:
            assert a[key] == value, f'{got.name}: {key}: {a[key]} != {value}'


def last_checkpoint(work_dir: Path) -> Path:
    """The file ``last_checkpoint`` names."""
    return Path((work_dir / 'last_checkpoint').read_text().strip())
