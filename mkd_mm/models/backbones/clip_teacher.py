# Copyright (c) mkd_mm contributors. All rights reserved.
import copy
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmpretrain.models.utils.clip_generator_helper import \
    VisionTransformer as CLIPVisionTransformer
from mmpretrain.registry import MODELS

from ..utils.clip_loading import load_clip_visual_weights

#: OpenAI CLIP image towers (``heads = width // 64`` as in OpenAI's
#: ``build_model``); ``pretrain_img_size`` is the grid of the released
#: ``positional_embedding``.
CLIP_ARCHS = {
    'b16':
    dict(
        width=768,
        layers=12,
        heads=12,
        patch_size=16,
        output_dim=512,
        pretrain_img_size=224),
    'b32':
    dict(
        width=768,
        layers=12,
        heads=12,
        patch_size=32,
        output_dim=512,
        pretrain_img_size=224),
    'l14':
    dict(
        width=1024,
        layers=24,
        heads=16,
        patch_size=14,
        output_dim=768,
        pretrain_img_size=224),
    'l14-336':
    dict(
        width=1024,
        layers=24,
        heads=16,
        patch_size=14,
        output_dim=768,
        pretrain_img_size=336),
}
_ALIASES = {
    'vit-b/16': 'b16',
    'vit-b-16': 'b16',
    'vit-b/32': 'b32',
    'vit-b-32': 'b32',
    'vit-l/14': 'l14',
    'vit-l-14': 'l14',
    'vit-l/14@336px': 'l14-336',
    'vit-l-14-336': 'l14-336',
}

#: CLIP's normalisation (OpenAI ``clip.py`` ``_transform``) on 0-255 pixels
CLIP_MEAN = tuple(255 * m for m in (0.48145466, 0.4578275, 0.40821073))
CLIP_STD = tuple(255 * s for s in (0.26862954, 0.26130258, 0.27577711))


