# Copyright (c) mkd_mm contributors. All rights reserved.
"""Shrink a real config the way a user would to try it on a CPU.

:func:`write_override` writes a small config file that inherits the real one
(``_base_ = '<path of the real config>'``) and overrides only what a user
trying the config on one CPU and the demo data must change: model sizes
(tiny widths and depths), image sizes, data roots and class lists, batch
sizes and worker counts, run lengths (iterations, epochs, stage ends),
``SyncBN`` -> ``BN`` and AMP -> fp32 (no GPU), and checkpoint paths. The
pipelines, dataloaders (samplers, collate functions), hooks, runner, loops
and optimizer constructors of the real config are inherited untouched: the
override is computed as the difference between the real config and its
shrunk copy, so it names exactly the keys that change.

Families (by ``model.type``): pre-training (``DBOT``, ``DMAE``, ``MAE``,
``DBOTCLIP``), ImageNet classification (``ImageClassifier`` and subclasses),
Cascade Mask R-CNN (``CascadeRCNN``) and UperNet (``EncoderDecoder``).
"""
import copy
import os.path as osp
import pprint
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
CONFIG_ROOT = REPO / 'configs'

#: ``model.type`` -> family
FAMILIES = {
    'DBOT': 'pretrain',
    'DMAE': 'pretrain',
    'MAE': 'pretrain',
    'DBOTCLIP': 'pretrain',
    'ImageClassifier': 'classification',
    'OfficialCompatClassifier': 'classification',
    'CascadeRCNN': 'detection',
    'EncoderDecoder': 'segmentation',
}


def all_configs() -> List[str]:
    """Every runnable config file under ``configs/`` (not ``_base_``).

    Returns:
        List[str]: Paths relative to the repository root, sorted.
    """
    return sorted(
        str(p.relative_to(REPO)) for p in CONFIG_ROOT.rglob('*.py')
        if '_base_' not in p.parts)


@dataclass
class Context:
    """Where the shrunk run finds its inputs.

    Args:
        demo_root (str): Root of the demo data (``imagenet/``, ``coco/``,
            ``ade/``).
        checkpoints (Dict[str, str]): Replacement for every
            ``init_cfg.checkpoint`` by key: ``'teacher'`` (pre-training
            teachers), ``'clip'`` (CLIP teachers), ``'backbone'``
            (fine-tuning/transfer backbones). A missing key keeps the
            config's path (a test that writes it there itself).
        iters (int): Training iterations (per stage for multi-stage
            pre-training). Defaults to 2.
        batch_size (int): Per-process batch. Defaults to 2.
        extra (Dict[str, Any]): Top-level keys merged into the override as
            they are (e.g. ``work_dir``).
    """
    demo_root: str
    checkpoints: Dict[str, str] = field(default_factory=dict)
    iters: int = 2
    batch_size: int = 2
    extra: Dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# generic helpers
