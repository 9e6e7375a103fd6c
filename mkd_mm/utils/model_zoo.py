# Copyright (c) mkd_mm contributors. All rights reserved.
"""Register mkd_mm's model zoo with mmpretrain's ``ModelHub``.

After :func:`register_model_index`, ``mmpretrain.list_models('*dbot*')`` lists
the pre-training entries (``configs/dbot|dmae/metafile.yml``) and the
ImageNet fine-tuning / linear-probing entries
(``configs/benchmarks/metafile.yml``), and ``mmpretrain.get_model(name,
pretrained=PATH)`` builds one and loads a local checkpoint, including an
official dBOT release file: the classification entries use
``OfficialCompatClassifier``, which converts timm-layout keys on load.

The detection and segmentation entries live in
``configs/benchmarks/mmdetection/metafile.yml`` and
``configs/benchmarks/mmsegmentation/metafile.yml``; they are *not* in the
model index because ``mmpretrain.get_model`` can only build mmpretrain
models (train them with mmdet / mmseg tools, see ``docs/transfer.md``).
"""
import os.path as osp
from typing import Optional, Tuple

_REGISTERED: Optional[str] = None


def find_model_index() -> Tuple[str, str]:
    """Locate ``model-index.yml`` and the root its config paths start from.

    An installed package carries it in ``mkd_mm/.mim/`` (with ``configs/``
    next to it, see ``setup.py``); a source checkout has it at the repository
    root.

    Returns:
        tuple[str, str]: ``(model_index_path, config_prefix)``.

    Raises:
        FileNotFoundError: If neither location has a ``model-index.yml``.
    """
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for root in (osp.join(package, '.mim'), osp.dirname(package)):
        path = osp.join(root, 'model-index.yml')
        if osp.isfile(path) and osp.isdir(osp.join(root, 'configs')):
            return path, root
    raise FileNotFoundError(
        'mkd_mm: model-index.yml not found in the package (.mim) or the '
        'source tree; reinstall with `pip install -e .`.')


def register_model_index(model_index_path: Optional[str] = None,
                         config_prefix: Optional[str] = None) -> str:
    """Register mkd_mm's models in mmpretrain's ``ModelHub`` (idempotent).

    Args:
        model_index_path (str, optional): A ``model-index.yml``. Defaults to
            the one of mkd_mm (see :func:`find_model_index`).
        config_prefix (str, optional): Root of the ``Config:`` paths.
            Defaults to the directory of the model index.

    Returns:
        str: The model index that was registered.
    """
    global _REGISTERED
    if model_index_path is None:
        model_index_path, default_prefix = find_model_index()
        config_prefix = config_prefix or default_prefix
    model_index_path = osp.abspath(model_index_path)
    if _REGISTERED == model_index_path:
        return model_index_path
    # the zoo's classifiers must be registered before get_model builds them
    import mkd_mm.downstream.mmpretrain  # noqa: F401
    from mmpretrain.apis import ModelHub
    ModelHub.register_model_index(
        model_index_path,
        config_prefix=config_prefix or osp.dirname(model_index_path))
    _REGISTERED = model_index_path
    return model_index_path
