# Copyright (c) mkd_mm contributors. All rights reserved.
import os.path as osp


def register_config_scope() -> None:
    """Let configs inherit ours with ``_base_ = 'mkd_mm::dbot/....py'``.

    mmengine resolves ``pkg::path`` only for the packages in its
    ``MODULE2PACKAGE`` table and then reads ``<package>/.mim/configs``
    (shipped by ``setup.py``). This adds mkd_mm to the table; it takes effect
    once :mod:`mkd_mm` is imported (``tools/train.py`` does so before parsing
    a config).
    """
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault('mkd_mm', 'mkd_mm')


def package_config_root() -> str:
    """Folder of the configs shipped with the installed package."""
    return osp.join(osp.dirname(osp.dirname(__file__)), '.mim', 'configs')
