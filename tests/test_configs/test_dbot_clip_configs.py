# Copyright (c) mkd_mm contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS, TRANSFORMS

import mkd_mm  # noqa: F401
from mkd_mm.testing import shrink_dbot_clip_model, tiny_clip_state_dict

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# name -> (student arch, patch, CLIP arch, teacher px, default checkpoint,
#          patch grid, paper IN-1k top-1)
CONFIGS = {
    'vitb_clip-b16-teacher.py':
    ('base', 16, 'b16', 224, 'checkpoints/clip_vit-b16_openai.pth', 14, 85.7),
    'vitl_clip-l14-teacher.py':
    ('large', 16, 'l14', 196, 'checkpoints/clip_vit-l14_openai.pth', 14, 87.8),
    'vith_clip-l14-teacher.py':
    ('huge', 14, 'l14', 224, 'checkpoints/clip_vit-l14_openai.pth', 16, 88.5),
}


def _cfg(name):
    return Config.fromfile(osp.join(ROOT, 'configs', 'dbot', name))


@pytest.mark.parametrize('name', list(CONFIGS))
def test_recipe_values(name):
    arch, patch, clip, t_px, ckpt, grid, _ = CONFIGS[name]
    cfg = _cfg(name)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mkd_mm' in cfg.custom_imports['imports']
    m = cfg.model
    assert m.type == 'DBOTCLIP'
    bb = m.backbone
    assert (bb.type, bb.arch, bb.patch_size, bb.img_size) == ('MKDBEiTViT',
                                                              arch, patch, 224)
    assert bb.drop_path_rate == 0.1 and bb.layer_scale_init_value == 0.1
    assert bb.use_shared_rel_pos_bias and not bb.use_abs_pos_emb
    assert not bb.use_rel_pos_bias and bb.init_std == 0.02
    t = m.teacher
    assert (t.type, t.arch, t.img_size, t.post_norm) == ('CLIPTeacher', clip,
                                                         t_px, True)
    assert t.init_cfg == dict(type='Pretrained', checkpoint=ckpt)
    assert m.head.loss == dict(type='NegativeCosineLoss', eps=1e-6)

    # optimisation: 3e-3 absolute at 4096 images per step
    ow = cfg.optim_wrapper
    assert ow.type == 'AmpOptimWrapper'
    opt = ow.optimizer
    assert (opt.type, opt.lr, tuple(opt.betas), opt.eps,
            opt.weight_decay) == ('AdamW', 3e-3, (0.9, 0.98), 1e-6, 0.05)
    assert ow.clip_grad == dict(max_norm=3.0)
    assert cfg.train_dataloader.batch_size * 8 * ow.accumulative_counts \
        == 4096
    sched = cfg.param_scheduler
    assert len(sched) == 1
    assert sched[0].type == 'StagedWarmupCosineLR'
    assert (sched[0].stage_ends, sched[0].warmup,
            sched[0].eta_min) == ([1600], 10, 1e-5)
    assert cfg.train_cfg.max_epochs == 1600
    assert not any(h['type'] == 'BootstrapTeacherHook'
                   for h in cfg.custom_hooks)  # 1 stage, fixed teacher

    # data: IN mean/std for the student, ColorJitter -> flip -> RRC(0.4, 1)
    dp = cfg.data_preprocessor
    assert dp.mean == [123.675, 116.28, 103.53] and dp.to_rgb
    pipe = cfg.train_dataloader.dataset.pipeline
    assert [p['type'] for p in pipe] == [
        'StrictLoadImageFromFile', 'ColorJitter', 'RandomFlip', 'RandomResizedCrop',
        'BEiTMaskGenerator', 'PackInputs'
    ]
    assert (pipe[1].brightness, pipe[1].contrast,
            pipe[1].saturation) == (0.4, 0.4, 0.4) and pipe[1].get('hue',
                                                                   0) == 0
    assert (pipe[3].scale, tuple(pipe[3].crop_ratio_range),
            pipe[3].interpolation) == (224, (0.4, 1.0), 'bicubic')
    gen = pipe[4]
    assert (gen.input_size, gen.num_masking_patches, gen.min_num_patches,
            gen.max_num_patches, gen.min_aspect) == (grid, 78, 16, None, 0.3)
    assert pipe[5].algorithm_keys == ['mask']


@pytest.mark.parametrize('name', list(CONFIGS))
def test_pipeline_gives_78_masked_patches(name):
    """The configured block-wise mask on an image of its own size."""
    grid = CONFIGS[name][5]
    cfg = _cfg(name)
    pipeline = Compose([
        TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline[1:]
    ])
    rng = np.random.RandomState(0)
    np.random.seed(0)
    for h, w in ((300, 260), (224, 224)):
        img = rng.randint(0, 256, (h, w, 3), dtype=np.uint8)
        out = pipeline(dict(img=img, img_shape=(h, w), ori_shape=(h, w)))
        assert out['inputs'].shape == (3, 224, 224)
        mask = out['data_samples'].mask
        assert tuple(mask.shape) == (grid, grid)
        assert int(mask.sum()) == 78  # 0.40 of 196, 0.30 of 256 for H/14


