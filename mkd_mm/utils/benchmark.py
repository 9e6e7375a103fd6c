# Copyright (c) mkd_mm contributors. All rights reserved.
"""Training-step benchmark of pre-training configs (synthetic batches).

Used by ``tools/analysis_tools/benchmark_pretrain.py``. Every figure is
measured in one process: the configs' steps are interleaved (A B C A B C
...) after the warm-up, and so are the matmul-throughput probes, so that a
shared, noisy machine slows all of them alike; medians are reported.
"""
import contextlib
import copy
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

AMP_DTYPES = {'none': torch.float32, 'bf16': torch.bfloat16,
              'fp16': torch.float16}
_NAMES = {torch.float32: 'fp32', torch.bfloat16: 'bf16',
          torch.float16: 'fp16'}


class CPUAutocastOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` whose ``optim_context`` adds CPU autocast.

    mmengine's ``AmpOptimWrapper`` requires a GPU; on the CPU bf16 autocast
    needs no loss scaling, so the plain wrapper plus autocast is enough.

    Args:
        dtype (torch.dtype): Autocast dtype. Defaults to ``torch.bfloat16``.
        **kwargs: Arguments of :class:`OptimWrapper`.
    """

    def __init__(self, dtype: torch.dtype = torch.bfloat16, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = dtype

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context plus CPU autocast."""
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield


def _drop_pretrained(cfg) -> None:
    """Remove every ``init_cfg=dict(type='Pretrained', ...)`` in place."""
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            cfg.pop('init_cfg')
        for value in cfg.values():
            _drop_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _drop_pretrained(value)


def optim_wrapper_cfg(cfg: dict, amp: str, device: str) -> dict:
    """The config's optimizer wrapper, adapted for a benchmark step.

    Gradient accumulation is switched off (every step updates the
    parameters) and the wrapper type follows ``amp``: ``'none'`` a plain
    ``OptimWrapper``, ``'bf16'``/``'fp16'`` mmengine's ``AmpOptimWrapper``
    on a GPU, :class:`CPUAutocastOptimWrapper` (bf16 only) on the CPU.

    Args:
        cfg (dict): The config's ``optim_wrapper``.
        amp (str): ``'none'``, ``'bf16'`` or ``'fp16'``.
        device (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: The wrapper config (without ``type`` for the CPU autocast
        case, which is built directly).

    Raises:
        ValueError: For ``amp`` not in ``AMP_DTYPES`` or fp16 on the CPU.
    """
    if amp not in AMP_DTYPES:
        raise ValueError(f'--amp must be one of {sorted(AMP_DTYPES)}, '
                         f'got {amp!r}')
    if amp == 'fp16' and device == 'cpu':
        raise ValueError('--amp fp16 needs --device cuda (CPU autocast '
                         'supports bf16 only)')
    cfg = copy.deepcopy(dict(cfg))
    for key in ('accumulative_counts', 'loss_scale', 'dtype', 'type'):
        cfg.pop(key, None)
    if amp == 'none':
        cfg['type'] = 'OptimWrapper'
    elif device == 'cuda':
        cfg.update(type='AmpOptimWrapper', dtype=str(AMP_DTYPES[amp])[6:])
        if amp == 'fp16':
            cfg['loss_scale'] = 'dynamic'
    return cfg


def shrink_model_cfg(model: dict) -> dict:
    """Tiny ViTs (2 blocks at 32 px; DMAE 4 at 64 px) for a config's.

    For smoke tests of the benchmark (``--shrink``), not for measurements;
    uses :mod:`mkd_mm.testing` (:func:`shrink_dbot_clip_model` for
    ``DBOTCLIP``, :func:`shrink_pretrain_model` otherwise).

    Args:
        model (dict): The ``model`` config.

    Returns:
        dict: The shrunk config.
    """
    from mkd_mm.models.algorithms.dmae import _arch_depth
    from mkd_mm.testing import shrink_dbot_clip_model, shrink_pretrain_model
    if model.get('type') == 'DBOTCLIP':
        return shrink_dbot_clip_model(model)
    if model.get('type') != 'DMAE':
        return shrink_pretrain_model(model)
    # DMAE: 4 tiny blocks, aligned indices at the same relative depth, an
    # 8 x 8 grid (mask 0.98 must leave a visible patch)
    small = shrink_pretrain_model(model, num_layers=4, grid=8)
    for key, part, default in (('student_layers', 'backbone', [8]),
                               ('teacher_layers', 'teacher', [17])):
        depth = _arch_depth(model[part].get('arch', 'b'), f'model.{part}')
        small[key] = [i * 4 // depth for i in model.get(key, default)]
    return small


def _pipeline_mask_generator(cfg: Config, config: str) -> dict:
    pipeline = cfg.get('train_dataloader', {}).get('dataset', {}).get(
        'pipeline', [])
    for t in pipeline:
        if str(t.get('type', '')).endswith('MaskGenerator'):
            return copy.deepcopy(t.to_dict() if hasattr(t, 'to_dict') else t)
    raise ValueError(f'{config}: DBOTCLIP needs `model.mask_generator` or a '
                     '*MaskGenerator transform in '
                     '`train_dataloader.dataset.pipeline`')


def build_case(config: str,
               amp: str = 'none',
               device: str = 'cpu',
               cfg_options: Optional[dict] = None,
               model_transform: Optional[Callable[[dict], dict]] = None,
               teacher_precision: Optional[str] = None) -> 'Case':
    """Build a config's model and optimizer wrapper as training would.

    Teacher checkpoints are not loaded (random weights: every
    ``init_cfg`` of type ``Pretrained`` is dropped), the rest of the model
    is initialised by its ``init_weights``.

    Args:
        config (str): Config file.
        amp (str): See :func:`optim_wrapper_cfg`. Defaults to 'none'.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config.
        model_transform (callable, optional): Applied to the model config
            (e.g. :func:`mkd_mm.testing.shrink_pretrain_model`).
        teacher_precision (str, optional): Overrides
            ``model.teacher_precision`` of the distillers (configs without
            a teacher are left alone). Defaults to None (the config's).

    Returns:
        Case: The built case.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg or 'optim_wrapper' not in cfg:
        raise ValueError(f'{config}: a pre-training config needs `model` and '
                         '`optim_wrapper`')
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor.to_dict()))
    teacher_init = (model_cfg.get('teacher') or {}).get('init_cfg') or {}
    pretrained_teacher = teacher_init.get('type') == 'Pretrained'
    _drop_pretrained(model_cfg)
    if model_cfg.get('type') == 'DBOTCLIP' and not model_cfg.get(
            'mask_generator'):
        # masks come from the data pipeline in training: draw them in the
        # model instead, with the pipeline's generator
        model_cfg['mask_generator'] = _pipeline_mask_generator(cfg, config)
    if model_transform is not None:
        model_cfg = model_transform(model_cfg)
    if teacher_precision is not None and 'teacher' in model_cfg:
        model_cfg['teacher_precision'] = teacher_precision
    model = MODELS.build(model_cfg)
    if pretrained_teacher and hasattr(model, 'init_teacher_from_student'):
        # a checkpoint teacher (maybe wider than the student): random init
        # of its own instead of a copy of the student
        model.init_teacher_from_student = False
    model.init_weights()
    model.to(device)
    model.train()
    ow_cfg = optim_wrapper_cfg(cfg.optim_wrapper.to_dict(), amp, device)
    if amp != 'none' and device == 'cpu':
        plain = build_optim_wrapper(model, dict(ow_cfg, type='OptimWrapper'))
        optim_wrapper = CPUAutocastOptimWrapper(
            dtype=AMP_DTYPES[amp], optimizer=plain.optimizer,
            clip_grad=ow_cfg.get('clip_grad'))
    else:
        optim_wrapper = build_optim_wrapper(model, ow_cfg)
    img_size = tuple(model.backbone.img_size)
    return Case(config, model, optim_wrapper, img_size, device)


@dataclass
class Case:
    """One config under test: model, wrapper and its measurements."""

    name: str
    model: nn.Module
    optim_wrapper: OptimWrapper
    img_size: tuple
    device: str
    step_times: List[float] = field(default_factory=list)
    teacher_times: List[float] = field(default_factory=list)
    step_flops: int = 0
    teacher_flops: int = 0
    peak_mem_bytes: int = 0
    _teacher_time: float = 0.0

    def __post_init__(self) -> None:
        # time (and count) the teacher inside the real training step
        self.has_teacher = hasattr(self.model, 'teacher_forward')
        if self.has_teacher:
            inner = self.model.teacher_forward

            def timed(*args, **kwargs):
                _sync(self.device)
                start = time.perf_counter()
                out = inner(*args, **kwargs)
                _sync(self.device)
                self._teacher_time += time.perf_counter() - start
                return out

            self.model.teacher_forward = timed

    def batch(self, batch_size: int, seed: int = 0) -> dict:
        """A synthetic uint8 batch as ``default_collate`` gives it."""
        g = torch.Generator().manual_seed(seed)
        imgs = torch.randint(
            0, 256, (batch_size, 3) + self.img_size, generator=g,
            dtype=torch.uint8)
        return dict(
            inputs=imgs.to(self.device),
            data_samples=[DataSample() for _ in range(batch_size)])

    def step(self, data: dict) -> float:
        """One training step; returns its wall time (seconds)."""
        self._teacher_time = 0.0
        _sync(self.device)
        start = time.perf_counter()
        self.model.train_step(data, self.optim_wrapper)
        _sync(self.device)
        return time.perf_counter() - start

    def timed_step(self, data: dict) -> None:
        """A step whose times are recorded."""
        self.step_times.append(self.step(data))
        self.teacher_times.append(self._teacher_time)

    def count_flops(self, data: dict) -> None:
        """Count the FLOPs of one step (and of its teacher forward).

        Attention runs on the math path (the fused CPU kernels are not in
        the counter's registry) and activation checkpointing is switched
        off for this step, so that model FLOPs are counted, not recomputed
        ones.
        """
        cp_modules = [m for m in self.model.modules()
                      if getattr(m, 'with_cp', False)]
        for m in cp_modules:
            m.with_cp = False
        counter = FlopCounterMode(display=False)
        teacher = [0]
        if self.has_teacher:
            timed = self.model.teacher_forward

            def counted(*args, **kwargs):
                before = counter.get_total_flops()
                out = timed(*args, **kwargs)
                teacher[0] += counter.get_total_flops() - before
                return out

            self.model.teacher_forward = counted
        try:
            with sdpa_kernel(SDPBackend.MATH), counter:
                self.step(data)
        finally:
            for m in cp_modules:
                m.with_cp = True
            if self.has_teacher:
                self.model.teacher_forward = timed
        self.step_flops = counter.get_total_flops()
        self.teacher_flops = teacher[0]

    def profile(self, data: dict, rows: int = 15) -> List[dict]:
        """Top operators of one step by self CPU time (``torch.profiler``).

        Args:
            data (dict): The batch.
            rows (int): Operators to keep. Defaults to 15.

        Returns:
            List[dict]: ``{'op', 'self_cpu_s', 'fraction', 'calls'}`` rows.
        """
        with torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            self.step(data)
        events = sorted(
            prof.key_averages(), key=lambda e: e.self_cpu_time_total,
            reverse=True)
        total = sum(e.self_cpu_time_total for e in events) or 1
        return [
            dict(op=e.key, self_cpu_s=e.self_cpu_time_total / 1e6,
                 fraction=e.self_cpu_time_total / total, calls=e.count)
            for e in events[:rows]
        ]

    def measure_memory(self, data: dict) -> None:
        """Peak tensor memory of one step (bytes).

        CUDA: ``torch.cuda.max_memory_allocated``. CPU: the tensors alive
        when the step starts (:func:`live_tensor_bytes`) plus the highest running sum of the allocations and frees
        that the profiler records during the step (activations,
        gradients, temporaries). Memory outside PyTorch's allocator
        (e.g. oneDNN scratch space, the Python heap) is not included.
        """
        if self.device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.step(data)
            self.peak_mem_bytes = torch.cuda.max_memory_allocated()
            return
        base = live_tensor_bytes(self.model, self.optim_wrapper.optimizer)
        with torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU],
                profile_memory=True) as prof:
            self.step(data)
        events = sorted(
            (e.start_ns(), e.nbytes())
            for e in prof.profiler.kineto_results.events()
            if e.name() == '[memory]'
            and e.device_type() == torch.autograd.DeviceType.CPU)
        running = peak = 0
        for _, nbytes in events:
            running += nbytes
            peak = max(peak, running)
        self.peak_mem_bytes = base + peak


def live_tensor_bytes(model: nn.Module,
                      optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the distinct storages of parameters, buffers, gradients,
    optimizer state and the teacher's cached low-precision weights.

    Args:
        model (nn.Module): The model.
        optimizer (torch.optim.Optimizer): Its optimizer.

    Returns:
        int: Bytes.
    """
    tensors = list(model.parameters()) + list(model.buffers())
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    for state in optimizer.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v)]
    cache = model.__dict__.get('_teacher_cast_cache', {})
    tensors += [t for _, t in cache.values()]
    seen, total = set(), 0
    for t in tensors:
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
    return total


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def matmul_seconds(dtype: torch.dtype, device: str, size: int = 2048,
                   repeats: int = 3) -> float:
    """Median time of a ``size x size`` matmul at ``dtype``.

    Args:
        dtype (torch.dtype): Precision.
        device (str): Device.
        size (int): Matrix side. Defaults to 2048.
        repeats (int): Timed products. Defaults to 3.

    Returns:
        float: Seconds per product (``2 * size**3`` FLOPs).
    """
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=g).to(device, dtype)
    b = torch.randn(size, size, generator=g).to(device, dtype)
    torch.matmul(a, b)  # warm-up (kernel selection, packing)
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        torch.matmul(a, b)
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def teacher_dtype(model: nn.Module, student: torch.dtype,
                  device: str) -> Optional[torch.dtype]:
    """The precision of the teacher's matmuls (None: no teacher).

    Args:
        model (nn.Module): The model.
        student (torch.dtype): The student's (autocast) precision.
        device (str): Device.

    Returns:
        torch.dtype | None: The teacher's precision.
    """
    if not hasattr(model, 'teacher_dtype'):
        return None
    return model.teacher_dtype(torch.device(device)) or student


def run_benchmark(cases: Sequence[Case],
                  batch_size: int = 8,
                  iters: int = 5,
                  warmup: int = 1,
                  amp: str = 'none',
                  matmul_size: int = 2048,
                  profile_rows: int = 0,
                  log: Callable[[str], None] = lambda s: None) -> dict:
    """Measure the cases, interleaved, and return the report.

    Per case: one FLOP-counting step, one memory-measuring step,
    ``warmup`` untimed and ``iters`` timed steps, all on one synthetic
    batch. The timed rounds run A B C A B C ..., each round followed by
    the matmul probes of every precision in use.

    ``efficiency`` is the time the counted FLOPs would take at the
    measured matmul throughput of the precision they run in (the teacher's
    at its ``teacher_precision``, the rest at ``amp``), divided by the
    measured step time; with one precision it is the achieved FLOP/s over
    the matmul FLOP/s.

    Args:
        cases (Sequence[Case]): Built cases.
        batch_size (int): Images per step. Defaults to 8.
        iters (int): Timed steps per case. Defaults to 5.
        warmup (int): Untimed steps per case. Defaults to 1.
        amp (str): The student's precision (for the matmul probe).
        matmul_size (int): Side of the probe matmuls. Defaults to 2048.
        profile_rows (int): If > 0, profile one more step per case and
            report its top operators (``'profiles'``). Defaults to 0.
        log (callable): Progress printer.

    Returns:
        dict: ``{'matmul_gflops', 'matmul_gflops_by_dtype', 'results'}``.
    """
    if iters < 1:
        raise ValueError(f'--iters must be >= 1, got {iters}')
    device = cases[0].device
    student = AMP_DTYPES[amp]
    dtypes = {student}
    for case in cases:
        dtypes.add(teacher_dtype(case.model, student, device) or student)
    data = [case.batch(batch_size) for case in cases]
    for case, batch in zip(cases, data):
        log(f'counting FLOPs and memory: {case.name}')
        case.count_flops(batch)
        case.measure_memory(batch)
    for _ in range(warmup):
        for case, batch in zip(cases, data):
            case.step(batch)
    mm_times: Dict[torch.dtype, List[float]] = {d: [] for d in dtypes}
    for i in range(iters):
        for case, batch in zip(cases, data):
            case.timed_step(batch)
            log(f'iter {i + 1}/{iters} {case.name}: '
                f'{case.step_times[-1]:.3f} s')
        for d in sorted(dtypes, key=str):
            mm_times[d].append(matmul_seconds(d, device, matmul_size))
    profiles = {
        case.name: case.profile(batch, profile_rows)
        for case, batch in zip(cases, data)
    } if profile_rows > 0 else None
    gflops = {
        d: 2 * matmul_size**3 / statistics.median(t) / 1e9
        for d, t in mm_times.items()
    }
    results = []
    for case in cases:
        step = statistics.median(case.step_times)
        t_dtype = teacher_dtype(case.model, student, device) or student
        ideal = (case.teacher_flops / gflops[t_dtype] +
                 (case.step_flops - case.teacher_flops) / gflops[student])
        results.append(
            dict(
                config=case.name,
                step_time_s=step,
                images_per_s=batch_size / step,
                teacher_time_s=statistics.median(case.teacher_times),
                peak_mem_mb=case.peak_mem_bytes / 2**20,
                gflop_per_step=case.step_flops / 1e9,
                teacher_gflop_per_step=case.teacher_flops / 1e9,
                teacher_precision=(
                    'bf16-full' if getattr(case.model, 'teacher_precision',
                                           None) == 'bf16-full' else
                    _NAMES[t_dtype]) if case.has_teacher else None,
                achieved_gflops=case.step_flops / step / 1e9,
                efficiency=ideal / 1e9 / step,
                step_times_s=list(case.step_times)))
    report = dict(
        matmul_gflops=gflops[student],
        matmul_gflops_by_dtype={_NAMES[d]: v
                                for d, v in gflops.items()},
        results=results)
    if profiles is not None:
        report['profiles'] = profiles
    return report


def markdown_table(report: dict, reference: Optional[str] = None) -> str:
    """The report as a Markdown table.

    Args:
        report (dict): From :func:`run_benchmark`.
        reference (str, optional): Config whose step time is the 1.00x of
            the ``vs`` column. Defaults to the first config.

    Returns:
        str: The table (and a line with the matmul throughput).
    """
    rows = report['results']
    ref = next((r for r in rows if r['config'] == reference), rows[0])
    lines = [
        '| config | step (s) | vs ' + ref['config'].split('/')[-1] +
        ' | img/s | teacher fwd (s) | peak mem (MB) | GFLOP/step '
        '| GFLOP/s | efficiency |',
        '|---|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['step_time_s']:.3f} "
            f"| {r['step_time_s'] / ref['step_time_s']:.2f}x "
            f"| {r['images_per_s']:.2f} | {r['teacher_time_s']:.3f} "
            f"| {r['peak_mem_mb']:.0f} | {r['gflop_per_step']:.1f} "
            f"| {r['achieved_gflops']:.1f} | {r['efficiency']:.2f} |")
    probes = ', '.join(f'{k} {v:.1f}'
                       for k, v in report['matmul_gflops_by_dtype'].items())
    lines.append('')
    lines.append(f'matmul throughput (GFLOP/s): {probes}')
    for name, rows in report.get('profiles', {}).items():
        lines += ['', f'top operators by self CPU time: {name}', '',
                  '| op | self CPU (s) | share | calls |', '|---|---|---|---|']
        lines += [f"| {r['op']} | {r['self_cpu_s']:.3f} "
                  f"| {100 * r['fraction']:.1f}% | {r['calls']} |"
                  for r in rows]
    return '\n'.join(lines)
