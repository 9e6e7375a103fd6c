# Copyright (c) mkd_mm contributors. All rights reserved.
"""The ``make demo`` job: do dBOT and DMAE pre-training beat training from
scratch, on the 32-px demo set, on a CPU in minutes?

1. pre-train the demo ViT (6 blocks, 128-d, 32 px / patch 4) on the 3,000
   unlabelled demo images with ``tools/train.py``: **MAE** (the baseline),
   **DMAE** (its teacher: that MAE encoder) and **dBOT** (2 stages from a
   random teacher, one run);
2. fine-tune every encoder end to end, and the same ViT from random
   weights (**scratch**), with one fixed schedule on the 200 labelled images
   (``configs/demo/imagenet32/finetune.py``), evaluated on the 500
   validation images;
3. probe the frozen encoders (and a **random** frozen one, the stage-1
   dBOT teacher) with weighted k-NN (k=20) and a linear classifier on the
   labelled images;
4. print the table with the expected reading of each row (whether it holds
   in this run), and write it as ``results.json`` and ``results.md``.

Every run goes through ``tools/train.py`` with ``--resume auto``: a second
``make demo`` reuses finished runs, an interrupted one continues. Progress
(step, epoch, ETA) is one line per run; the full logs are in each work dir.

Example:
    python tools/demo/run_demo.py --work-dir work_dirs/demo
    python tools/demo/run_demo.py --seed 1   # another seed, new work dirs
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs', 'demo', 'imagenet32')
DATA = osp.join(ROOT, 'data', 'demo')

#: rows of the table: (encoder, checkpoint key, prefix in that checkpoint)
ENCODERS = (
    ('scratch', None, None),
    ('MAE', 'mae', 'backbone.'),
    ('DMAE (MAE teacher)', 'dmae', 'backbone.'),
    ('dBOT stage 1', 'dbot_stage1', 'backbone.'),
    ('dBOT stage 2', 'dbot_stage2', 'backbone.'),
)
#: the frozen random encoder of the probes: dBOT's stage-1 teacher is a copy
#: of a random initialisation (MAE rules) that never trains
RANDOM = ('random (frozen)', 'dbot_stage1', 'teacher.')


# --------------------------------------------------------------------------
# running tools/train.py
# --------------------------------------------------------------------------
_ITER = re.compile(r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/(\d+)\].*?'
                   r'eta: (\S+).*?loss: ([0-9.]+)')


def train(label: str,
          config: str,
          work_dir: str,
          options: Sequence[str] = (),
          quick: Optional[dict] = None) -> float:
    """Run ``tools/train.py CONFIG --resume auto`` with one progress line.

    Args:
        label (str): Shown in the progress line.
        config (str): Config path.
        work_dir (str): Work dir (``train.log`` there has the full output).
        options (Sequence[str]): ``--cfg-options`` items.
        quick (dict, optional): Extra ``--cfg-options`` (shortened runs).

    Returns:
        float: Wall time in seconds.
    """
    os.makedirs(work_dir, exist_ok=True)
    opts = list(options) + [f'{k}={v}' for k, v in (quick or {}).items()]
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
        '--resume', 'auto'
    ] + (['--cfg-options', *opts] if opts else [])
    start = time.time()
    tty = sys.stdout.isatty()
    with open(osp.join(work_dir, 'train.log'), 'w') as log:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT)
        last = ''
        for line in proc.stdout:
            log.write(line)
            m = _ITER.search(line)
            if m:
                epoch, it, n, eta, loss = m.groups()
                last = (f'  {label:<22} epoch {epoch:>3}  iter {it}/{n}  '
                        f'loss {float(loss):.4f}  eta {eta}')
                if tty:
                    print('\r' + last.ljust(79), end='', flush=True)
        code = proc.wait()
    elapsed = time.time() - start
    if tty:
        print('\r' + ' ' * 79 + '\r', end='')
    print(f'  {label:<22} done in {elapsed:5.0f} s' +
          (f'  ({last.strip().split("  ", 1)[-1]})' if last else
           '  (reused)'))
    if code != 0:
        raise RuntimeError(f'{label}: tools/train.py failed (exit {code}); '
                           f'see {osp.join(work_dir, "train.log")}')
    return elapsed


def last_metric(work_dir: str, key: str = 'accuracy/top1') -> float:
    """The last ``key`` logged in a work dir's ``vis_data/scalars.json``."""
    found = None
    for run in sorted(os.listdir(work_dir)):
        scalars = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if osp.isfile(scalars):
            with open(scalars) as f:
                for line in f:
                    row = json.loads(line)
                    if key in row:
                        found = row[key]
    if found is None:
        raise RuntimeError(f'no {key} logged in {work_dir}')
    return float(found)


