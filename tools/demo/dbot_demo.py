# Copyright (c) mkd_mm contributors. All rights reserved.
"""The ``make demo`` job: 2-stage dBOT on the demo data, then a k-NN probe.

1. ``tools/train.py configs/demo/dbot_demo.py --resume auto`` (a finished
   run is reused, an interrupted one continues);
2. k-NN probe (k=20) on the demo validation split of the random stage-1
   teacher, the stage-1 student and the stage-2 student (whose teacher was
   the stage-1 student);
3. prints the table and where the checkpoints are.
"""
import argparse
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/demo/dbot_demo.py')
    parser.add_argument('--data-config',
                        default='configs/_base_/datasets/demo_imagenet_eval.py')
    parser.add_argument('--work-dir', default='work_dirs/demo/dbot_demo')
    parser.add_argument('train_args', nargs='*',
                        help='extra arguments of tools/train.py')
    args = parser.parse_args()
    t0 = time.time()
    subprocess.run([
        sys.executable, osp.join(ROOT, 'tools', 'train.py'), args.config,
        '--work-dir', args.work_dir, '--resume', 'auto', *args.train_args
    ], check=True)
    train_s = time.time() - t0

    from knn_probe import run_knn_probe
    s1 = osp.join(args.work_dir, 'stage1_final.pth')
    s2 = osp.join(args.work_dir, 'stage2_final.pth')
    rows = [('random teacher (stage-1 teacher)', s1 + ':teacher.'),
            ('stage-1 student', s1 + ':backbone.'),
            ('stage-2 student (teacher = stage-1 student)', s2 + ':backbone.')]
    results = run_knn_probe(args.config, args.data_config,
                            [r[1] for r in rows])
    print('\n=== dBOT demo: k-NN (k=20) top-1 on the demo val split '
          '(10 classes, chance 10%) ===')
    print('| encoder | k-NN top-1 % |\n|---|---|')
    for (name, _), (_, acc) in zip(rows, results):
        print(f'| {name} | {acc:.1f} |')
    print(f'\ntraining wall time: {train_s:.0f} s; checkpoints: '
          f'{s1}, {s2} (and the last epoch_*.pth) in {args.work_dir}')


if __name__ == '__main__':
    main()