def _to_2tuple(x: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(x, int):
        return (x, x)
    return tuple(x)


@MODELS.register_module()
class CLIPTeacher(BaseModule):
    """Frozen OpenAI CLIP image tower computing patch-token targets.

    The teacher of the dBOT data-richer recipe (`Exploring Target
    Representations for Masked Autoencoders
    <https://arxiv.org/abs/2209.03917>`_, Sec. 6.2, Tab. 9), as in the
    official ``beit`` branch (``tokenizer/clip_encoder.py``, ``clip/model.py``
    with ``post_patch_norm=True``):

    1. the input is the **un-normalised** RGB crop on the 0-255 scale
       (``(B, 3, H, W)``); if its size differs from ``img_size`` it is
       resized (bicubic, antialiased like PIL, clamped to [0, 255]), e.g.
       224 -> 196 for a CLIP-L/14 teacher of a ViT-L/16 student;
    2. it is normalised with CLIP's mean/std (``mean``/``std``);
    3. conv patch embedding, class embedding, ``positional_embedding``
       (bicubic-interpolated if the grid differs from the checkpoint's, with
       the official DINO-style ``+0.1`` offset in the scale factor),
       ``ln_pre``, the residual attention blocks;
    4. **all** tokens go through ``ln_post`` and then ``@ proj`` (the "target
       w/ [LN]" case); with ``post_norm=False`` only the class token is
       normalised (the official ``--post_patch_norm false``);
    5. the class-token output is discarded: ``(B, N, output_dim)``.

    The tower is mmpretrain's CLIP ``VisionTransformer``
    (``clip_generator_helper``, used by MILAN/EVA) held as ``self.visual``,
    so the parameter names are exactly OpenAI's ``visual.*`` keys. Weights
    are loaded strictly from a local plain state dict
    (``init_cfg=dict(type='Pretrained', checkpoint=PATH)``), see
    :func:`load_clip_visual_weights`; nothing is downloaded.

    Args:
        arch (str | dict): ``'b16'`` (CLIP ViT-B/16, 512-d output),
            ``'b32'``, ``'l14'`` (ViT-L/14, 768-d) or ``'l14-336'``, or a dict
            with ``width``, ``layers``, ``patch_size``, ``output_dim``,
            ``pretrain_img_size`` and optionally ``heads`` (default
            ``width // 64``). Defaults to 'b16'.
        img_size (int | tuple): Size of the teacher input. Defaults to 224.
        mean (Sequence[float]): CLIP mean on 0-255 RGB pixels.
        std (Sequence[float]): CLIP std on 0-255 RGB pixels.
        post_norm (bool): ``ln_post`` on all tokens. Defaults to True.
        interpolate_offset (float): Offset added to the target grid in the
            scale factor of the position-embedding interpolation (official
            0.1; 0 interpolates to the exact size). Defaults to 0.1.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` plus optionally ``allow_unsafe=True`` (trust a
            file that needs full unpickling). Defaults to None (random
            weights; only useful in tests).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b16',
                 img_size: Union[int, Sequence[int]] = 224,
                 mean: Sequence[float] = CLIP_MEAN,
                 std: Sequence[float] = CLIP_STD,
                 post_norm: bool = True,
                 interpolate_offset: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            name = _ALIASES.get(arch.lower(), arch.lower())
            if name not in CLIP_ARCHS:
                raise ValueError(f'Unknown CLIP arch {arch!r}; choose from '
                                 f'{sorted(CLIP_ARCHS)} or give a dict.')
            arch = CLIP_ARCHS[name]
        arch = copy.deepcopy(dict(arch))
        required = {
            'width', 'layers', 'patch_size', 'output_dim', 'pretrain_img_size'
        }
        if not required <= set(arch):
            raise ValueError(f'A CLIP arch dict needs the keys {required}, '
                             f'got {sorted(arch)}.')
        heads = arch.get('heads') or arch['width'] // 64
        self.arch = dict(arch, heads=heads)
        self.embed_dims = arch['width']
        self.out_dims = arch['output_dim']
        self.patch_size = arch['patch_size']
        self.pretrain_img_size = arch['pretrain_img_size']
        self.img_size = _to_2tuple(img_size)
        self.patch_resolution = (self.img_size[0] // self.patch_size,
                                 self.img_size[1] // self.patch_size)
        self.post_norm = post_norm
        self.interpolate_offset = interpolate_offset

        self.visual = CLIPVisionTransformer(
            input_resolution=self.pretrain_img_size,
            patch_size=self.patch_size,
            width=self.embed_dims,
            layers=arch['layers'],
            heads=heads,
            output_dim=self.out_dims,
            finetune=False)
        # no attention maps needed (mmpretrain's last block returns them)
        for block in self.visual.transformer.resblocks:
            block.return_attention = False
        self.register_buffer(
            'mean',
            torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1),
            persistent=False)
        self.register_buffer(
            'std',
            torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1),
            persistent=False)

    @property
    def num_patches(self) -> int:
        """Number of patch tokens the teacher returns."""
        return self.patch_resolution[0] * self.patch_resolution[1]

    def init_weights(self) -> None:
        """Load the CLIP image tower strictly (or keep random weights)."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            report = load_clip_visual_weights(
                self.visual,
                cfg['checkpoint'],
                allow_unsafe=cfg.get('allow_unsafe', False))
            print_log(f'CLIP teacher loaded: {report}', logger='current')
        elif cfg is not None:
            raise ValueError('`CLIPTeacher.init_cfg` must be None or '
                             f"dict(type='Pretrained', ...), got {cfg}")
        self._is_init = True

    def positional_embedding(self, grid: Tuple[int, int]) -> torch.Tensor:
        """Position embedding ``(1 + gh * gw, width)`` for a patch grid.

        Args:
            grid (Tuple[int, int]): ``(gh, gw)`` of the input.

        Returns:
            torch.Tensor: The checkpoint's embedding, bicubic-interpolated if
            the grid differs (the class slot is kept).
        """
        pos = self.visual.positional_embedding
        n = pos.shape[0] - 1
        side = int(round(math.sqrt(n)))
        if tuple(grid) == (side, side):
            return pos
        gh, gw = grid
        patch = pos[1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        if self.interpolate_offset:
            patch = F.interpolate(
                patch.float(),
                scale_factor=((gh + self.interpolate_offset) / side,
                              (gw + self.interpolate_offset) / side),
                mode='bicubic',
                align_corners=False)
        else:
            patch = F.interpolate(
                patch.float(),
                size=(gh, gw),
                mode='bicubic',
                align_corners=False)
        assert patch.shape[-2:] == (gh, gw), patch.shape
        patch = patch.permute(0, 2, 3, 1).reshape(gh * gw, -1).to(pos.dtype)
        return torch.cat([pos[:1], patch], dim=0)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Resize to ``img_size`` if needed and apply CLIP's normalisation.

        Args:
            x (torch.Tensor): Un-normalised RGB images on the 0-255 scale.

        Returns:
            torch.Tensor: The CLIP input.
        """
        x = x.float()
        if tuple(x.shape[-2:]) != self.img_size:
            x = F.interpolate(
                x,
                size=self.img_size,
                mode='bicubic',
                align_corners=False,
                antialias=True).clamp_(0, 255)
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the targets.

        Args:
            x (torch.Tensor): Un-normalised RGB images ``(B, 3, H, W)`` on the
                0-255 scale.

        Returns:
            torch.Tensor: Patch-token targets ``(B, N, output_dim)`` (the
            class token is dropped).
        """
        v = self.visual
        x = self.preprocess(x)
        x = v.conv1(x.to(v.conv1.weight.dtype))
        grid = tuple(x.shape[-2:])
        x = x.flatten(2).transpose(1, 2)  # (B, N, C)
        cls = v.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1)
        x = x + self.positional_embedding(grid).to(x.dtype)
        x = v.ln_pre(x)
        x = x.permute(1, 0, 2)  # NLD -> LND
        for block in v.transformer.resblocks:
            x = block(x)
        x = x.permute(1, 0, 2)  # LND -> NLD
        if self.post_norm:
            x = v.ln_post(x)
        else:
            x = torch.cat([v.ln_post(x[:, :1]), x[:, 1:]], dim=1)
        x = x @ v.proj
        return x[:, 1:]
