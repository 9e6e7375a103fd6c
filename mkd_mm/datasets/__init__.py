# Copyright (c) mkd_mm contributors. All rights reserved.
from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403
