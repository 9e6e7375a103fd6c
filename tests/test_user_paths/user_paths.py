# Copyright (c) mkd_mm contributors. All rights reserved.
"""Helpers of the user-path tests: shrunk configs, tiny weight files and
the commands users type, run as subprocesses from a scratch folder (so the
default ``work_dirs/<config name>/`` lands there, not in the checkout)."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_overrides import REPO, Context, write_override  # noqa: E402

# the subprocess runner of tests/conftest.py (loaded by path: every
# conftest module is called ``conftest``)
_spec = importlib.util.spec_from_file_location('mkd_mm_tests_conftest',
                                               REPO / 'tests' / 'conftest.py')
_root_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root_conftest)
_run = _root_conftest._run
venv_python = _root_conftest.venv_python


def write_pretrained_files(override: str, ctx: Context) -> None:
    """Write the tiny weight files an override's ``init_cfg``s point at.

    Pre-training teachers and transfer backbones get a random tiny encoder
    of the shrunk architecture in mkd_mm's checkpoint layout (student
    encoder under ``backbone.``, as our pre-training runs write it); CLIP
    teachers an OpenAI-format tiny image tower. Files that exist are kept.

    Args:
        override (str): An override written by :func:`write_override`.
        ctx (Context): Its context (``checkpoints`` paths).
    """
    import torch
    from mmengine.config import Config
    cfg = Config.fromfile(override)
    model = cfg.model
    wanted = []
    head_init = (model.get('head') or {}).get('init_cfg')
    if isinstance(head_init, dict) and head_init.get('type') == 'Pretrained':
        # starts from a fine-tuned classifier (backbone and head): save one
        path = head_init['checkpoint']
        if not Path(path).is_file():
            _save_classifier(cfg, path)
    for part in ('teacher', 'backbone'):
        sub = model.get(part) or {}
        init = sub.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained' \
                and init.get('checkpoint') in ctx.checkpoints.values():
            wanted.append((sub, init['checkpoint']))
    for sub, path in wanted:
        if Path(path).is_file():
            continue
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if str(sub.type).endswith('CLIPTeacher'):
            from mkd_mm.testing.tiny_clip import tiny_clip_state_dict
            torch.save(tiny_clip_state_dict(dict(sub.arch)), path)
            continue
        import mkd_mm  # noqa: F401
        from mkd_mm.models.backbones import MKDViT
        torch.manual_seed(0)
        encoder = MKDViT(
            arch=dict(sub.arch),
            img_size=sub.get('img_size', 224),
            patch_size=sub.get('patch_size', 16))
        encoder.init_weights()
        state = {f'backbone.{k}': v for k, v in encoder.state_dict().items()}
        torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)


def _save_classifier(cfg, path: str) -> None:
    """Save a freshly built classifier of ``cfg`` (a fine-tuned file)."""
    import copy

    import mkd_mm  # noqa: F401
    import torch
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    for part in ('backbone', 'head'):
        model_cfg[part].pop('init_cfg', None)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)


def prepare(config: str,
            folder: Path,
            demo_root: Path,
            name: Optional[str] = None,
            **ctx_kwargs) -> Path:
    """Write the CPU override of ``config`` (and its weight files).

    The override keeps the real config's file name, so the tools' default
    work dir is ``work_dirs/<real config name>/`` as in the docs.

    Args:
        config (str): Real config, relative to the repository root.
        folder (Path): Where the override and its weight files go.
        demo_root (Path): Demo data root.
        name (str, optional): File name. Defaults to the real one.
        **ctx_kwargs: More :class:`Context` fields.

    Returns:
        Path: The override config.
    """
    folder.mkdir(parents=True, exist_ok=True)
    checkpoints = {
        k: str(folder / f'{k}.pth')
        for k in ('teacher', 'clip', 'backbone')
    }
    checkpoints.update(ctx_kwargs.pop('checkpoints', {}))
    ctx = Context(
        demo_root=str(demo_root), checkpoints=checkpoints, **ctx_kwargs)
    out = folder / (name or Path(config).name)
    write_override(config, str(out), ctx)
    write_pretrained_files(str(out), ctx)
    return out


def run(args: Sequence[str],
        cwd: Path,
        timeout: float = 600,
        env: Optional[Dict[str, str]] = None,
        python: bool = True) -> subprocess.CompletedProcess:
    """Run a repository script (absolute path) from ``cwd``."""
    args = [str(REPO / a) if i == 0 else str(a) for i, a in enumerate(args)]
    return _run(args, timeout=timeout, env=env, cwd=cwd, python=python)


def fail_message(proc: subprocess.CompletedProcess) -> str:
    """Exit code and the tails of both streams, for assertion messages."""
    return (f'exit {proc.returncode}\n--- stdout (tail)\n{proc.stdout[-4000:]}'
            f'\n--- stderr (tail)\n{proc.stderr[-4000:]}')


def metric(text: str, name: str) -> float:
    """The last ``name: value`` that the logger printed."""
    found = re.findall(re.escape(name) + r': (-?[0-9.]+)', text)
    assert found, f'no {name!r} in the output'
    return float(found[-1])


def run_many(jobs: List[dict], folder: Path) -> List[dict]:
    """Run jobs through ``run_scripts.py`` (one forked process each).

    Args:
        jobs (List[dict]): ``argv`` (script relative to the repository
            root, then its arguments), ``log``, ``timeout``.
        folder (Path): Where the job and result files go; the jobs' working
            folder.

    Returns:
        List[dict]: ``returncode`` and ``seconds`` per job.
    """
    for job in jobs:
        job['argv'] = [str(REPO / job['argv'][0])] + list(job['argv'][1:])
    jobs_file, results_file = folder / 'jobs.json', folder / 'results.json'
    jobs_file.write_text(json.dumps(jobs))
    proc = _run([
        str(Path(__file__).parent / 'run_scripts.py'),
        str(jobs_file),
        str(results_file)
    ],
                timeout=sum(j.get('timeout', 300) for j in jobs) + 60,
                cwd=folder)
    assert proc.returncode == 0, fail_message(proc)
    return json.loads(results_file.read_text())
