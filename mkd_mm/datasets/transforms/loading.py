# Copyright (c) mkd_mm contributors. All rights reserved.
"""Image loading that fails clearly on a corrupt, truncated or empty file."""
import logging
import multiprocessing as mp
from multiprocessing.context import get_spawning_popen
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
import numpy as np
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS

#: How far from the end of a file its end marker may be (a few encoders
#: append padding or metadata after it).
END_MARKER_WINDOW = 1024

_JPEG_START = b'\xff\xd8'
_JPEG_END = b'\xff\xd9'
_PNG_START = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND'


class ImageLoadError(ValueError):
    """An image file that cannot be used: missing, empty, truncated or not
    decodable. The message names the file.

    It takes a single message argument so that PyTorch's DataLoader can
    re-raise it unchanged in the main process when a worker fails.
    """


def find_truncation(content: bytes) -> Optional[str]:
    """Why the bytes of a JPEG or PNG file look truncated, if they do.

    cv2 decodes a JPEG whose end is missing without an error (the missing
    rows come out grey), and PIL can be told to do the same, so truncation
    is checked on the bytes: a JPEG must end with its end-of-image marker
    (``FF D9``) and a PNG with its ``IEND`` chunk, within the last
    :data:`END_MARKER_WINDOW` bytes. Other formats are left to the decoder.

    Args:
        content (bytes): The file's bytes.

    Returns:
        str, optional: The reason, or None if the file looks complete.
    """
    tail = content[-END_MARKER_WINDOW:]
    if content.startswith(_JPEG_START) and _JPEG_END not in tail[2:]:
        return ('is truncated: a JPEG file without its end-of-image marker '
                f'(FF D9) in its last {END_MARKER_WINDOW} bytes')
    if content.startswith(_PNG_START) and _PNG_END not in tail[8:]:
        return ('is truncated: a PNG file without its IEND chunk in its last '
                f'{END_MARKER_WINDOW} bytes')
    return None


class SharedCounter:
    """An integer counter shared by a process and the DataLoader workers it
    starts (forked or spawned, whatever the default start method was when
    the counter was made).

    It lives in shared memory without a lock: each process adds to its own
    slot (the main process to slot 0, DataLoader worker ``i`` to slot
    ``1 + i``), and the value is the sum of the slots. A copy made in any
    other way (``copy.deepcopy`` returns the same counter; pickling outside
    a process start) counts on its own.
    """

    #: Number of slots: the main process and up to 255 workers.
    NUM_SLOTS = 256

    def __init__(self) -> None:
        self._slots = mp.RawArray('q', self.NUM_SLOTS)

    def increment(self) -> int:
        """Add one in this process's slot.

        Returns:
            int: The new value (all processes).
        """
        info = torch.utils.data.get_worker_info()
        slot = 0 if info is None else 1 + info.id % (self.NUM_SLOTS - 1)
        self._slots[slot] += 1
        return self.value

    @property
    def value(self) -> int:
        """int: The current value (all processes)."""
        return sum(self._slots)

    def __deepcopy__(self, memo: dict) -> 'SharedCounter':
        return self

    def __reduce__(self):
        if get_spawning_popen() is None:  # not a worker start: a new counter
            return SharedCounter, ()
        return _rebuild_counter, (self._slots, )


def _rebuild_counter(slots) -> SharedCounter:
    counter = SharedCounter.__new__(SharedCounter)
    counter._slots = slots
    return counter


