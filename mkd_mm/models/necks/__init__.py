# Copyright (c) mkd_mm contributors. All rights reserved.
from .dbot_decoder import DBOTDecoder
from .projector import FeatureProjector

__all__ = ['DBOTDecoder', 'FeatureProjector']
