# Copyright (c) mkd_mm contributors. All rights reserved.
from .config_scope import package_config_root, register_config_scope
from .checkpoint_io import (UnsafeCheckpointError, load_checkpoint_file,
                            register_safe_globals)

__all__ = [
    'package_config_root', 'register_config_scope',
    'UnsafeCheckpointError', 'load_checkpoint_file', 'register_safe_globals'
]
