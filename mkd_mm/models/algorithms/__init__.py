# Copyright (c) mkd_mm contributors. All rights reserved.
from .base_distiller import BaseDistiller
from .dbot import DBOT
from .dbot_clip import DBOTCLIP
from .dmae import DMAE

__all__ = ['BaseDistiller', 'DBOT', 'DBOTCLIP', 'DMAE']