@pytest.mark.parametrize('name', list(CONFIGS))
def test_config_builds_and_runs_one_loss(name, tmp_path):
    cfg = _cfg(name)
    model_cfg = shrink_dbot_clip_model(cfg.model.to_dict())
    t_arch = model_cfg['teacher']['arch']
    ckpt = str(tmp_path / 'clip.pth')
    torch.save(tiny_clip_state_dict(t_arch), ckpt)
    model_cfg['teacher']['init_cfg']['checkpoint'] = ckpt
    model_cfg['teacher_precision'] = 'fp32'
    model_cfg['data_preprocessor'] = cfg.data_preprocessor.to_dict()
    model = MODELS.build(model_cfg)
    model.init_weights()
    # the tiny teacher keeps the relation of the real one (L: 28 px / patch 7
    # from a 35 px checkpoint, like 196 / 14 from 224)
    assert model.teacher.num_patches == model.backbone.num_patches == 16
    if CONFIGS[name][3] == 196:
        assert model.teacher.pretrain_img_size != model.teacher.img_size[0]
    for k, v in model.teacher.visual.state_dict().items():
        assert torch.equal(v, tiny_clip_state_dict(t_arch)['visual.' + k])

    x = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, 3:9] = True
    loss = model.loss(x, mask=mask)['loss']
    assert loss.isfinite() and 0 < loss.item() < 2

    # weight-decay groups of the official optimizer (only the student)
    ow = cfg.optim_wrapper.to_dict()
    ow['type'] = 'OptimWrapper'  # AMP needs a GPU
    ow.pop('loss_scale')
    wrapper = build_optim_wrapper(model, ow)
    decay = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            decay[id(p)] = group['weight_decay']
    names = dict(model.named_parameters())
    assert not any(
        id(p) in decay for n, p in names.items() if n.startswith('teacher.'))
    expect = {
        'backbone.cls_token': 0.0,
        'backbone.mask_token': 0.05,
        'backbone.patch_embed.projection.weight': 0.05,
        'backbone.patch_embed.projection.bias': 0.0,
        'backbone.rel_pos_bias.relative_position_bias_table': 0.05,
        'backbone.layers.0.gamma_1': 0.0,
        'backbone.layers.0.ln1.weight': 0.0,
        'backbone.layers.0.attn.q_bias': 0.0,
        'backbone.layers.0.attn.v_bias': 0.0,
        'backbone.layers.0.attn.qkv.weight': 0.05,
        'backbone.layers.1.ffn.layers.1.weight': 0.05,
        'backbone.layers.1.ffn.layers.1.bias': 0.0,
        'backbone.ln1.weight': 0.0,
        'lm_head.weight': 0.05,
        'lm_head.bias': 0.0,
    }
    for n, wd in expect.items():
        assert decay[id(names[n])] == pytest.approx(wd), n
    student = [n for n in names if not n.startswith('teacher.')]
    assert all(id(names[n]) in decay for n in student)
    for n in student:
        flat = names[n].ndim == 1 or n.endswith('cls_token')
        assert (decay[id(names[n])] == 0) == flat, n


def test_metafile_lists_the_clip_recipe():
    with open(osp.join(ROOT, 'configs/dbot/metafile.yml')) as f:
        meta = yaml.safe_load(f)
    models = {m['Config']: m for m in meta['Models']}
    paper = {
        'vitb_clip-b16-teacher.py': (85.7, 53.6, 52.9, '85.7_clip_base'),
        'vitl_clip-l14-teacher.py': (87.8, 56.8, 56.2, '87.8_clip_large'),
        'vith_clip-l14-teacher.py': (88.5, None, None, '88.5_clip_huge'),
    }
    for name, (cls, det, seg, weights) in paper.items():
        entry = models[f'configs/dbot/{name}']
        assert entry['In Collection'] == 'dBOT'
        assert entry['Metadata']['Epochs'] == 1600
        assert entry['Metadata']['Batch Size'] == 4096
        metrics = {r['Task']: r['Metrics'] for r in entry['Results']}
        assert metrics['Image Classification']['Top 1 Accuracy'] == cls
        if det is not None:
            assert metrics['Object Detection']['box AP'] == det
            assert metrics['Semantic Segmentation']['mIoU'] == seg
        else:
            assert set(metrics) == {'Image Classification'}
        assert entry['Weights'] == (
            'https://lf3-nlp-opensource.bytetos.com/obj/nlp-opensource/'
            f'mmodal/dbot/{weights}_pre.pth')