# --------------------------------------------------------------------------
def _plain(obj: Any) -> Any:
    """ConfigDicts/tuples -> plain dicts/lists/tuples (for diff and repr)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v) for v in obj)
    return obj


def config_diff(base: Any, new: Any) -> Any:
    """The mmengine override that turns ``base`` into ``new``.

    Dicts merge key by key (``_delete_=True`` where a key disappears or a
    non-dict becomes a dict); anything else (lists included) is replaced.

    Args:
        base (Any): Value in the real config.
        new (Any): Value in the shrunk config.

    Returns:
        Any: The override value.
    """
    if not isinstance(new, dict):
        return new
    if not isinstance(base, dict) or set(base) - set(new):
        return dict(new, _delete_=True)
    return {
        k: config_diff(base.get(k), v)
        for k, v in new.items() if k not in base or base[k] != v
    }


def _walk(obj: Any):
    """Every dict in a config tree."""
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v)


def _cpu_only(cfg: dict) -> None:
    """SyncBN -> BN, AMP -> fp32 (what a single CPU process needs)."""
    for d in _walk(cfg):
        if d.get('type') == 'SyncBN':
            d['type'] = 'BN'
    ow = cfg.get('optim_wrapper')
    if isinstance(ow, dict) and ow.get('type') == 'AmpOptimWrapper':
        ow['type'] = 'OptimWrapper'
        for key in ('loss_scale', 'dtype'):
            ow.pop(key, None)


def _loader(cfg: dict, name: str, ctx: Context, num: int) -> Optional[dict]:
    """Small batches, no workers and ``num`` samples on a dataloader."""
    loader = cfg.get(name)
    if not isinstance(loader, dict):
        return None
    loader['batch_size'] = ctx.batch_size if name == 'train_dataloader' \
        else 1
    loader['num_workers'] = 0
    loader['persistent_workers'] = False
    dataset = loader['dataset']
    while 'dataset' in dataset:  # wrappers (RepeatDataset, ...)
        dataset = dataset['dataset']
    dataset['indices'] = num
    return dataset


def _resize_pipeline(pipeline: List[dict], size: int) -> None:
    """Classification pipelines: every output size becomes ``size``."""
    for t in _walk(pipeline):
        kind = t.get('type', '')
        if kind in ('RandomResizedCrop', 'EfficientNetRandomCrop'):
            t['scale'] = size
        elif kind == 'ResizeEdge':
            t['scale'] = size * 256 // 224
        elif kind in ('CenterCrop', 'EfficientNetCenterCrop'):
            t['crop_size'] = size
        elif kind == 'Resize' and 'scale' in t:
            t['scale'] = size


def _scale_sizes(pipeline: List[dict], factor: float) -> None:
    """Detection/segmentation pipelines: every pixel size times ``factor``.

    ``1333``-style long-side caps are scaled too, so keep-ratio resizes keep
    their aspect behaviour.
    """

    def scaled(v):
        if isinstance(v, (list, tuple)) and v and isinstance(
                v[0], (list, tuple)):
            return [scaled(x) for x in v]
        if isinstance(v, (list, tuple)):
            return tuple(max(8, int(round(x * factor))) for x in v)
        return max(8, int(round(v * factor)))

    for t in _walk(pipeline):
        for key in ('scale', 'scales', 'crop_size', 'img_scale'):
            if key in t and t[key] is not None:
                t[key] = scaled(t[key])


def _set_checkpoints(model: dict, part: str, path: Optional[str]) -> None:
    init = (model.get(part) or {}).get('init_cfg')
    if path is not None and isinstance(init, dict) and \
            init.get('type') == 'Pretrained':
        init['checkpoint'] = path


# --------------------------------------------------------------------------
# families
# --------------------------------------------------------------------------
def _shrink_pretrain(cfg: dict, ctx: Context) -> None:
    from mkd_mm.utils.benchmark import shrink_model_cfg
    model = cfg['model'] = _plain(shrink_model_cfg(cfg['model']))
    size = model['backbone']['img_size']
    clip = model['type'] == 'DBOTCLIP'
    _set_checkpoints(model, 'teacher',
                     ctx.checkpoints.get('clip' if clip else 'teacher'))
    dataset = _loader(cfg, 'train_dataloader', ctx,
                      ctx.iters * ctx.batch_size)
    dataset['data_root'] = osp.join(ctx.demo_root, 'imagenet')
    _resize_pipeline(dataset['pipeline'], size)
    for t in _walk(dataset['pipeline']):
        if t.get('type') == 'BEiTMaskGenerator':
            grid = size // model['backbone']['patch_size']
            t.update(
                input_size=grid,
                num_masking_patches=grid * grid // 2,
                min_num_patches=1)
    # stages of one epoch each (ctx.iters iterations), warm-up inside
    stages = 1
    for d in _walk(cfg):
        if 'stage_ends' in d:
            stages = max(stages, len(d['stage_ends']))
    for d in _walk(cfg):
        if 'stage_ends' in d:
            d['stage_ends'] = list(range(1, len(d['stage_ends']) + 1))
        if d.get('type') == 'StagedWarmupCosineLR':
            d['warmup'] = 0.5
    cfg['train_cfg']['max_epochs'] = stages
    cfg['default_hooks']['logger'] = dict(
        cfg['default_hooks'].get('logger', {}), interval=1)
    _cpu_only(cfg)


def _shrink_classification(cfg: dict, ctx: Context) -> None:
    from mkd_mm.testing.shrink import tiny_arch
    model = cfg['model']
    bb = model['backbone']
    bb['arch'] = tiny_arch(bb.get('arch', 'b'), 2)
    bb.update(img_size=32, patch_size=8)
    if bb.get('frozen_stages', -1) > 0:  # linear probing: all blocks
        bb['frozen_stages'] = 2
    width = bb['arch']['embed_dims']
    _set_checkpoints(model, 'backbone', ctx.checkpoints.get('backbone'))
    _set_checkpoints(model, 'head', ctx.checkpoints.get('backbone'))
    model['head']['in_channels'] = width
    model['head']['num_classes'] = 10
    if model.get('neck') and 'input_features' in model['neck']:
        model['neck']['input_features'] = width
    if 'data_preprocessor' in cfg and 'num_classes' in cfg[
            'data_preprocessor']:
        cfg['data_preprocessor']['num_classes'] = 10
    if 'num_classes' in (model.get('data_preprocessor') or {}):
        model['data_preprocessor']['num_classes'] = 10
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = _loader(cfg, name, ctx, ctx.iters * ctx.batch_size
                          if name == 'train_dataloader' else 4)
        if dataset is None:
            continue
        dataset['data_root'] = osp.join(ctx.demo_root, 'imagenet')
        dataset['ann_file'] = 'meta/{}.txt'.format(
            'train' if name == 'train_dataloader' else 'val')
        dataset['data_prefix'] = 'train' if name == 'train_dataloader' \
            else 'val'
        dataset['metainfo'] = dict(
            _demo_base('demo_imagenet_eval.py').demo_imagenet_metainfo)
        _resize_pipeline(dataset['pipeline'], 32)
    for d in _walk(cfg.get('val_evaluator', {})):
        if d.get('type') == 'Accuracy':
            d['topk'] = (1, 5)
    cfg['train_cfg']['max_epochs'] = 1
    cfg['default_hooks']['logger'] = dict(
        cfg['default_hooks'].get('logger', {}), interval=1)
    _cpu_only(cfg)


def _tiny_transfer_backbone(model: dict, ctx: Context) -> int:
    from mkd_mm.testing.shrink import tiny_arch
    bb = model['backbone']
    bb['arch'] = tiny_arch(bb.get('arch', 'b'), 4)
    width = bb['arch']['embed_dims']
    bb['out_indices'] = (0, 1, 2, 3)
    if 'rel_pos_grid' in bb:
        bb['rel_pos_grid'] = (8, 8)
    _set_checkpoints(model, 'backbone', ctx.checkpoints.get('backbone'))
    return width


def _shrink_detection(cfg: dict, ctx: Context) -> None:
    meta = _demo_base('demo_coco_instance.py').demo_coco_metainfo
    model = cfg['model']
    width = _tiny_transfer_backbone(model, ctx)
    model['backbone']['img_size'] = (128, 128)
    model['neck'][0]['embed_dim'] = width
    model['neck'][1]['in_channels'] = [width] * 4
    model['neck'][1]['out_channels'] = ch = 64
    model['rpn_head'].update(in_channels=ch, feat_channels=ch)
    roi = model['roi_head']
    roi['bbox_roi_extractor']['out_channels'] = ch
    roi['mask_roi_extractor']['out_channels'] = ch
    for head in roi['bbox_head']:
        head.update(
            num_classes=len(meta['classes']),
            in_channels=ch,
            conv_out_channels=ch,
            fc_out_channels=128)
    roi['mask_head'].update(
        num_classes=len(meta['classes']), in_channels=ch,
        conv_out_channels=ch)
    model['train_cfg']['rpn_proposal'].update(nms_pre=200, max_per_img=100)
    for stage in model['train_cfg']['rcnn']:
        stage['sampler']['num'] = 32
    model['test_cfg']['rpn'].update(nms_pre=200, max_per_img=50)
    model['test_cfg']['rcnn'].update(max_per_img=20)
    coco = osp.join(ctx.demo_root, 'coco')
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = _loader(cfg, name, ctx, ctx.iters * ctx.batch_size
                          if name == 'train_dataloader' else 4)
        if dataset is None:
            continue
        dataset['data_root'] = coco + '/'
        dataset['metainfo'] = dict(meta)
        _scale_sizes(dataset['pipeline'], 128 / 800)
    for name in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(name)
        if isinstance(ev, dict) and 'ann_file' in ev:
            ev['ann_file'] = osp.join(
                coco, 'annotations', osp.basename(ev['ann_file']))
    _short_schedule(cfg, ctx)
    _cpu_only(cfg)


def _shrink_segmentation(cfg: dict, ctx: Context) -> None:
    meta = _demo_base('demo_ade20k.py').demo_ade_metainfo
    n = len(meta['classes'])
    model = cfg['model']
    width = _tiny_transfer_backbone(model, ctx)
    crop = (64, 64)
    model['backbone']['img_size'] = crop
    model['data_preprocessor']['size'] = crop
    if 'data_preprocessor' in cfg:
        cfg['data_preprocessor']['size'] = crop
    model['neck']['embed_dim'] = width
    model['decode_head'].update(
        in_channels=[width] * 4, channels=32, num_classes=n)
    model['auxiliary_head'].update(in_channels=width, channels=16,
                                   num_classes=n)
    model['test_cfg'] = dict(mode='slide', crop_size=crop, stride=(48, 48))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = _loader(cfg, name, ctx, ctx.iters * ctx.batch_size
                          if name == 'train_dataloader' else 3)
        if dataset is None:
            continue
        dataset['data_root'] = osp.join(ctx.demo_root, 'ade',
                                        'ADEChallengeData2016')
        dataset['metainfo'] = dict(meta)
        _scale_sizes(dataset['pipeline'], 64 / 512)
    _short_schedule(cfg, ctx)
    _cpu_only(cfg)


def _short_schedule(cfg: dict, ctx: Context) -> None:
    """A few iterations (epoch- or iteration-based loop kept)."""
    paramwise = cfg['optim_wrapper'].get('paramwise_cfg') or {}
    if 'num_layers' in paramwise:  # layer decay over the tiny depth
        paramwise['num_layers'] = 4
    train_cfg = cfg['train_cfg']
    if 'max_iters' in train_cfg:
        train_cfg['max_iters'] = ctx.iters
        train_cfg['val_interval'] = ctx.iters
        ckpt = cfg['default_hooks']['checkpoint']
        ckpt['interval'] = ctx.iters
    else:
        train_cfg['max_epochs'] = 1
    cfg['default_hooks']['logger'] = dict(
        cfg['default_hooks'].get('logger', {}), interval=1)


def _demo_base(name: str):
    from mmengine.config import Config
    return Config.fromfile(
        str(CONFIG_ROOT / '_base_' / 'datasets' / name),
        import_custom_modules=False)


SHRINKERS = {
    'pretrain': _shrink_pretrain,
    'classification': _shrink_classification,
    'detection': _shrink_detection,
    'segmentation': _shrink_segmentation,
}


def load_real_config(config: str):
    """The real config as the tools read it (``mkd_mm::`` scope known)."""
    import mkd_mm  # noqa: F401  (registers the config scope, like the tools)
    from mmengine.config import Config
    return Config.fromfile(str(REPO / config))


def family_of(cfg) -> str:
    """The family of a loaded config (by ``model.type``).

    Raises:
        KeyError: For a model type no shrinker knows (a new family needs
            one here before its configs are covered).
    """
    kind = str(cfg.model.type).split('.')[-1]
    if kind not in FAMILIES:
        raise KeyError(f'no CPU shrinker for model type {kind!r}; add one to '
                       'tests/test_user_paths/cpu_overrides.py')
    return FAMILIES[kind]


def override_dict(config: str, ctx: Context) -> Dict[str, Any]:
    """The override that shrinks ``config`` (see the module docstring)."""
    real = load_real_config(config)
    base = _plain(real.to_dict())
    new = copy.deepcopy(base)
    SHRINKERS[family_of(real)](new, ctx)
    out = config_diff(base, new)
    out.update(copy.deepcopy(ctx.extra))
    return out


def write_override(config: str, out: str, ctx: Context) -> str:
    """Write the CPU override config of ``config`` to ``out``.

    Args:
        config (str): Real config, relative to the repository root.
        out (str): File to write.
        ctx (Context): Data root, checkpoints, lengths.

    Returns:
        str: ``out``.
    """
    override = override_dict(config, ctx)
    lines = [
        '# CPU / demo-data override of ' + config + ' (tests/test_user_paths)',
        f'_base_ = {str(REPO / config)!r}',
    ]
    for key, value in override.items():
        lines.append(f'{key} = {pprint.pformat(value, width=78)}')
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text('\n'.join(lines) + '\n')
    return out
