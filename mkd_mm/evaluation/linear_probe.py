# Copyright (c) mkd_mm contributors. All rights reserved.
import torch
import torch.nn.functional as F


def linear_probe_accuracy(train_feats: torch.Tensor,
                          train_labels: torch.Tensor,
                          test_feats: torch.Tensor,
                          test_labels: torch.Tensor,
                          num_classes: int,
                          steps: int = 500,
                          lr: float = 1e-2,
                          weight_decay: float = 1e-2,
                          seed: int = 0) -> float:
    """Top-1 accuracy (%) of a logistic-regression probe on frozen features.

    Features are standardised with the training statistics; a linear layer
    is fitted full-batch with AdamW (cross-entropy) for ``steps`` steps: a
    deterministic, small-data stand-in for the papers' linear probing.

    Args:
        train_feats (torch.Tensor): ``(N, C)`` training features.
        train_labels (torch.Tensor): ``(N,)`` integer labels.
        test_feats (torch.Tensor): ``(M, C)`` test features.
        test_labels (torch.Tensor): ``(M,)`` labels.
        num_classes (int): Number of classes.
        steps (int): Optimisation steps. Defaults to 500.
        lr (float): AdamW learning rate. Defaults to 1e-2.
        weight_decay (float): AdamW weight decay. Defaults to 1e-2.
        seed (int): Seed of the layer's initialisation. Defaults to 0.

    Returns:
        float: Accuracy in percent.
    """
    generator = torch.Generator().manual_seed(seed)
    mean = train_feats.float().mean(0)
    std = train_feats.float().std(0) + 1e-6
    train = (train_feats.float() - mean) / std
    test = (test_feats.float() - mean) / std
    weight = torch.randn(num_classes, train.shape[1], generator=generator)
    clf = torch.nn.Linear(train.shape[1], num_classes)
    with torch.no_grad():
        clf.weight.copy_(weight * 0.01)
        clf.bias.zero_()
    opt = torch.optim.AdamW(clf.parameters(), lr=lr, weight_decay=weight_decay)
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(clf(train), train_labels).backward()
            opt.step()
    with torch.no_grad():
        pred = clf(test).argmax(1)
    return 100.0 * (pred == test_labels).float().mean().item()
