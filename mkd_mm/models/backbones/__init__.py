# Copyright (c) mkd_mm contributors. All rights reserved.
from .mkd_vit import MKDViT
from .teacher_vit import TeacherViT

__all__ = ['MKDViT', 'TeacherViT']
