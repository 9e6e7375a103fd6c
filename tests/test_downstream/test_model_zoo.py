# Copyright (c) mkd_mm contributors. All rights reserved.
"""Model zoo: mmpretrain's ModelHub lists our models and loads releases."""
import subprocess
import sys

import torch
from downstream_helpers import REPO, ReferenceOfficialViT, official_release

import mkd_mm  # noqa: F401
from mkd_mm.utils.model_zoo import register_model_index

ARCH = dict(embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96)
NAME = 'dbot_vit-base-p16_32xb32-coslr-100e_in1k'


def test_list_models_and_metadata():
    import mmpretrain
    from mmpretrain.apis import ModelHub
    register_model_index()
    register_model_index()  # idempotent
    names = mmpretrain.list_models('*dbot*')
    for name in (NAME, 'dbot_vit-large-p16_32xb32-coslr-50e_in1k',
                 'dbot_vit-huge-p14_32xb16-accum2-coslr-50e_in1k',
                 'dbot_vit-huge-p14_32xb8-accum4-coslr-10e_in1k-448px',
                 'dbot_vit-base-p16_8xb2048-linear-coslr-90e_in1k'):
        assert name in names, names
    assert 'dmae_vit-base-p16_8xb128-coslr-100e_in1k' in \
        mmpretrain.list_models('*dmae*')
    info = ModelHub.get(NAME)
    assert info.results[0].metrics['Top 1 Accuracy'] == 84.5
    assert info.weights.endswith('84.5_dbot_base_finetune.pth')
    assert info.config.model.type == 'OfficialCompatClassifier'


def test_get_model_loads_official_release(tmp_path):
    """get_model(name, pretrained=official dBOT fine-tuned file) works."""
    import mmpretrain
    register_model_index()
    torch.manual_seed(0)
    ref = ReferenceOfficialViT(ARCH, 64, 16, num_classes=1000).eval()
    path = str(tmp_path / '84.5_dbot_base_finetune.pth')
    torch.save(official_release(ref, with_decoder=False), path)
    # the zoo config, narrowed to the tiny reference through get_model kwargs
    model = mmpretrain.get_model(
        NAME,
        pretrained=path,
        backbone=dict(
            arch=dict(ARCH, _delete_=True), img_size=64, init_cfg=None),
        head=dict(in_channels=48))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, mode='tensor'), ref(x), rtol=1e-4, atol=1e-5)


def test_importing_mkd_mm_needs_no_mmdet_or_mmseg():
    """mkd_mm and its classification transfer import without mmdet/mmseg.

    (mmpretrain itself *tries* to import mmdet when it is installed; here
    both are made unimportable.)
    """
    code = ('import sys; sys.modules["mmdet"] = None; '
            'sys.modules["mmseg"] = None\n'
            'import mkd_mm, mkd_mm.downstream, mkd_mm.downstream.mmpretrain\n'
            'import mkd_mm.downstream.common\n'
            'from mkd_mm.utils.model_zoo import register_model_index\n'
            'register_model_index()\n'
            'import mkd_mm.utils.key_mapping\n'
            'print("ok")\n')
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0 and 'ok' in out.stdout, out.stderr[-2000:]


def test_every_benchmark_config_is_in_a_metafile():
    import glob
    import os.path as osp

    from modelindex.load_model_index import load
    configs = set()
    for meta in ('metafile.yml', 'mmdetection/metafile.yml',
                 'mmsegmentation/metafile.yml'):
        index = load(osp.join(REPO, 'configs', 'benchmarks', meta))
        index.build_models_with_collections()
        for model in index.models:
            assert osp.isfile(osp.join(REPO, model.config)), model.config
            assert osp.basename(model.config)[:-3] == model.name
            configs.add(model.config)
    on_disk = {
        osp.relpath(p, REPO)
        for p in glob.glob(
            osp.join(REPO, 'configs', 'benchmarks', '*', '*.py'))
    }
    assert on_disk == configs, on_disk ^ configs
