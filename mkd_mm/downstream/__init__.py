# Copyright (c) mkd_mm contributors. All rights reserved.
"""Transfer of mkd_mm pre-trained ViTs to downstream libraries.

Sub-packages register modules in the registries of one library each and are
imported only by the configs that need them (``custom_imports``):

- :mod:`mkd_mm.downstream.mmpretrain`: ImageNet fine-tuning / linear probing
  (imports mmpretrain only);
- :mod:`mkd_mm.downstream.mmdet`: Cascade Mask R-CNN on COCO (imports mmdet);
- :mod:`mkd_mm.downstream.mmseg`: UperNet on ADE20K (imports mmseg).

This package itself imports neither mmdet nor mmseg.
"""
