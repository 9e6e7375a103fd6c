# Copyright (c) mkd_mm contributors. All rights reserved.
import os
import signal

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import mkd_mm  # noqa: F401  (registers the atomic local backend)
from mkd_mm.utils import atomic_io
from mkd_mm.utils.atomic_io import (AtomicLocalBackend, atomic_write,
                                    remove_stale_temp_files, temp_path)


def test_atomic_write_bytes_and_text(tmp_path):
    path = tmp_path / 'sub' / 'f.bin'
    atomic_write(path, b'\x00\x01' * 10)
    assert path.read_bytes() == b'\x00\x01' * 10
    atomic_write(path, 'héllo')
    assert path.read_text(encoding='utf-8') == 'héllo'
    assert sorted(os.listdir(path.parent)) == ['f.bin']


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(b'old complete file')

    def write_half_then_fail(file, data):
        file.write(data[:len(data) // 2])
        raise OSError('disk full')

    monkeypatch.setattr(atomic_io, '_write_and_sync', write_half_then_fail)
    with pytest.raises(OSError, match='disk full'):
        atomic_write(path, b'new content that never completes')
    assert path.read_bytes() == b'old complete file'
    assert os.listdir(tmp_path) == ['ckpt.pth']  # temporary file removed


def test_killed_write_leaves_only_a_temp_file(tmp_path):
    """A real SIGKILL in the middle of a write (a forked child)."""
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(b'previous')
    pid = os.fork()
    if pid == 0:  # child: write 10 of 100 bytes, then die
        try:

            def die(file, data):
                file.write(data[:10])
                file.flush()
                os.kill(os.getpid(), signal.SIGKILL)

            atomic_io._write_and_sync = die
            atomic_write(path, b'x' * 100)
        finally:
            os._exit(3)  # not reached unless the kill failed
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert path.read_bytes() == b'previous'
    temps = [p for p in tmp_path.iterdir() if p.name != 'ckpt.pth']
    assert [p.name for p in temps] == [f'ckpt.pth.tmp-{pid}']
    assert temps[0].read_bytes() == b'x' * 10
    assert remove_stale_temp_files(tmp_path) == [str(temps[0])]
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_stale_temp_files_of_live_processes_are_kept(tmp_path):
    own = tmp_path / 'a.pth.tmp-{}'.format(os.getpid())
    own.write_bytes(b'being written')
    dead_pid = 2**22 + 12345  # above the default pid_max: never alive
    dead = tmp_path / f'b.pth.tmp-{dead_pid}'
    dead.write_bytes(b'killed')
    other = tmp_path / 'notes.tmp-x'
    other.write_bytes(b'not ours')
    assert remove_stale_temp_files(tmp_path) == [str(dead)]
    assert own.exists() and other.exists() and not dead.exists()
    assert temp_path('/w/x.pth') == f'/w/x.pth.tmp-{os.getpid()}'


def test_mmengine_saves_local_checkpoints_atomically(tmp_path, monkeypatch):
    backend = get_file_backend(str(tmp_path / 'x.pth'))
    assert isinstance(backend, AtomicLocalBackend)
    written = []
    real_replace = os.replace

    def record_replace(src, dst):
        written.append((os.path.basename(src), os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic_io.os, 'replace', record_replace)
    state = {'w': torch.arange(5.)}
    save_checkpoint(state, str(tmp_path / 'epoch_1.pth'))
    assert written == [(f'epoch_1.pth.tmp-{os.getpid()}', 'epoch_1.pth')]
    loaded = torch.load(str(tmp_path / 'epoch_1.pth'), weights_only=True)
    assert torch.equal(loaded['w'], state['w'])
    backend.put_text('a/b.pth', str(tmp_path / 'last'))
    assert (tmp_path / 'last').read_text() == 'a/b.pth'
    assert written[-1] == (f'last.tmp-{os.getpid()}', 'last')
