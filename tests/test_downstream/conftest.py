# Copyright (c) mkd_mm contributors. All rights reserved.
"""Session fixtures of the downstream tests."""
import pytest
from downstream_helpers import TINY, demo_data_root, run_pretraining


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """Root of the demo data sets (``data/demo`` or a fresh tmp copy)."""
    return demo_data_root(str(tmp_path_factory.mktemp('demo_data')))


@pytest.fixture(scope='session')
def pretrained_student(tmp_path_factory):
    """A checkpoint written by a real (2-iteration) pre-training run.

    mkd_mm ``DBOT`` (tiny ViT: 96-d, 4 blocks, 64 px, patch 16) trained by
    mmengine's Runner; the file holds the student, the teacher, the decoder,
    the ``stage`` buffer, the optimizer state and the message hub.
    """
    work_dir = str(tmp_path_factory.mktemp('pretrain_run'))
    return run_pretraining(work_dir, TINY, img_size=64, patch_size=16)
