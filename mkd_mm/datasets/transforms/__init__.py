# Copyright (c) mkd_mm contributors. All rights reserved.
from .loading import (ImageLoadError, SharedCounter, StrictLoadImageFromFile,
                      find_truncation)

__all__ = [
    'ImageLoadError', 'SharedCounter', 'StrictLoadImageFromFile',
    'find_truncation'
]
