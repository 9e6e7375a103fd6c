# Copyright (c) mkd_mm contributors. All rights reserved.
"""``tools/analysis_tools/benchmark_pretrain.py`` and ``mkd_mm.utils.benchmark``.

Every pre-training config runs through the tool's code path once, shrunk to
tiny ViTs at 32 px (``shrink_pretrain_model``), with one timed step; one
subprocess run checks the command line, the JSON layout and the table.
"""
import json
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
PRETRAIN_CONFIGS = sorted(
    str(p.relative_to(REPO)) for d in ('mae', 'dbot', 'dmae')
    for p in (REPO / 'configs' / d).glob('*.py'))
KEYS = {
    'config', 'step_time_s', 'images_per_s', 'teacher_time_s', 'peak_mem_mb',
    'gflop_per_step', 'efficiency'
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _case(config: str, **kwargs):
    from mkd_mm.utils.benchmark import build_case, shrink_model_cfg
    return build_case(
        str(REPO / config), model_transform=shrink_model_cfg, **kwargs)


def test_every_pretrain_config_is_covered():
    assert len(PRETRAIN_CONFIGS) >= 30
    assert 'configs/dmae/vitb_from_vitl.py' in PRETRAIN_CONFIGS


@pytest.mark.parametrize('config', PRETRAIN_CONFIGS)
def test_runs_every_pretrain_config(config):
    from mkd_mm.utils.benchmark import run_benchmark
    case = _case(config)
    report = run_benchmark([case], batch_size=2, iters=1, warmup=0,
                           matmul_size=64)
    (row, ) = report['results']
    assert KEYS <= set(row)
    assert row['step_time_s'] > 0 and row['gflop_per_step'] > 0
    assert row['peak_mem_mb'] > 0 and row['efficiency'] > 0
    assert row['images_per_s'] == pytest.approx(2 / row['step_time_s'])
    if case.has_teacher:
        assert 0 < row['teacher_time_s'] < row['step_time_s']
        assert 0 < row['teacher_gflop_per_step'] < row['gflop_per_step']
    else:
        assert row['teacher_time_s'] == 0


@pytest.mark.parametrize('config', [
    'configs/mae/vitb_100e.py', 'configs/dbot/vitb_stage2.py',
    'configs/dmae/vitb_from_vitl.py'
])
def test_counted_flops_equal_the_analytic_count(config):
    """The tool's counter (a real step) against ``pretrain_step_macs``."""
    from mkd_mm.models.utils.vit_flops import pretrain_step_macs
    case = _case(config)
    if hasattr(case.model, 'teacher_precision'):
        case.model.teacher_precision = 'fp32'
    case.count_flops(case.batch(3))
    macs = pretrain_step_macs(case.model)
    assert case.step_flops == 2 * 3 * macs['step']
    assert case.teacher_flops == 2 * 3 * macs['teacher']


def test_checkpointing_changes_memory_not_flops():
    """Activation checkpointing: the same model FLOPs, less peak memory."""
    plain = _case('configs/dbot/vitb_stage2.py')
    cp = _case(
        'configs/dbot/vitb_stage2.py',
        cfg_options={'model.backbone.with_cp': True,
                     'model.neck.with_cp': True})
    for case in (plain, cp):
        data = case.batch(8)
        case.count_flops(data)
        case.measure_memory(data)
    assert cp.model.backbone.with_cp and cp.model.neck.with_cp
    assert cp.step_flops == plain.step_flops
    assert cp.peak_mem_bytes < plain.peak_mem_bytes


def test_memory_counts_parameters_and_optimizer_state():
    from mkd_mm.utils.benchmark import live_tensor_bytes
    case = _case('configs/mae/vitb_100e.py')
    params = sum(p.numel() * 4 for p in case.model.parameters())
    trained = sum(
        p.numel() * 4 for p in case.model.parameters() if p.requires_grad)
    data = case.batch(2)
    case.step(data)  # AdamW state exists after the first step
    live = live_tensor_bytes(case.model, case.optim_wrapper.optimizer)
    # fp32 parameters + exp_avg + exp_avg_sq (+ step counters)
    expected = params + 2 * trained
    assert expected <= live < expected + 4 * 1024
    case.measure_memory(data)
    assert case.peak_mem_bytes > live


def test_cpu_bf16_student_amp_runs_under_autocast():
    from mkd_mm.utils.benchmark import CPUAutocastOptimWrapper
    case = _case('configs/mae/vitb_100e.py', amp='bf16')
    assert isinstance(case.optim_wrapper, CPUAutocastOptimWrapper)
    with case.optim_wrapper.optim_context(case.model):
        assert torch.is_autocast_cpu_enabled()
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
    case.step(case.batch(2))


def test_bad_amp_is_refused():
    from mkd_mm.utils.benchmark import optim_wrapper_cfg
    with pytest.raises(ValueError, match='--amp fp16 needs --device cuda'):
        optim_wrapper_cfg(dict(optimizer=dict(type='AdamW')), 'fp16', 'cpu')
    with pytest.raises(ValueError, match='--amp must be one of'):
        optim_wrapper_cfg(dict(optimizer=dict(type='AdamW')), 'int8', 'cpu')
    cfg = optim_wrapper_cfg(
        dict(type='AmpOptimWrapper', loss_scale='dynamic',
             accumulative_counts=4, optimizer=dict(type='AdamW')), 'none',
        'cpu')
    assert cfg == dict(type='OptimWrapper', optimizer=dict(type='AdamW'))


def test_command_line_json_and_table(tmp_path, run_tool):
    out = tmp_path / 'bench.json'
    proc = run_tool([
        'tools/analysis_tools/benchmark_pretrain.py',
        'configs/mae/vitb_100e.py', 'configs/dmae/vitb_from_vitl.py',
        '--shrink', '--batch-size', '2', '--iters', '2', '--warmup', '0',
        '--threads', '1', '--matmul-size', '64', '--profile', '5',
        '--fused-optim', '--teacher-precision', 'bf16-full', '--out',
        str(out)
    ], timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report['matmul_gflops'] > 0
    assert report['setup']['fused_optim'] is True
    assert [r['teacher_precision'] for r in report['results']
            ] == [None, 'bf16-full']
    assert report['setup']['cfg_options'] == {
        'optim_wrapper.optimizer.fused': True
    }
    assert [r['config'] for r in report['results']] == [
        'configs/mae/vitb_100e.py', 'configs/dmae/vitb_from_vitl.py'
    ]
    for row in report['results']:
        assert KEYS <= set(row) and len(row['step_times_s']) == 2
    # interleaved: the log shows A B A B
    order = [line.split()[2] for line in proc.stderr.splitlines()
             if line.startswith('iter ')]
    assert [o.split('/')[-1].rstrip(':') for o in order] == [
        'vitb_100e.py', 'vitb_from_vitl.py'
    ] * 2
    assert '| configs/dmae/vitb_from_vitl.py |' in proc.stdout
    assert 'matmul throughput (GFLOP/s)' in proc.stdout
    # --profile: top operators of one step per config
    for name, rows in report['profiles'].items():
        assert len(rows) == 5 and 0 < sum(r['fraction'] for r in rows) <= 1
        times = [r['self_cpu_s'] for r in rows]
        assert times == sorted(times, reverse=True) and times[0] > 0
    assert 'top operators by self CPU time: configs/mae' in proc.stdout



@pytest.mark.parametrize('option', ['fused', 'foreach'])
def test_fused_adamw_matches_the_default(option):
    """``optim_wrapper.optimizer.fused=True`` (``--fused-optim``) or
    ``foreach=True`` give the updates of the default AdamW (a loop over
    the parameters on the CPU) over 4 dBOT steps with the config's betas,
    weight decay and parameter-wise settings: foreach bit for bit, fused
    within float32 rounding (measured: 2.4e-4 of the update's norm; on
    one element at most 4e-4 = 0.17 lr, where a near-zero gradient makes
    Adam's m / sqrt(v) sensitive to rounding, so one element is bounded by
    one step's lr, the whole update by its norm)."""
    moves, lrs = [], []
    for options in ({}, {f'optim_wrapper.optimizer.{option}': True}):
        torch.manual_seed(0)
        case = _case('configs/dbot/vitb_stage2.py', cfg_options=options)
        optimizer = case.optim_wrapper.optimizer
        assert optimizer.defaults.get(option) is (True if options else None)
        params = [p for p in case.model.parameters() if p.requires_grad]
        init = torch.cat([p.detach().flatten() for p in params])
        torch.manual_seed(1)
        for i in range(4):
            case.model.train_step(case.batch(2, seed=i), case.optim_wrapper)
        moves.append(torch.cat([p.detach().flatten() for p in params]) - init)
        lrs.append(optimizer.param_groups[0]['lr'])
    default, other = moves
    assert default.norm() > 0
    diff = other - default
    if option == 'foreach':
        assert torch.equal(other, default)
    else:
        assert 0 < diff.norm() < 1e-3 * default.norm()
        assert diff.abs().max() < lrs[0]
