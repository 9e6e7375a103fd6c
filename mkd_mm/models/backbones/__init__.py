# Copyright (c) mkd_mm contributors. All rights reserved.
from .beit_student_vit import MKDBEiTViT
from .clip_teacher import CLIPTeacher
from .mkd_vit import MKDViT
from .teacher_vit import TeacherViT

__all__ = ['CLIPTeacher', 'MKDBEiTViT', 'MKDViT', 'TeacherViT']
