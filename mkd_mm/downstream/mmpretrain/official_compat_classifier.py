# Copyright (c) mkd_mm contributors. All rights reserved.
from collections.abc import Mapping

from mmengine.logging import print_log
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS

from mkd_mm.utils.key_mapping import (detect_layout, format_report,
                                      official_to_mmpretrain)


@MODELS.register_module()
class OfficialCompatClassifier(ImageClassifier):
    """``ImageClassifier`` that also loads official (timm-layout) checkpoints.

    The model-zoo entries of mkd_mm point at the official dBOT / DMAE
    releases, whose keys are timm's (``blocks.{i}.norm1``, ``fc_norm``,
    ``head``, under ``'model'``). A load-state-dict pre-hook recognises that
    layout and converts it on the fly (:func:`official_to_mmpretrain`), so
    ``mmpretrain.get_model(name, pretrained='84.5_dbot_base_finetune.pth')``
    and ``tools/test.py --checkpoint`` work on the release files directly.
    Keys with no classifier counterpart (decoder, projection heads) are
    dropped and reported. mmpretrain-layout checkpoints pass through
    unchanged. Arguments are those of ``ImageClassifier``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._register_load_state_dict_pre_hook(self._convert_official)

    @staticmethod
    def _convert_official(state_dict: dict, prefix: str, *args) -> None:
        """Rewrite an official state dict in place into mmpretrain names."""
        if prefix:
            return
        if 'model' in state_dict and isinstance(state_dict['model'], Mapping):
            inner = state_dict.pop('model')
            for key, value in inner.items():
                state_dict[key[len('module.'):] if key.
                           startswith('module.') else key] = value
        if detect_layout(state_dict) != 'official':
            return
        official = {
            k: state_dict.pop(k)
            for k in list(state_dict)
            if not k.startswith('data_preprocessor') and isinstance(k, str)
            and not k.startswith('backbone.') and not k.startswith('head.fc.')
        }
        converted, dropped = official_to_mmpretrain(
            official, prefix='backbone.', with_head=True)
        state_dict.update(converted)
        print_log(
            format_report(
                f'Converted an official (timm-layout) checkpoint: '
                f'{len(converted)} tensors mapped to mmpretrain names.', {
                    f'dropped ({k})': v
                    for k, v in dropped.items()
                }),
            logger='current')
