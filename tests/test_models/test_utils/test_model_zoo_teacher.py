# Copyright (c) mkd_mm contributors. All rights reserved.
import os
import os.path as osp

import pytest
import torch

import mkd_mm  # noqa: F401
from mkd_mm.models.utils import model_zoo_teacher as zoo

NAME = 'mae_vit-large-p16_8xb512-amp-coslr-1600e_in1k'
URL = ('https://download.openmmlab.com/mmselfsup/1.x/mae/'
       'mae_vit-large-p16_8xb512-fp16-coslr-1600e_in1k/'
       'mae_vit-large-p16_8xb512-fp16-coslr-1600e_in1k_20220825-cc7e98c9.pth')


def test_url_from_mmpretrain_metafiles():
    assert zoo.model_zoo_weights_url(NAME) == URL
    # the PyYAML fallback (no `modelindex`) agrees
    assert zoo._weights_from_metafiles(NAME) == URL
    assert zoo._weights_from_metafiles(NAME.upper()) == URL


def test_unknown_name_and_plain_paths():
    with pytest.raises(ValueError, match='Unknown mmpretrain model-zoo name'):
        zoo.resolve_teacher_checkpoint('mmpretrain://no_such_model')
    assert zoo.resolve_teacher_checkpoint('ckpt/x.pth') == 'ckpt/x.pth'
    assert not zoo.is_model_zoo_name('checkpoints/mae.pth')
    assert zoo.is_model_zoo_name('mmpretrain://' + NAME)


def test_cache_location_and_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    path = osp.join(str(tmp_path), 'hub', 'checkpoints', osp.basename(URL))
    assert zoo.model_zoo_cache_path(URL) == path
    with pytest.raises(FileNotFoundError) as e:
        zoo.resolve_teacher_checkpoint('mmpretrain://' + NAME, download=False)
    msg = str(e.value)
    assert URL in msg and path in msg and 'download=False' in msg

    def offline(url, dst, timeout):
        raise OSError('Temporary failure in name resolution')

    monkeypatch.setattr(zoo, '_download', offline)
    with pytest.raises(
            FileNotFoundError, match='download failed.*name '
            'resolution') as e:
        zoo.resolve_teacher_checkpoint('mmpretrain://' + NAME)
    assert path in str(e.value)
    assert not osp.exists(path)


def test_cached_file_is_used_and_download_writes_there(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    fetched = []

    def fake_download(url, dst, timeout):
        fetched.append(url)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        torch.save({}, dst)

    monkeypatch.setattr(zoo, '_download', fake_download)
    path = zoo.resolve_teacher_checkpoint('mmpretrain://' + NAME)
    assert fetched == [URL] and osp.isfile(path)
    # second time: from the cache, no download
    assert zoo.resolve_teacher_checkpoint('mmpretrain://' + NAME) == path
    assert fetched == [URL]
