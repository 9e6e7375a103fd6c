# Copyright (c) mkd_mm contributors. All rights reserved.
from .dbot_decoder import DBOTDecoder

__all__ = ['DBOTDecoder']
