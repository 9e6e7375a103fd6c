# Copyright (c) mkd_mm contributors. All rights reserved.
"""Shared pytest fixtures of mkd_mm.

* ``repo_root``: the repository root (``pathlib.Path``).
* ``demo_data``: the synthetic demo data sets (``tools/data/make_demo_data.py``
  with seed 0). It reuses ``data/demo`` when that holds a complete set (as
  after ``make data``) and otherwise generates one into a temporary folder
  once per session (~3 s), so tests never write into the checkout.
* ``run_tool``: run a repository script as a subprocess with the venv's
  Python (``.venv/bin/python`` if present, else the interpreter running
  pytest), from the repository root, and return the ``CompletedProcess``.
* ``free_port``: a free TCP port on localhost (for torchrun).
* ``mmlogger_records``: ``(level, message)`` of every record the current
  ``MMLogger`` emits during the test (mmengine's ``print_log``).

This module imports nothing heavy (no torch / OpenMMLab), so it costs the
other test folders nothing.
"""
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, Optional, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA_DIR = REPO_ROOT / 'data' / 'demo'


def venv_python() -> str:
    """The Python used to run tools: the project venv's, if it exists."""
    candidate = REPO_ROOT / '.venv' / 'bin' / 'python'
    return str(candidate) if candidate.exists() else sys.executable


def load_demo_data_module() -> ModuleType:
    """Import ``tools/data/make_demo_data.py`` as a module."""
    path = REPO_ROOT / 'tools' / 'data' / 'make_demo_data.py'
    spec = importlib.util.spec_from_file_location('make_demo_data', path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def demo_data_module() -> ModuleType:
    """The demo data generator module (``tools/data/make_demo_data.py``)."""
    return load_demo_data_module()


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory: pytest.TempPathFactory,
              demo_data_module: ModuleType) -> Path:
    """Root of a complete set of demo data (``imagenet/``, ``coco/``,
    ``ade/``)."""
    if demo_data_module.is_complete(str(DEMO_DATA_DIR), seed=0):
        return DEMO_DATA_DIR
    out = tmp_path_factory.mktemp('demo_data')
    demo_data_module.generate(str(out), seed=0)
    assert demo_data_module.is_complete(str(out), seed=0)
    return out


def _run(args: Sequence[str],
         timeout: float = 300,
         env: Optional[Dict[str, str]] = None,
         cwd: Optional[Path] = None,
         python: bool = True) -> subprocess.CompletedProcess:
    """Run ``[python] args...`` from the repository root.

    Args:
        args (Sequence[str]): Script path (relative to the repository root)
            and its arguments.
        timeout (float): Seconds before the process is killed (the test then
            fails with ``TimeoutExpired``). Defaults to 300.
        env (Dict[str, str], optional): Extra environment variables.
        cwd (Path, optional): Working folder; the repository root if None.
        python (bool): Prefix the venv's Python (False to run a shell script
            directly). Defaults to True.

    Returns:
        subprocess.CompletedProcess: With ``stdout``/``stderr`` as text.
    """
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(REPO_ROOT), full_env.get('PYTHONPATH')) if p)
    full_env.setdefault('PYTHONUNBUFFERED', '1')
    if env:
        full_env.update(env)
    cmd = ([venv_python()] if python else []) + [str(a) for a in args]
    return subprocess.run(
        cmd,
        cwd=str(cwd or REPO_ROOT),
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout)


@pytest.fixture(scope='session')
def run_tool() -> Callable[..., subprocess.CompletedProcess]:
    """A function that runs a repository script; see :func:`_run`."""
    return _run


@pytest.fixture
def free_port() -> int:
    """A TCP port on localhost that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def mmlogger_records():
    """Records of the current ``MMLogger`` (it does not propagate, so
    pytest's ``caplog`` does not see them)."""
    import logging

    from mmengine.logging import MMLogger

    records = []

    class _Collect(logging.Handler):

        def emit(self, record):
            records.append((record.levelno, record.getMessage()))

    logger = MMLogger.get_current_instance()
    handler = _Collect()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
