# Copyright (c) mkd_mm contributors. All rights reserved.
from .base_distiller import BaseDistiller
from .dbot import DBOT

__all__ = ['BaseDistiller', 'DBOT']
