# Copyright (c) mkd_mm contributors. All rights reserved.
import torch
import torch.nn.functional as F


@torch.no_grad()
def knn_classify(train_feats: torch.Tensor,
                 train_labels: torch.Tensor,
                 test_feats: torch.Tensor,
                 num_classes: int,
                 k: int = 20,
                 temperature: float = 0.07) -> torch.Tensor:
    """Weighted k-NN classification on cosine similarity.

    The protocol of `Unsupervised Feature Learning via Non-Parametric
    Instance Discrimination <https://arxiv.org/abs/1805.01978>`_ as used by
    DINO: the ``k`` nearest training features vote for their class with
    weight ``exp(sim / T)``.

    Args:
        train_feats (torch.Tensor): ``(N, C)`` memory bank.
        train_labels (torch.Tensor): ``(N,)`` integer labels.
        test_feats (torch.Tensor): ``(M, C)`` queries.
        num_classes (int): Number of classes.
        k (int): Neighbours. Defaults to 20.
        temperature (float): ``T``. Defaults to 0.07.

    Returns:
        torch.Tensor: ``(M,)`` predicted labels.
    """
    train = F.normalize(train_feats.float(), dim=1)
    test = F.normalize(test_feats.float(), dim=1)
    k = min(k, train.shape[0])
    sims, idx = (test @ train.T).topk(k, dim=1)
    weights = (sims / temperature).exp()
    votes = torch.zeros(test.shape[0], num_classes)
    votes.scatter_add_(1, train_labels[idx], weights)
    return votes.argmax(1)


def knn_accuracy(train_feats: torch.Tensor, train_labels: torch.Tensor,
                 test_feats: torch.Tensor, test_labels: torch.Tensor,
                 num_classes: int, **kwargs) -> float:
    """Top-1 accuracy (%) of :func:`knn_classify`.

    Args:
        train_feats (torch.Tensor): Memory bank features.
        train_labels (torch.Tensor): Memory bank labels.
        test_feats (torch.Tensor): Query features.
        test_labels (torch.Tensor): Query labels.
        num_classes (int): Number of classes.
        **kwargs: ``k`` and ``temperature``.

    Returns:
        float: Accuracy in percent.
    """
    pred = knn_classify(train_feats, train_labels, test_feats, num_classes,
                        **kwargs)
    return 100.0 * (pred == test_labels).float().mean().item()


@torch.no_grad()
def extract_features(encoder: torch.nn.Module, dataloader,
                     data_preprocessor: torch.nn.Module,
                     pool: str = 'avg') -> tuple:
    """Features and labels of a whole data set.

    Args:
        encoder (torch.nn.Module): Maps images to ``(B, 1 + N, C)`` tokens
            (e.g. a :class:`TeacherViT`).
        dataloader (Iterable): Yields ``dict(inputs, data_samples)``.
        data_preprocessor (torch.nn.Module): Normalises the batch.
        pool (str): ``'avg'`` (mean of the patch tokens) or ``'cls'``.
            Defaults to 'avg'.

    Returns:
        tuple: ``(features (M, C), labels (M,))``.
    """
    encoder.eval()
    feats, labels = [], []
    for batch in dataloader:
        batch = data_preprocessor(batch, False)
        tokens = encoder(batch['inputs'])
        feats.append(tokens[:, 1:].mean(1) if pool == 'avg' else tokens[:, 0])
        labels.append(
            torch.cat([ds.gt_label for ds in batch['data_samples']]))
    return torch.cat(feats), torch.cat(labels)
