# Copyright (c) mkd_mm contributors. All rights reserved.
"""Layer-wise learning-rate decay for ViT backbones with mmpretrain names.

The rule (dBOT / MAE / BEiT fine-tuning: ``dbot:util/lr_decay.py`` and the
det/seg ``LayerDecayOptimizerConstructor``; docs/transfer.md, section 6):
with ``L`` blocks, depth 0 is the stem (``patch_embed``, ``cls_token``,
``pos_embed``), depth ``i + 1`` is block ``i`` (``backbone.layers.{i}.*``),
and depth ``L + 1`` is everything else (neck, heads, norms after the
blocks). The lr multiplier is ``rate ** (L + 1 - depth)``, so the heads
train at the base lr.

Neither mmdet's core constructor (ConvNeXt only) nor ViTDet's (``.blocks.``
names) nor mmseg's (class-name check, weight-decays ``pos_embed`` and
``cls_token`` because it compares unprefixed names) fits our backbones, so
:class:`ViTLayerDecayOptimWrapperConstructorBase` implements the rule once;
mmdet and mmseg register thin subclasses.
"""
import re
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

_BLOCK = re.compile(r'^layers\.(\d+)\.')


def get_vit_layer_depth(param_name: str,
                        num_layers: int,
                        prefix: str = 'backbone.') -> Tuple[int, int]:
    """Layer-decay depth of a parameter with mmpretrain ViT names.

    Args:
        param_name (str): Full parameter name, e.g.
            ``'backbone.layers.3.attn.qkv.weight'``.
        num_layers (int): Number of transformer blocks ``L``.
        prefix (str): Prefix of the backbone. Defaults to ``'backbone.'``.

    Returns:
        tuple[int, int]: ``(depth, L + 2)``.

    Raises:
        ValueError: If a block index is ``>= num_layers`` (the configured
            ``num_layers`` does not match the backbone).
    """
    max_depth = num_layers + 2
    if not param_name.startswith(prefix):
        return max_depth - 1, max_depth
    name = param_name[len(prefix):]
    if name in ('cls_token', 'pos_embed', 'mask_token') \
            or name.startswith('patch_embed.'):
        return 0, max_depth
    match = _BLOCK.match(name)
    if match:
        block = int(match.group(1))
        if block >= num_layers:
            raise ValueError(
                f'Parameter {param_name} belongs to block {block}, but the '
                f'layer decay is configured for num_layers={num_layers}. Set '
                'optim_wrapper.paramwise_cfg.num_layers to the backbone '
                'depth.')
        return block + 1, max_depth
    return max_depth - 1, max_depth


