"""Installation script of mkd_mm (Masked Knowledge Distillation for OpenMMLab)."""
import os
import os.path as osp
import shutil
from typing import List

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    """Read ``__version__`` from ``mkd_mm/version.py`` without importing."""
    scope: dict = {}
    with open(osp.join(ROOT, 'mkd_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> List[str]:
    """Requirement lines of a ``requirements/*.txt`` file, comments dropped."""
    reqs = []
    with open(osp.join(ROOT, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Ship ``configs/`` and ``model-index.yml`` inside the package.

    This is what lets installed users inherit our configs with
    ``_base_ = 'mkd_mm::dbot/vitb_stage2.py'`` (mmengine resolves the ``mkd_mm``
    scope to ``mkd_mm/.mim/configs``). In develop mode a symlink is made, in a
    normal install a copy.
    """
    mim_root = osp.join(ROOT, 'mkd_mm', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src = osp.join(ROOT, name)
        dst = osp.join(mim_root, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        try:
            os.symlink(osp.relpath(src, mim_root), dst)
        except OSError:  # e.g. file systems without symlinks
            if not osp.exists(src):
                continue
            if osp.isdir(src):
                shutil.copytree(src, dst)
            else:
                shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mkd_mm',
        version=get_version(),
        description='Masked knowledge distillation (dBOT, DMAE) for '
        'OpenMMLab',
        long_description=open(osp.join(ROOT, 'README.md')).read()
        if osp.exists(osp.join(ROOT, 'README.md')) else '',
        long_description_content_type='text/markdown',
        keywords='self-supervised learning, knowledge distillation, '
        'masked image modeling, vision transformer',
        packages=find_packages(exclude=('configs', 'tools', 'tests',
                                        'demo')),
        include_package_data=True,
        package_data={'mkd_mm': ['.mim/configs/**/*', '.mim/tools/**/*',
                                 '.mim/model-index.yml']},
        python_requires='>=3.8',
        license='Apache License 2.0',
        classifiers=[
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        install_requires=[
            'torch>=1.13',
            'mmengine>=0.10.0,<1.0.0',
            'mmcv>=2.0.0,<2.2.0',
            'mmpretrain>=1.2.0,<1.3.0',
        ],
        extras_require={
            'downstream': [
                'mmdet>=3.3.0,<3.4.0', 'mmsegmentation>=1.2.0,<1.3.0',
                'ftfy', 'regex'
            ],
            'tests': parse_requirements('tests.txt'),
        },
        zip_safe=False)
