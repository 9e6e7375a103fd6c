# Copyright (c) mkd_mm contributors. All rights reserved.
"""Resolve a teacher named by its mmpretrain model-zoo name to a local file.

A teacher checkpoint may be given as ``'mmpretrain://<model name>'``, e.g.::

    teacher=dict(
        type='TeacherViT', arch='l',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='mmpretrain://'
            'mae_vit-large-p16_8xb512-amp-coslr-1600e_in1k'))

The name is looked up in mmpretrain's model index (``ModelHub``, the
machinery behind ``mmpretrain.get_model``; its metafiles give the weight
URL). The file is expected where torch and mmengine cache downloads,
``torch.hub.get_dir()/checkpoints/<file name of the URL>`` (by default
``~/.cache/torch/hub/checkpoints``; ``$TORCH_HOME/hub/checkpoints`` if
``TORCH_HOME`` is set). If it is there it is used as is; otherwise it is
downloaded if allowed and the network works, else a :class:`FileNotFoundError`
says exactly which URL to fetch and where to put the file.
"""
import os
import os.path as osp
import socket
from typing import Dict, Optional
from urllib.parse import urlparse

import torch

MODEL_ZOO_PREFIX = 'mmpretrain://'


def is_model_zoo_name(checkpoint: Optional[str]) -> bool:
    """Whether ``checkpoint`` uses the ``mmpretrain://`` syntax.

    Args:
        checkpoint (str, optional): A checkpoint path or name.

    Returns:
        bool: True for ``'mmpretrain://<name>'``.
    """
    return isinstance(checkpoint,
                      str) and checkpoint.startswith(MODEL_ZOO_PREFIX)


def _weights_from_metafiles(name: str) -> Optional[str]:
    """Fallback lookup that reads mmpretrain's metafiles with PyYAML only.

    Used when ``modelindex`` (needed by ``ModelHub``) is not installed.
    """
    import mmpretrain
    import yaml
    root = osp.join(osp.dirname(mmpretrain.__file__), '.mim')
    index_file = osp.join(root, 'model-index.yml')
    if not osp.isfile(index_file):
        return None
    with open(index_file) as f:
        index = yaml.safe_load(f)
    for rel in index.get('Import', []):
        with open(osp.join(root, rel)) as f:
            meta = yaml.safe_load(f) or {}
        for model in meta.get('Models', []) or []:
            if model.get('Name', '').lower() == name.lower():
                return model.get('Weights')
    return None


def model_zoo_weights_url(name: str) -> str:
    """The checkpoint URL of an mmpretrain model-zoo model.

    Args:
        name (str): Model name, e.g.
            ``'mae_vit-large-p16_8xb512-amp-coslr-1600e_in1k'``.

    Returns:
        str: The ``Weights`` URL of its metafile entry.

    Raises:
        ValueError: If the name is unknown or has no weights.
    """
    url = None
    try:
        from mmpretrain.apis import ModelHub
    except ImportError:  # `modelindex` missing
        ModelHub = None
    if ModelHub is not None:
        try:
            url = ModelHub.get(name).weights
        except ValueError as e:
            raise ValueError(
                f'Unknown mmpretrain model-zoo name {name!r} in '
                f'`{MODEL_ZOO_PREFIX}{name}` (list the names with '
                '`python -c "import mmpretrain; print(mmpretrain.list_models('
                '\'mae*\'))"`).') from e
    else:
        url = _weights_from_metafiles(name)
        if url is None:
            raise ValueError(f'Unknown mmpretrain model-zoo name {name!r} in '
                             f'`{MODEL_ZOO_PREFIX}{name}`.')
    if not url:
        raise ValueError(f'The mmpretrain model-zoo entry {name!r} has no '
                         'pre-trained weights.')
    return url


def model_zoo_cache_path(url: str) -> str:
    """Where torch / mmengine cache the file of ``url``.

    Args:
        url (str): Checkpoint URL.

    Returns:
        str: ``torch.hub.get_dir()/checkpoints/<file name>``.
    """
    filename = osp.basename(urlparse(url).path)
    return osp.join(torch.hub.get_dir(), 'checkpoints', filename)


def _download(url: str, dst: str, timeout: float) -> None:
    os.makedirs(osp.dirname(dst), exist_ok=True)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        torch.hub.download_url_to_file(url, dst, progress=True)
    finally:
        socket.setdefaulttimeout(old)


def resolve_teacher_checkpoint(checkpoint: str,
                               download: bool = True,
                               timeout: float = 30.) -> str:
    """Turn a teacher checkpoint spec into a local file path.

    Plain paths are returned unchanged. ``'mmpretrain://<name>'`` is
    resolved through the model zoo as described in the module docstring.

    Args:
        checkpoint (str): A path or ``'mmpretrain://<name>'``.
        download (bool): Try to download a missing file. Defaults to True.
        timeout (float): Socket timeout of the download in seconds.
            Defaults to 30.

    Returns:
        str: Path of a local file.

    Raises:
        FileNotFoundError: If the file is neither cached nor downloadable;
            the message gives the URL and the exact destination path.
    """
    if not is_model_zoo_name(checkpoint):
        return checkpoint
    name = checkpoint[len(MODEL_ZOO_PREFIX):]
    url = model_zoo_weights_url(name)
    path = model_zoo_cache_path(url)
    if osp.isfile(path):
        return path
    reason = 'downloading is disabled (`download=False`)'
    if download:
        try:
            _download(url, path, timeout)
            return path
        except Exception as e:  # network errors of any kind
            reason = f'the download failed ({type(e).__name__}: {e})'
    raise FileNotFoundError(
        f'Teacher checkpoint `{checkpoint}` is not available: {reason}. '
        f'Download\n  {url}\nand put it at\n  {path}\n(torch hub cache, '
        '`torch.hub.get_dir()/checkpoints`; set TORCH_HOME to move it), e.g. '
        f'`mkdir -p {osp.dirname(path)} && wget -O {path} {url}`, or give '
        'the local path in `model.teacher.init_cfg.checkpoint`.')


def model_zoo_info(name: str) -> Dict[str, str]:
    """URL and cache path of a model-zoo teacher (for docs and tools).

    Args:
        name (str): Model-zoo name (without the ``mmpretrain://`` prefix).

    Returns:
        Dict[str, str]: ``url`` and ``path``.
    """
    url = model_zoo_weights_url(name)
    return dict(url=url, path=model_zoo_cache_path(url))
