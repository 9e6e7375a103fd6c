# Copyright (c) mkd_mm contributors. All rights reserved.
from .distiller_ddp import DistillerDistributedDataParallel

__all__ = ['DistillerDistributedDataParallel']
