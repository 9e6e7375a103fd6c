# Copyright (c) mkd_mm contributors. All rights reserved.
"""The probe functions of the DMAE demo (the training is run by the demo)."""
import importlib.util
from pathlib import Path

import pytest
import torch

DEMO = (
    Path(__file__).resolve().parents[2] / 'tools' / 'demo' / 'dmae_demo.py')


def _demo():
    spec = importlib.util.spec_from_file_location('dmae_demo', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_knn_weighted_vote_by_hand():
    demo = _demo()
    # bank: two points of class 0 near +x, one of class 1 near +y
    bank = torch.tensor([[1., 0.], [1., 0.1], [0., 1.]])
    bank_y = torch.tensor([0, 0, 1])
    # query at 45 deg: similarity 0.707 to class 1 and (0.707, 0.774) to
    # class 0; exp(s / T) votes favour class 0
    query = torch.tensor([[1., 1.]])
    assert demo.knn_accuracy(
        bank, bank_y, query, torch.tensor([0]), k=3) == 100.0
    # with k=1 only the nearest bank point ([0, 1], class 1) votes
    assert demo.knn_accuracy(
        bank, bank_y, torch.tensor([[0.1, 1.]]), torch.tensor([1]),
        k=1) == 100.0


@pytest.fixture
def one_thread():
    # tiny matmuls: intra-op threads only add contention on a busy CPU
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_probes_separate_clusters_and_fail_on_noise(one_thread):
    demo = _demo()
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(10, 16, generator=g) * 5
    y = torch.arange(10).repeat_interleave(20)
    x = centers[y] + torch.randn(200, 16, generator=g)
    vy = torch.arange(10).repeat_interleave(5)
    vx = centers[vy] + torch.randn(50, 16, generator=g)
    assert demo.knn_accuracy(x, y, vx, vy) == 100.0
    assert demo.linear_accuracy(x, y, vx, vy) == 100.0
    noise = torch.randn(50, 16, generator=g)
    assert demo.knn_accuracy(x, y, noise, vy) < 40
    assert demo.linear_accuracy(x, y, noise, vy) < 40


def test_cli_defaults():
    args = _demo().parse_args([])
    assert args.work_dir == 'work_dirs/demo/dmae_demo'
    assert args.data_root == 'data/demo/imagenet'
    assert args.threads >= 1
    with pytest.raises(SystemExit):
        _demo().parse_args(['--nope'])


def test_teacher_fit_is_one_for_a_linear_teacher_and_low_for_noise():
    demo = _demo()
    g = torch.Generator().manual_seed(0)
    s_train, s_val = torch.randn(
        500, 8, generator=g), torch.randn(
            100, 8, generator=g)
    w, b = torch.randn(8, 12, generator=g), torch.randn(12, generator=g)
    assert demo.teacher_feature_fit(s_train, s_train @ w + b, s_val,
                                    s_val @ w + b) == pytest.approx(
                                        1.0, abs=1e-3)
    t_train, t_val = torch.randn(
        500, 12, generator=g), torch.randn(
            100, 12, generator=g)
    assert abs(demo.teacher_feature_fit(s_train, t_train, s_val, t_val)) < 0.2
