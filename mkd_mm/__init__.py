# Copyright (c) mkd_mm contributors. All rights reserved.
"""mkd_mm: masked knowledge distillation (dBOT, DMAE) for OpenMMLab.

Importing this package registers its models, hooks and schedulers in
mmpretrain's registries; configs load it with
``custom_imports=dict(imports=['mkd_mm'], allow_failed_imports=False)``.
It never imports mmdet or mmseg: the downstream modules live in
``mkd_mm.downstream`` and are imported only by downstream configs.
"""
import mmcv
import mmengine
import mmpretrain
from mmengine.utils import digit_version

from .version import __version__, version_info

_RANGES = {
    'mmcv': (mmcv, '2.0.0', '2.2.0'),
    'mmengine': (mmengine, '0.10.0', '1.0.0'),
    'mmpretrain': (mmpretrain, '1.2.0', '1.3.0'),
}
for _name, (_mod, _low, _high) in _RANGES.items():
    _v = digit_version(_mod.__version__)
    assert digit_version(_low) <= _v < digit_version(_high), (
        f'{_name}=={_mod.__version__} is used but incompatible with mkd_mm '
        f'{__version__}. Please install {_name}>={_low},<{_high} (mmcv 2.1.0 '
        'is the one release that mmpretrain 1.2, mmdet 3.3 and mmseg 1.2 '
        'all accept; see docs/get_started.md).')

from .utils import register_config_scope, register_safe_globals  # noqa
from .utils.atomic_io import register_atomic_local_backend  # noqa: E402

register_safe_globals()
register_config_scope()
register_atomic_local_backend()

from . import registry  # noqa: E402,F401  (the mkd_mm:: scope)
from .datasets import *  # noqa: E402,F401,F403
from .engine import *  # noqa: E402,F401,F403
from .models import *  # noqa: E402,F401,F403

__all__ = ['__version__', 'version_info']

from .utils.model_zoo import register_model_index  # noqa: E402

register_model_index()