def loss_curve(work_dir: str) -> List[Tuple[int, float]]:
    """``(iteration, loss)`` pairs logged by a training run."""
    curve = []
    for run in sorted(os.listdir(work_dir)):
        scalars = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if osp.isfile(scalars):
            with open(scalars) as f:
                for line in f:
                    row = json.loads(line)
                    if 'loss' in row and 'step' in row:
                        curve.append((int(row['step']), float(row['loss'])))
    return sorted(dict(curve).items())


# --------------------------------------------------------------------------
# frozen-feature probes
# --------------------------------------------------------------------------
def probe_split(split: str) -> Tuple['torch.Tensor', 'torch.Tensor']:
    """Normalised images and labels of ``train_labelled`` or ``val``."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    init_default_scope('mmpretrain')
    base = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/datasets/demo_imagenet32.py'))
    arch = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/demo_vit-p4-32px.py'))
    dataset = DATASETS.build(
        dict(
            type='ImageNet',
            data_root=osp.join(DATA, 'imagenet32'),
            ann_file=f'meta/{split}.txt',
            data_prefix='val' if split == 'val' else 'train',
            metainfo=base.demo_imagenet32_metainfo,
            pipeline=base.test_pipeline))
    batch = default_collate([dataset[i] for i in range(len(dataset))])
    imgs = batch['inputs'].float()[:, [2, 1, 0]]  # BGR -> RGB
    mean = torch.tensor(arch.demo_mean).view(1, 3, 1, 1)
    std = torch.tensor(arch.demo_std).view(1, 3, 1, 1)
    labels = torch.tensor([d.gt_label.item() for d in batch['data_samples']])
    return (imgs - mean) / std, labels


def encoder_features(checkpoint: str, prefix: str,
                     imgs: 'torch.Tensor') -> 'torch.Tensor':
    """Mean of the final-norm patch tokens of a checkpoint's encoder."""
    import torch
    from mmengine.config import Config

    import mkd_mm  # noqa: F401
    from mkd_mm.models.backbones import MKDViT
    from mkd_mm.utils.checkpoint_io import load_checkpoint_file
    arch = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/demo_vit-p4-32px.py'))
    encoder = MKDViT(
        arch=dict(arch.demo_arch),
        img_size=arch.demo_img_size,
        patch_size=arch.demo_patch_size)
    state = load_checkpoint_file(checkpoint)['state_dict']
    state = {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
    if prefix == 'teacher.':  # a teacher has no final norm: identity
        state.setdefault('ln1.weight', torch.ones(arch.demo_arch.embed_dims))
        state.setdefault('ln1.bias', torch.zeros(arch.demo_arch.embed_dims))
    encoder.load_state_dict(state, strict=True)
    encoder.eval()
    with torch.no_grad():
        out = [encoder(c, mask=None)[0] for c in imgs.split(250)]
    return torch.cat(out)[:, 1:].mean(1)


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------
def expected_readings(finetune: Dict[str, float],
                      knn: Dict[str, float]) -> List[dict]:
    """The papers' claims at toy scale, checked on one run's numbers.

    Args:
        finetune (Dict[str, float]): Fine-tuning top-1 by encoder.
        knn (Dict[str, float]): k-NN top-1 by encoder (with the random one).

    Returns:
        List[dict]: ``claim``, ``holds`` and the numbers compared.
    """
    checks = []

    def check(claim, a, b, at_least=False):
        checks.append(
            dict(
                claim=claim,
                holds=bool(a >= b) if at_least else bool(a > b),
                values=[round(a, 1), round(b, 1)]))

    scratch = finetune['scratch']
    for name in ('MAE', 'DMAE (MAE teacher)', 'dBOT stage 1',
                 'dBOT stage 2'):
        check(f'{name} fine-tunes better than scratch', finetune[name],
              scratch)
    check('dBOT stage 2 is at least as good as stage 1 (fine-tuning)',
          finetune['dBOT stage 2'], finetune['dBOT stage 1'], at_least=True)
    check('DMAE is at least as good as MAE at equal epochs (fine-tuning)',
          finetune['DMAE (MAE teacher)'], finetune['MAE'], at_least=True)
    for name in ('MAE', 'DMAE (MAE teacher)', 'dBOT stage 2'):
        check(f'{name} k-NN beats the random frozen encoder', knn[name],
              knn[RANDOM[0]])
    return checks


def markdown(results: dict) -> str:
    """The results as a Markdown page section."""
    lines = [
        '| encoder | fine-tune top-1 % | k-NN top-1 % | linear top-1 % |',
        '|---|---|---|---|'
    ]
    def cell(v):
        return '-' if v is None else f'{v:.1f}'

    for row in results['rows']:
        lines.append(f"| {row['encoder']} | {cell(row['finetune'])} | "
                     f"{cell(row['knn'])} | {cell(row['linear'])} |")
    lines += ['', '| expected reading | holds | numbers |', '|---|---|---|']
    for c in results['checks']:
        lines.append(f"| {c['claim']} | {'yes' if c['holds'] else '**no**'} "
                     f"| {c['values'][0]} vs {c['values'][1]} |")
    return '\n'.join(lines) + '\n'


def summary(results: dict) -> str:
    """What the run shows, in words (the failed readings named)."""
    failed = [c['claim'] for c in results['checks'] if not c['holds']]
    if not failed:
        return 'Every expected reading holds in this run.'
    return ('NOT as expected in this run: ' + '; '.join(failed) +
            '. (One seed, 500 validation images: differences of about 2 '
            'points are within noise; docs/results.md has 3 seeds.)')


# --------------------------------------------------------------------------
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of every run (runs of another seed get their own dirs)')
    parser.add_argument(
        '--pretrain-epochs',
        type=int,
        default=None,
        help='shorten pre-training (per dBOT stage); default: the configs')
    parser.add_argument(
        '--finetune-epochs',
        type=int,
        default=None,
        help='shorten fine-tuning; default: the config')
    parser.add_argument(
        '--num-workers', type=int, default=2, help='dataloader workers')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the demo; return the results (also written to the work dir)."""
    args = parse_args(argv)
    start = time.time()
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools/data/make_demo_data.py'), '--out', DATA,
        '--if-missing'
    ],
                   check=True)
    work = osp.join(args.work_dir, f'seed{args.seed}')
    common = [
        f'randomness.seed={args.seed}',
        f'train_dataloader.num_workers={args.num_workers}',
        f'train_dataloader.persistent_workers={args.num_workers > 0}'
    ]
    pre, ft_quick = {}, {}
    if args.pretrain_epochs:
        e = args.pretrain_epochs
        pre = {
            'train_cfg.max_epochs': e,
            'param_scheduler.0.stage_ends': f'[{e}]',
            'param_scheduler.0.warmup': min(2, e - 1) or 0.5
        }
    if args.finetune_epochs:
        e = args.finetune_epochs
        ft_quick = {
            'train_cfg.max_epochs': e,
            'train_cfg.val_interval': e,
            'param_scheduler.0.end': 1,
            'param_scheduler.1.begin': 1,
            'param_scheduler.1.end': e,
            'param_scheduler.1.T_max': max(e - 1, 1),
            'default_hooks.checkpoint.interval': e
        }
    print(f'make demo: pre-training (work dir {work})')
    times = {}
    times['MAE'] = train('MAE', osp.join(CONFIGS, 'mae.py'),
                         osp.join(work, 'mae'), common, pre)
    epochs = args.pretrain_epochs or 20
    ckpt = {'mae': osp.join(work, 'mae', f'epoch_{epochs}.pth')}
    times['DMAE'] = train(
        'DMAE (MAE teacher)', osp.join(CONFIGS, 'dmae.py'),
        osp.join(work, 'dmae'),
        common + [f'model.teacher.init_cfg.checkpoint={ckpt["mae"]}'], pre)
    ckpt['dmae'] = osp.join(work, 'dmae', f'epoch_{epochs}.pth')
    dbot_pre = dict(pre)
    if args.pretrain_epochs:
        e = args.pretrain_epochs
        dbot_pre.update({
            'train_cfg.max_epochs': 2 * e,
            'param_scheduler.0.stage_ends': f'[{e},{2 * e}]',
            'custom_hooks.0.stage_ends': f'[{e},{2 * e}]'
        })
    times['dBOT'] = train('dBOT (2 stages)', osp.join(CONFIGS, 'dbot.py'),
                          osp.join(work, 'dbot'), common, dbot_pre)
    ckpt['dbot_stage1'] = osp.join(work, 'dbot', 'stage1_final.pth')
    ckpt['dbot_stage2'] = osp.join(work, 'dbot', 'stage2_final.pth')

    print('make demo: fine-tuning every encoder (same schedule)')
    finetune = {}
    for name, key, prefix in ENCODERS:
        slug = re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')
        init = ['model.backbone.init_cfg=None'] if key is None else [
            f'model.backbone.init_cfg.checkpoint={ckpt[key]}',
            f'model.backbone.init_cfg.prefix={prefix}'
        ]
        ft_dir = osp.join(work, 'finetune', slug)
        times[f'fine-tune {name}'] = train(f'fine-tune {name}',
                                           osp.join(CONFIGS, 'finetune.py'),
                                           ft_dir, common + init, ft_quick)
        finetune[name] = last_metric(ft_dir)

    print('make demo: k-NN and linear probes of the frozen encoders')
    import torch
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    from mkd_mm.evaluation import knn_accuracy, linear_probe_accuracy
    train_x, train_y = probe_split('train_labelled')
    val_x, val_y = probe_split('val')
    knn, linear = {}, {}
    for name, key, prefix in (RANDOM, ) + ENCODERS[1:]:
        tf = encoder_features(ckpt[key], prefix, train_x)
        vf = encoder_features(ckpt[key], prefix, val_x)
        knn[name] = knn_accuracy(tf, train_y, vf, val_y, 10, k=20)
        linear[name] = linear_probe_accuracy(tf, train_y, vf, val_y, 10)

    rows = [
        dict(
            encoder=name,
            finetune=finetune.get(name),
            knn=knn.get(name),
            linear=linear.get(name))
        for name, _, _ in (RANDOM, ) + ENCODERS
    ]
    results = dict(
        seed=args.seed,
        rows=rows,
        checks=expected_readings(finetune, knn),
        wall_time_s=round(time.time() - start, 1),
        times_s={k: round(v, 1) for k, v in times.items()},
        curves={
            name: loss_curve(osp.join(work, name))
            for name in ('mae', 'dmae', 'dbot')
        })
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    with open(osp.join(work, 'results.md'), 'w') as f:
        f.write(markdown(results))
    print('\n=== mkd_mm demo: 32-px shapes, 10 classes (chance 10%); '
          'fine-tuned on 200 labelled images, 500 val images ===')
    print(markdown(results))
    print(summary(results))
    print(f'\nwall time {results["wall_time_s"]:.0f} s; results in '
          f'{work}/results.json and results.md')
    return results


if __name__ == '__main__':
    main()
