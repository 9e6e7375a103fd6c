# Copyright (c) mkd_mm contributors. All rights reserved.
"""Package wiring: registries, custom_imports, import isolation, versions."""
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _py(code):
    return subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                          capture_output=True, text=True)


def test_modules_register_into_mmpretrain():
    import mkd_mm  # noqa: F401
    from mmpretrain.registry import HOOKS, MODELS, PARAM_SCHEDULERS
    for name in ('DBOT', 'MKDViT', 'TeacherViT', 'DBOTDecoder',
                 'StandardizedSmoothL1Loss'):
        assert MODELS.get(name) is not None, name
    assert HOOKS.get('BootstrapTeacherHook') is not None
    assert HOOKS.get('RNGStateHook') is not None
    assert PARAM_SCHEDULERS.get('StagedWarmupCosineLR') is not None


def test_custom_imports_in_a_fresh_process():
    """A config in the mmpretrain scope finds our types via custom_imports
    alone, without importing mkd_mm by hand."""
    res = _py(
        'from mmengine.config import Config\n'
        'from mmengine.registry import init_default_scope\n'
        'from mmpretrain.registry import MODELS\n'
        'import sys\n'
        "cfg = Config.fromfile('configs/dbot/vitb_stage1.py')\n"
        "assert 'mkd_mm' in sys.modules\n"
        "init_default_scope(cfg.default_scope)\n"
        "print(MODELS.get(cfg.model.type).__name__)\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'DBOT'


def test_import_does_not_need_mmdet_or_mmseg():
    """mkd_mm imports with mmdet and mmseg made unimportable (mmpretrain
    itself imports mmdet optionally), and never imports mmseg."""
    res = _py(
        'import sys\n'
        "sys.modules['mmdet'] = None\n"
        "sys.modules['mmseg'] = None\n"
        'import mkd_mm\n'
        'print(mkd_mm.__version__)\n')
    assert res.returncode == 0, res.stderr
    res = _py('import sys, mkd_mm\nprint("mmseg" in sys.modules)\n')
    assert res.stdout.strip() == 'False'
    for path, _, files in __import__('os').walk(osp.join(ROOT, 'mkd_mm')):
        if 'downstream' in path:
            continue
        for f in files:
            if f.endswith('.py'):
                src = open(osp.join(path, f)).read()
                assert 'import mmdet' not in src and 'from mmdet' not in src
                assert 'import mmseg' not in src and 'from mmseg' not in src


def test_version_assert_message():
    res = _py('import mmcv\nmmcv.__version__ = "2.2.0"\nimport mkd_mm\n')
    assert res.returncode != 0
    assert 'mmcv==2.2.0 is used but incompatible' in res.stderr
    assert 'mmcv>=2.0.0,<2.2.0' in res.stderr


def test_pkg_scope_config_inheritance(tmp_path):
    """Installed users inherit our configs with `mkd_mm::` paths."""
    cfg_file = tmp_path / 'child.py'
    cfg_file.write_text("_base_ = 'mkd_mm::dbot/vitb_stage2.py'\n"
                        'train_cfg = dict(max_epochs=10)\n')
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.model.type == 'DBOT' and cfg.train_cfg.max_epochs == 10