@TRANSFORMS.register_module()
class StrictLoadImageFromFile(LoadImageFromFile):
    """Load an image from file; a file that cannot be used is an error that
    names it (or, with ``skip_corrupt=True``, a skipped and counted sample).

    mmcv's ``LoadImageFromFile`` accepts a truncated JPEG without notice
    when decoding with cv2 (the missing part comes out grey) and reports an
    undecodable file only as ``AssertionError``. This transform raises
    :class:`ImageLoadError` naming the file and the reason: not found or not
    readable, empty (0 bytes), truncated (see :func:`find_truncation`) or
    not decodable by ``imdecode_backend``.

    With ``skip_corrupt=True`` it instead logs a WARNING naming the file and
    the running number of skipped samples, and returns None: mmengine's
    ``BaseDataset.__getitem__`` then draws another random index (up to
    ``max_refetch`` times, 1000 by default, in training mode; a test-mode
    dataset raises on None). The number of skipped samples
    (:attr:`num_skipped`) is shared by this process and its DataLoader
    workers; :class:`DataCheckHook` writes it to the training log. Each
    rank counts its own samples.

    With ``min_size=(h, w)``, a decoded image smaller than that is unusable
    too (for a fixed-size crop without padding further down the pipeline;
    :class:`DataCheckHook` sets it from the pipeline when it is left None).

    Args:
        skip_corrupt (bool): Skip unusable images instead of raising.
            Defaults to False.
        check_truncated (bool): Check that JPEG and PNG files end with their
            end marker. Defaults to True.
        min_size (Sequence[int], optional): Smallest usable ``(h, w)``.
            Defaults to None (any size).
        **kwargs: The arguments of mmcv's ``LoadImageFromFile``
            (``to_float32``, ``color_type``, ``imdecode_backend``,
            ``backend_args``, ...). ``ignore_empty=True`` is an alias of
            ``skip_corrupt=True``.
    """

    def __init__(self,
                 skip_corrupt: bool = False,
                 check_truncated: bool = True,
                 min_size: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if min_size is not None and (not isinstance(min_size, Sequence)
                                     or len(min_size) != 2):
            raise ValueError(f'{type(self).__name__}: min_size must be '
                             f'(h, w), got {min_size!r}')
        self.skip_corrupt = skip_corrupt or self.ignore_empty
        self.check_truncated = check_truncated
        self.min_size = tuple(min_size) if min_size is not None else None
        #: why ``min_size`` is needed (set with it by DataCheckHook)
        self.min_size_reason = 'min_size'
        self._skipped = SharedCounter()

    @property
    def num_skipped(self) -> int:
        """int: Samples skipped so far by this process and its workers."""
        return self._skipped.value

    def _read_bytes(self, filename: str) -> bytes:
        """The file's bytes through the configured file backend."""
        if self.file_client_args is not None:
            client = fileio.FileClient.infer_client(self.file_client_args,
                                                    filename)
            return client.get(filename)
        return fileio.get(filename, backend_args=self.backend_args)

    def load(self, filename: str) -> np.ndarray:
        """Read and decode one image.

        Args:
            filename (str): The image path.

        Returns:
            np.ndarray: The decoded image.

        Raises:
            ImageLoadError: If the file is missing, empty, truncated or not
                decodable; the message names the file.
        """
        try:
            content = self._read_bytes(filename)
        except Exception as e:
            raise ImageLoadError(f'image file {filename!r} cannot be read '
                                 f'({type(e).__name__}: {e})') from e
        if len(content) == 0:
            raise ImageLoadError(f'image file {filename!r} is empty (0 bytes)')
        if self.check_truncated:
            reason = find_truncation(content)
            if reason is not None:
                raise ImageLoadError(
                    f'image file {filename!r} {reason} ({len(content)} bytes)')
        try:
            img = mmcv.imfrombytes(
                content, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as e:
            raise ImageLoadError(
                f'image file {filename!r} could not be decoded by the '
                f'{self.imdecode_backend!r} backend '
                f'({type(e).__name__}: {e})') from e
        if img is None or img.size == 0:
            raise ImageLoadError(
                f'image file {filename!r} could not be decoded by the '
                f'{self.imdecode_backend!r} backend (not an image, or '
                'corrupt)')
        if self.min_size is not None and (img.shape[0] < self.min_size[0]
                                          or img.shape[1] < self.min_size[1]):
            raise ImageLoadError(
                f'image file {filename!r} is {img.shape[0]}x{img.shape[1]} '
                f'(h x w), smaller than the {self.min_size[0]}x'
                f'{self.min_size[1]} that {self.min_size_reason} needs')
        return img

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image of ``results['img_path']``.

        Args:
            results (dict): Result dict from the dataset.

        Returns:
            dict, optional: ``results`` with ``img``, ``img_shape`` and
            ``ori_shape``; None for a skipped sample.

        Raises:
            ImageLoadError: For an unusable file, unless ``skip_corrupt``.
        """
        filename = results['img_path']
        try:
            img = self.load(filename)
        except ImageLoadError as e:
            if not self.skip_corrupt:
                raise ImageLoadError(
                    f'{e}. Fix or remove the file, or set skip_corrupt=True '
                    f'in {type(self).__name__} of the dataset pipeline to '
                    'skip such samples.') from e
            count = self._skipped.increment()
            print_log(
                f'{e}: sample skipped (skip_corrupt=True); {count} '
                'sample(s) skipped so far', 'current', logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', skip_corrupt={self.skip_corrupt}, '
                f'check_truncated={self.check_truncated}, '
                f'min_size={self.min_size})')