class ViTLayerDecayOptimWrapperConstructorBase(DefaultOptimWrapperConstructor):
    """Optimizer constructor with ViT layer-wise lr decay.

    ``paramwise_cfg`` fields:

    - ``num_layers`` (int): number of backbone blocks ``L``. It is checked
      against ``model.backbone.num_layers`` (and the block indices in the
      parameter names); a mismatch raises a ``ValueError``. Optional: taken
      from the backbone when omitted.
    - ``layer_decay_rate`` (float): the decay ``rate``. Defaults to 1.
    - ``no_decay_names`` (Sequence[str]): backbone parameter names (without
      the prefix) that get no weight decay besides every 1-D parameter and
      every ``*.bias``. Defaults to ``('pos_embed', 'cls_token')``. The
      official det/seg code weight-decays these two (its
      ``LayerDecayOptimizerConstructor`` checks the names without the
      ``backbone.`` prefix; docs/transfer.md, section 4);
      pass ``()`` to reproduce that.
    - ``backbone_prefix`` (str): defaults to ``'backbone.'``.

    Parameters are grouped by (depth, decay); every group carries
    ``lr_scale``, ``layer_id`` and ``param_names`` for inspection, and the
    full table is logged.
    """

    _KNOWN_KEYS = ('num_layers', 'layer_decay_rate', 'no_decay_names',
                   'backbone_prefix')

    def _validate_cfg(self) -> None:
        """Reject configs that would silently train without layer decay."""
        super()._validate_cfg()
        unknown = set(self.paramwise_cfg) - set(self._KNOWN_KEYS)
        if unknown:
            raise ValueError(
                f'{type(self).__name__}: unknown paramwise_cfg key(s) '
                f'{sorted(unknown)}; known: {list(self._KNOWN_KEYS)} (mmdet '
                'calls the rate `decay_rate`, this constructor '
                '`layer_decay_rate`).')
        if 'layer_decay_rate' not in self.paramwise_cfg:
            raise ValueError(f'{type(self).__name__} needs '
                             'optim_wrapper.paramwise_cfg.layer_decay_rate.')

    def _resolve_num_layers(self, module: nn.Module, prefix: str) -> int:
        cfg_layers = self.paramwise_cfg.get('num_layers')
        backbone = getattr(module, prefix.rstrip('.'), None) \
            if prefix else module
        own = getattr(backbone, 'num_layers', None)
        names = [n for n, _ in module.named_parameters()]
        seen = [
            int(m.group(1)) for n in names if n.startswith(prefix)
            for m in [_BLOCK.match(n[len(prefix):])] if m
        ]
        found = max(seen) + 1 if seen else 0
        if cfg_layers is None:
            if own is None and not found:
                raise ValueError(
                    'Layer decay needs paramwise_cfg.num_layers: the model '
                    f'has no {prefix}num_layers and no {prefix}layers.N '
                    'parameters.')
            return int(own if own is not None else found)
        if own is not None and int(own) != int(cfg_layers):
            raise ValueError(
                f'optim_wrapper.paramwise_cfg.num_layers={cfg_layers} does '
                f'not match the backbone depth ({type(backbone).__name__} '
                f'has num_layers={own}).')
        if found and found != int(cfg_layers):
            raise ValueError(
                f'optim_wrapper.paramwise_cfg.num_layers={cfg_layers} does '
                f'not match the {found} blocks found in the parameter names '
                f'({prefix}layers.N).')
        return int(cfg_layers)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[bool] = None) -> None:
        """Add every trainable parameter of ``module`` to ``params``.

        Args:
            params (list[dict]): Param groups, extended in place.
            module (nn.Module): The whole model.
            prefix (str): Unused (the model is walked at once).
            is_dcn_module (bool, optional): Unused.
        """
        bb_prefix = self.paramwise_cfg.get('backbone_prefix', 'backbone.')
        num_layers = self._resolve_num_layers(module, bb_prefix)
        rate = float(self.paramwise_cfg.get('layer_decay_rate', 1.0))
        no_decay: Sequence[str] = tuple(
            self.paramwise_cfg.get('no_decay_names',
                                   ('pos_embed', 'cls_token')))
        groups: 'OrderedDict[str, dict]' = OrderedDict()
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            bare = name[len(bb_prefix):] if name.startswith(bb_prefix) \
                else None
            if param.ndim <= 1 or name.endswith('.bias') or (
                    bare is not None and bare in no_decay):
                decay_tag, wd = 'no_decay', 0.
            else:
                decay_tag, wd = 'decay', self.base_wd
            depth, max_depth = get_vit_layer_depth(name, num_layers, bb_prefix)
            key = f'layer_{depth}_{decay_tag}'
            if key not in groups:
                scale = rate**(max_depth - 1 - depth)
                groups[key] = dict(
                    params=[],
                    param_names=[],
                    lr=self.base_lr * scale,
                    lr_scale=scale,
                    layer_id=depth,
                    group_name=key)
                if wd is not None:
                    groups[key]['weight_decay'] = wd
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        params.extend(groups.values())
        lines = [
            f'Layer-wise lr decay: num_layers={num_layers}, rate={rate}, '
            f'base lr={self.base_lr}, no-decay names={list(no_decay)}'
        ]
        for key, group in sorted(
                groups.items(), key=lambda kv: kv[1]['layer_id']):
            lines.append(f'  {key}: lr_scale={group["lr_scale"]:.4g} '
                         f'weight_decay={group.get("weight_decay")} '
                         f'({len(group["params"])} params, e.g. '
                         f'{group["param_names"][0]})')
        print_log('\n'.join(lines), logger='current')
