# Copyright (c) mkd_mm contributors. All rights reserved.
from .checkpoint_io import (UnsafeCheckpointError, load_checkpoint_file,
                            register_safe_globals)

__all__ = [
    'UnsafeCheckpointError', 'load_checkpoint_file', 'register_safe_globals'
]
