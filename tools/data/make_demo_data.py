# Copyright (c) mkd_mm contributors. All rights reserved.
"""Generate the small synthetic data sets used by the demos and the tests.

Three data sets are written under ``--out`` (default ``data/demo``), each in
the on-disk layout of the real data set it stands in for, so that the real
dataset classes read them unchanged:

* ``imagenet/``: ImageNet-style classification (10 shape classes), loadable by
  ``mmpretrain.datasets.ImageNet`` / ``CustomDataset`` with or without the
  ``meta/{train,val}.txt`` annotation lists.
* ``coco/``: COCO-2017-style instance segmentation (4 shape categories,
  polygon masks), loadable by ``mmdet.datasets.CocoDataset``.
* ``ade/ADEChallengeData2016/``: ADE20K-style semantic segmentation (toy
  street scenes), loadable by ``mmseg.datasets.ADE20KDataset``. The label
  values 1..5 are the ADE20K ids of ``wall, building, sky, floor, tree`` and 0
  is "other" (ignored with ``reduce_zero_label=True``).

The images are drawn with PIL: one antialiased shape (or a small scene) with
random position, scale, rotation and colour on a smooth random background, so
that the classes can be learned by a small model in a few epochs. The output
is a pure function of ``--seed``: running the script twice gives the same
bytes. ``manifest.json`` (written last) lists every file with its size and is
what ``--check`` uses to decide whether a previous run completed.

Example:
    python tools/data/make_demo_data.py --out data/demo --seed 0
    python tools/data/make_demo_data.py --out data/demo --check  # exit 0/1
"""
import argparse
import io
import json
import math
import os
import os.path as osp
import random
import shutil
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: Bump when the generated content changes, so that stale copies regenerate.
GENERATOR_VERSION = 1

#: Class names of the ImageNet-style set, in label order (sorted, so that the
#: folder-based loader of ``CustomDataset`` assigns the same labels).
IMAGENET_CLASSES: Tuple[str, ...] = ('arrow', 'circle', 'crescent', 'cross',
                                     'diamond', 'hexagon', 'ring', 'square',
                                     'star', 'triangle')
IMAGENET_SIZE = 96
IMAGENET_TRAIN_PER_CLASS = 40
IMAGENET_VAL_PER_CLASS = 10

#: COCO-style categories (category ids 1..4, in this order).
COCO_CLASSES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'star')
COCO_SIZE = 128
COCO_NUM_TRAIN = 24
COCO_NUM_VAL = 8

#: ADE20K classes used by the scene set. Their ADE20K ids (1-based, the pixel
#: values in the label maps) are 1..5; 0 is "other".
ADE_CLASSES: Tuple[str, ...] = ('wall', 'building', 'sky', 'floor', 'tree')
ADE_SIZE = 128
ADE_NUM_TRAIN = 16
ADE_NUM_VAL = 4

SUPERSAMPLE = 4  # antialiasing factor for shape masks
JPEG_QUALITY = 90

Point = Tuple[float, float]


# --------------------------------------------------------------------------
# drawing helpers
# --------------------------------------------------------------------------
def _regular_polygon(n: int,
                     cx: float,
                     cy: float,
                     r: float,
                     angle: float,
                     aspect: float = 1.0) -> List[Point]:
    """Vertices of a regular ``n``-gon (optionally squashed along one axis).

    Args:
        n (int): Number of vertices.
        cx (float): Centre x.
        cy (float): Centre y.
        r (float): Circumradius.
        angle (float): Rotation in radians.
        aspect (float): Scale of the second axis before rotation.
            Defaults to 1.0.

    Returns:
        List[Point]: The vertices, counter-clockwise.
    """
    pts = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = r * math.cos(t), r * aspect * math.sin(t)
        pts.append(_rotate(x, y, angle, cx, cy))
    return pts


def _rotate(x: float, y: float, angle: float, cx: float, cy: float) -> Point:
    """Rotate ``(x, y)`` by ``angle`` and translate it by ``(cx, cy)``."""
    c, s = math.cos(angle), math.sin(angle)
    return (cx + c * x - s * y, cy + s * x + c * y)


def _transform(pts: Sequence[Point], cx: float, cy: float, r: float,
               angle: float) -> List[Point]:
    """Scale unit-box points by ``r``, rotate by ``angle``, move to centre."""
    return [_rotate(x * r, y * r, angle, cx, cy) for x, y in pts]


def shape_parts(name: str, cx: float, cy: float, r: float,
                angle: float) -> List[Tuple[List[Point], bool]]:
    """Polygons that make up a shape, each flagged filled (True) or hole.

    Args:
        name (str): Shape name, one of :data:`IMAGENET_CLASSES`.
        cx (float): Centre x in pixels.
        cy (float): Centre y in pixels.
        r (float): Radius (half the extent) in pixels.
        angle (float): Rotation in radians.

    Returns:
        List[Tuple[List[Point], bool]]: Polygons in drawing order.
    """
    if name == 'circle':
        return [(_regular_polygon(48, cx, cy, r, 0.0), True)]
    if name == 'ring':
        return [(_regular_polygon(48, cx, cy, r, 0.0), True),
                (_regular_polygon(48, cx, cy, 0.55 * r, 0.0), False)]
    if name == 'crescent':
        dx, dy = _rotate(0.45 * r, 0.0, angle, 0.0, 0.0)
        return [(_regular_polygon(48, cx, cy, r, 0.0), True),
                (_regular_polygon(48, cx + dx, cy + dy, 0.85 * r, 0.0), False)]
    if name == 'square':
        return [(_regular_polygon(4, cx, cy, r, angle + math.pi / 4), True)]
    if name == 'diamond':
        return [(_regular_polygon(4, cx, cy, r, angle, aspect=0.55), True)]
    if name == 'hexagon':
        return [(_regular_polygon(6, cx, cy, r, angle), True)]
    if name == 'triangle':
        return [(_regular_polygon(3, cx, cy, r, angle), True)]
    if name == 'star':
        pts = []
        for k in range(10):
            t = angle + math.pi * k / 5
            rr = r if k % 2 == 0 else 0.42 * r
            pts.append((cx + rr * math.cos(t), cy + rr * math.sin(t)))
        return [(pts, True)]
    if name == 'cross':
        a = 0.3
        unit = [(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a), (a, 1),
                (-a, 1), (-a, a), (-1, a), (-1, -a), (-a, -a)]
        return [(_transform(unit, cx, cy, r, angle), True)]
    if name == 'arrow':
        unit = [(-1, -0.25), (0.15, -0.25), (0.15, -0.7), (1, 0), (0.15, 0.7),
                (0.15, 0.25), (-1, 0.25)]
        return [(_transform(unit, cx, cy, r, angle), True)]
    raise ValueError(f'unknown shape {name!r}')


def render_mask(parts: Sequence[Tuple[List[Point], bool]],
                size: Tuple[int, int]) -> np.ndarray:
    """Antialiased coverage mask (float in [0, 1]) of the given polygons.

    Args:
        parts (Sequence[Tuple[List[Point], bool]]): Output of
            :func:`shape_parts`.
        size (Tuple[int, int]): ``(width, height)`` of the image.

    Returns:
        np.ndarray: An ``(H, W)`` float32 coverage mask.
    """
    w, h = size
    big = Image.new('L', (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    for pts, fill in parts:
        draw.polygon([(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in pts],
                     fill=255 if fill else 0)
    small = big.resize((w, h), Image.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """Convert one HSV colour (all in [0, 1]) to an RGB array in [0, 255]."""
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=np.float32) * 255.0


def natural_background(rng: random.Random, w: int, h: int) -> np.ndarray:
    """A smooth, muted random background: a gradient plus soft blobs.

    Args:
        rng (random.Random): Random generator.
        w (int): Width.
        h (int): Height.

    Returns:
        np.ndarray: ``(H, W, 3)`` float32 RGB image in [0, 255].
    """
    c0 = _hsv_to_rgb(rng.random(), rng.uniform(0.05, 0.35),
                     rng.uniform(0.3, 0.9))
    c1 = _hsv_to_rgb(rng.random(), rng.uniform(0.05, 0.35),
                     rng.uniform(0.3, 0.9))
    theta = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (math.cos(theta) * (xs / w - 0.5) + math.sin(theta) *
         (ys / h - 0.5)) + 0.5
    t = np.clip(t, 0, 1)[..., None]
    img = c0 * (1 - t) + c1 * t
    # a few large blurred blobs (like out-of-focus clutter)
    blobs = Image.new('RGB', (w, h), (0, 0, 0))
    alpha = Image.new('L', (w, h), 0)
    bd, ad = ImageDraw.Draw(blobs), ImageDraw.Draw(alpha)
    for _ in range(rng.randint(2, 5)):
        bw, bh = rng.uniform(0.2, 0.6) * w, rng.uniform(0.2, 0.6) * h
        x0, y0 = rng.uniform(-0.2, 0.9) * w, rng.uniform(-0.2, 0.9) * h
        col = _hsv_to_rgb(rng.random(), rng.uniform(0.05, 0.4),
                          rng.uniform(0.25, 0.95))
        box = [x0, y0, x0 + bw, y0 + bh]
        bd.ellipse(box, fill=tuple(int(c) for c in col))
        ad.ellipse(box, fill=rng.randint(60, 140))
    radius = max(w, h) / 12
    blobs = blobs.filter(ImageFilter.GaussianBlur(radius))
    alpha = alpha.filter(ImageFilter.GaussianBlur(radius))
    a = np.asarray(alpha, dtype=np.float32)[..., None] / 255.0
    img = img * (1 - a) + np.asarray(blobs, dtype=np.float32) * a
    return img


def foreground_colour(rng: random.Random, background: np.ndarray,
                      mask: np.ndarray) -> np.ndarray:
    """A saturated colour that contrasts with the background under ``mask``.

    Args:
        rng (random.Random): Random generator.
        background (np.ndarray): ``(H, W, 3)`` background.
        mask (np.ndarray): ``(H, W)`` coverage of the shape.

    Returns:
        np.ndarray: An RGB colour (float32, [0, 255]).
    """
    weight = mask.sum() + 1e-6
    bg_lum = float((background.mean(axis=2) * mask).sum() / weight)
    for _ in range(20):
        col = _hsv_to_rgb(rng.random(), rng.uniform(0.55, 1.0),
                          rng.uniform(0.35, 1.0))
        if abs(float(col.mean()) - bg_lum) > 60:
            return col
    return np.full(3, 255.0 if bg_lum < 128 else 20.0, dtype=np.float32)


def paint(img: np.ndarray, mask: np.ndarray, colour: np.ndarray,
          rng: random.Random) -> np.ndarray:
    """Alpha-blend a softly shaded solid colour into ``img`` under ``mask``.

    Args:
        img (np.ndarray): ``(H, W, 3)`` image.
        mask (np.ndarray): ``(H, W)`` coverage in [0, 1].
        colour (np.ndarray): RGB colour.
        rng (random.Random): Random generator (shading direction).

    Returns:
        np.ndarray: The blended image.
    """
    h, w = mask.shape
    theta = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 1 + 0.15 * (math.cos(theta) * (xs / w - 0.5) + math.sin(theta) *
                        (ys / h - 0.5)) * 2
    fg = np.clip(colour[None, None, :] * shade[..., None], 0, 255)
    a = mask[..., None]
    return img * (1 - a) + fg * a


def to_jpeg_bytes(img: np.ndarray) -> bytes:
    """Encode an RGB float image as JPEG bytes (deterministic)."""
    buf = io.BytesIO()
    Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8)).save(
        buf, format='JPEG', quality=JPEG_QUALITY)
    return buf.getvalue()


def to_png_bytes(label: np.ndarray) -> bytes:
    """Encode a uint8 label map as a PNG (mode ``L``)."""
    buf = io.BytesIO()
    Image.fromarray(label.astype(np.uint8), mode='L').save(buf, format='PNG')
    return buf.getvalue()


# --------------------------------------------------------------------------
# the three data sets
# --------------------------------------------------------------------------
class _Writer:
    """Write files under a root and record their sizes for the manifest."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.files: Dict[str, int] = {}

    def write(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``root/rel`` (creating folders)."""
        path = osp.join(self.root, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
        self.files[rel] = len(data)

    def write_text(self, rel: str, text: str) -> None:
        """Write UTF-8 text to ``root/rel``."""
        self.write(rel, text.encode('utf-8'))


def classification_image(rng: random.Random, name: str,
                         size: int) -> np.ndarray:
    """One image of the ImageNet-style set: a shape on a natural background.

    Args:
        rng (random.Random): Random generator.
        name (str): The shape (class) name.
        size (int): Image side in pixels.

    Returns:
        np.ndarray: ``(size, size, 3)`` float image.
    """
    img = natural_background(rng, size, size)
    # small soft distractors that are not any class
    for _ in range(rng.randint(0, 2)):
        rr = rng.uniform(0.04, 0.08) * size
        cx, cy = rng.uniform(0, size), rng.uniform(0, size)
        m = render_mask([(_regular_polygon(16, cx, cy, rr, 0.0), True)],
                        (size, size))
        m = np.asarray(
            Image.fromarray((m * 255).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(1.5)),
            dtype=np.float32) / 255.0 * 0.7
        img = paint(img, m, foreground_colour(rng, img, m), rng)
    r = rng.uniform(0.22, 0.38) * size
    cx = rng.uniform(r + 2, size - r - 2)
    cy = rng.uniform(r + 2, size - r - 2)
    if name in ('square', 'cross'):
        angle = math.radians(rng.uniform(-15, 15))
    elif name == 'diamond':
        angle = math.radians(90 + rng.uniform(-20, 20))
    elif name == 'triangle':
        angle = math.radians(-90 + rng.choice([0, 180]) + rng.uniform(-20, 20))
    else:
        angle = rng.uniform(0, 2 * math.pi)
    mask = render_mask(shape_parts(name, cx, cy, r, angle), (size, size))
    return paint(img, mask, foreground_colour(rng, img, mask), rng)


def make_imagenet(writer: _Writer, seed: int) -> dict:
    """Write the ImageNet-style classification set under ``imagenet/``.

    Args:
        writer (_Writer): The output writer (rooted at ``--out``).
        seed (int): Random seed.

    Returns:
        dict: Counts for the manifest.
    """
    counts = {}
    for split, per_class in (('train', IMAGENET_TRAIN_PER_CLASS),
                             ('val', IMAGENET_VAL_PER_CLASS)):
        lines = []
        for label, name in enumerate(IMAGENET_CLASSES):
            rng = random.Random(f'{seed}-imagenet-{split}-{name}')
            for i in range(per_class):
                rel = f'{name}/{name}_{split}_{i:04d}.JPEG'
                img = classification_image(rng, name, IMAGENET_SIZE)
                writer.write(f'imagenet/{split}/{rel}', to_jpeg_bytes(img))
                lines.append(f'{rel} {label}')
        writer.write_text(f'imagenet/meta/{split}.txt',
                          '\n'.join(lines) + '\n')
        counts[split] = len(lines)
    writer.write_text('imagenet/meta/classes.txt',
                      '\n'.join(IMAGENET_CLASSES) + '\n')
    return dict(
        classes=list(IMAGENET_CLASSES), image_size=IMAGENET_SIZE, **counts)


def _polygon_area(pts: Sequence[Point]) -> float:
    """Area of a simple polygon (shoelace formula)."""
    s = 0.0
    for (x0, y0), (x1, y1) in zip(pts, list(pts[1:]) + [pts[0]]):
        s += x0 * y1 - x1 * y0
    return abs(s) / 2


def make_coco(writer: _Writer, seed: int) -> dict:
    """Write the COCO-style instance segmentation set under ``coco/``.

    Args:
        writer (_Writer): The output writer.
        seed (int): Random seed.

    Returns:
        dict: Counts for the manifest.
    """
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(COCO_CLASSES)
    ]
    counts = {}
    ann_id = 1
    img_id = 1
    for split, num in (('train', COCO_NUM_TRAIN), ('val', COCO_NUM_VAL)):
        rng = random.Random(f'{seed}-coco-{split}')
        images, annotations = [], []
        for _ in range(num):
            size = COCO_SIZE
            img = natural_background(rng, size, size)
            placed: List[Tuple[float, float, float]] = []
            want = rng.randint(1, 4)
            for _ in range(50):  # rejection sampling of non-overlapping discs
                if len(placed) == want:
                    break
                r = rng.uniform(10, 26)
                cx = rng.uniform(r + 1, size - r - 1)
                cy = rng.uniform(r + 1, size - r - 1)
                if any((cx - x)**2 + (cy - y)**2 < (r + rr + 3)**2
                       for x, y, rr in placed):
                    continue
                placed.append((cx, cy, r))
            file_name = f'{img_id:012d}.jpg'
            for cx, cy, r in placed:
                cat = rng.randrange(len(COCO_CLASSES))
                name = COCO_CLASSES[cat]
                angle = (
                    math.radians(rng.uniform(-15, 15))
                    if name == 'square' else rng.uniform(0, 2 * math.pi))
                parts = shape_parts(name, cx, cy, r, angle)
                pts = parts[0][0]
                mask = render_mask(parts, (size, size))
                img = paint(img, mask, foreground_colour(rng, img, mask), rng)
                xs = [p[0] for p in pts]
                ys = [p[1] for p in pts]
                x0, y0 = max(min(xs), 0.0), max(min(ys), 0.0)
                x1, y1 = min(max(xs), size), min(max(ys), size)
                annotations.append(
                    dict(
                        id=ann_id,
                        image_id=img_id,
                        category_id=cat + 1,
                        segmentation=[[round(v, 2) for p in pts for v in p]],
                        area=round(_polygon_area(pts), 2),
                        bbox=[
                            round(x0, 2),
                            round(y0, 2),
                            round(x1 - x0, 2),
                            round(y1 - y0, 2)
                        ],
                        iscrowd=0))
                ann_id += 1
            writer.write(f'coco/{split}2017/{file_name}', to_jpeg_bytes(img))
            images.append(
                dict(id=img_id, file_name=file_name, width=size, height=size))
            img_id += 1
        ann = dict(
            info=dict(
                description='mkd_mm synthetic COCO-style demo set',
                version=str(GENERATOR_VERSION)),
            licenses=[],
            images=images,
            annotations=annotations,
            categories=categories)
        writer.write_text(f'coco/annotations/instances_{split}2017.json',
                          json.dumps(ann, sort_keys=True))
        counts[split] = dict(images=len(images), instances=len(annotations))
    return dict(classes=list(COCO_CLASSES), image_size=COCO_SIZE, **counts)


def scene(rng: random.Random, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """A toy street scene and its ADE20K-style label map.

    Args:
        rng (random.Random): Random generator.
        size (int): Image side.

    Returns:
        Tuple[np.ndarray, np.ndarray]: ``(H, W, 3)`` float image and
        ``(H, W)`` uint8 labels (1 wall, 2 building, 3 sky, 4 floor, 5 tree,
        0 other).
    """
    wall, building, sky, floor, tree = 1, 2, 3, 4, 5
    h = w = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    label = np.zeros((h, w), np.uint8)
    horizon = int(rng.uniform(0.35, 0.6) * h)

    def fill(region: np.ndarray, colour: np.ndarray, cls: int) -> None:
        img[region] = colour if colour.ndim == 1 else colour[region]
        label[region] = cls

    # sky: vertical gradient, a couple of soft clouds (still sky)
    top = _hsv_to_rgb(
        rng.uniform(0.55, 0.65), rng.uniform(0.5, 0.8), rng.uniform(0.6, 0.9))
    low = _hsv_to_rgb(rng.uniform(0.55, 0.62), rng.uniform(0.1, 0.3), 0.95)
    t = (ys / max(horizon, 1))[..., None]
    fill(ys < horizon, top * (1 - t) + low * t, sky)
    for _ in range(rng.randint(0, 2)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, horizon * 0.7)
        ex, ey = rng.uniform(8, 20), rng.uniform(3, 7)
        cloud = (((xs - cx) / ex)**2 + ((ys - cy) / ey)**2 < 1) & (
            ys < horizon)
        img[cloud] = img[cloud] * 0.3 + 0.7 * 245
    # floor: base colour with perspective tile lines
    base = _hsv_to_rgb(
        rng.uniform(0.05, 0.12), rng.uniform(0.2, 0.5), rng.uniform(0.35, 0.6))
    region = ys >= horizon
    depth = (ys - horizon + 4) / (h - horizon + 4)
    tiles = (np.floor(np.log(np.clip(depth, 1e-3, None)) * 6) % 2) == 0
    fl = np.where(tiles[..., None], base * 1.1, base * 0.9)
    fill(region, np.clip(fl, 0, 255), floor)
    # buildings on the horizon
    for _ in range(rng.randint(1, 3)):
        bw = rng.uniform(0.15, 0.35) * w
        bh = rng.uniform(0.2, 0.5) * h
        x0 = rng.uniform(-0.1, 0.9) * w
        region = (xs >= x0) & (xs < x0 + bw) & (ys >= horizon - bh) & (
            ys < horizon + 2)
        col = _hsv_to_rgb(
            rng.uniform(0.0, 0.15), rng.uniform(0.0, 0.3),
            rng.uniform(0.45, 0.8))
        windows = ((xs - x0) % 8 > 4) & ((ys - horizon) % 9 > 5)
        bimg = np.where(windows[..., None], col * 0.45, col)
        fill(region, np.broadcast_to(bimg, img.shape), building)
    # trees: trunk + canopy
    for _ in range(rng.randint(1, 3)):
        tx = rng.uniform(0.05, 0.95) * w
        base_y = horizon + rng.uniform(0, 0.15) * h
        cr = rng.uniform(8, 18)
        cy = base_y - cr * 1.6
        trunk = (abs(xs - tx) < max(1.5, cr * 0.18)) & (ys <= base_y) & (
            ys >= cy)
        canopy = ((xs - tx)**2 + (ys - cy)**2) < cr**2
        fill(trunk, _hsv_to_rgb(0.07, 0.6, 0.35), tree)
        green = _hsv_to_rgb(
            rng.uniform(0.25, 0.38), rng.uniform(0.5, 0.8),
            rng.uniform(0.3, 0.6))
        leaf = np.where(((xs + ys) % 5 < 1)[..., None], green * 0.8, green)
        fill(canopy, np.broadcast_to(leaf, img.shape), tree)
    # a low brick wall in the foreground
    if rng.random() < 0.8:
        wh = rng.uniform(0.1, 0.2) * h
        y1 = rng.uniform(horizon + wh + 2, h + wh * 0.3)
        x0 = rng.uniform(-0.2, 0.5) * w
        x1 = x0 + rng.uniform(0.35, 0.8) * w
        region = (xs >= x0) & (xs < x1) & (ys >= y1 - wh) & (ys < y1)
        brick = _hsv_to_rgb(
            rng.uniform(0.0, 0.05), rng.uniform(0.5, 0.7),
            rng.uniform(0.5, 0.7))
        row = np.floor(ys / 4)
        mortar = (ys % 4 < 1) | (((xs + (row % 2) * 4) % 8) < 1)
        wimg = np.where(mortar[..., None], np.full(3, 200.0), brick)
        fill(region, np.broadcast_to(wimg, img.shape), wall)
    # "other" objects (label 0 -> ignored with reduce_zero_label)
    for _ in range(rng.randint(0, 2)):
        ox, oy = rng.uniform(0, w), rng.uniform(horizon + 4, h)
        orr = rng.uniform(3, 7)
        region = ((xs - ox)**2 + (ys - oy)**2) < orr**2
        fill(region, _hsv_to_rgb(rng.random(), 0.9, 0.95), 0)
    return img, label


def make_ade(writer: _Writer, seed: int) -> dict:
    """Write the ADE20K-style set under ``ade/ADEChallengeData2016/``.

    Args:
        writer (_Writer): The output writer.
        seed (int): Random seed.

    Returns:
        dict: Counts for the manifest.
    """
    root = 'ade/ADEChallengeData2016'
    counts = {}
    for split, folder, prefix, num in (('train', 'training', 'ADE_train',
                                        ADE_NUM_TRAIN),
                                       ('val', 'validation', 'ADE_val',
                                        ADE_NUM_VAL)):
        rng = random.Random(f'{seed}-ade-{split}')
        for i in range(num):
            img, label = scene(rng, ADE_SIZE)
            stem = f'{prefix}_{i + 1:08d}'
            writer.write(f'{root}/images/{folder}/{stem}.jpg',
                         to_jpeg_bytes(img))
            writer.write(f'{root}/annotations/{folder}/{stem}.png',
                         to_png_bytes(label))
        counts[split] = num
    return dict(
        classes=list(ADE_CLASSES),
        label_values=dict(
            other=0, **{
                c: i + 1
                for i, c in enumerate(ADE_CLASSES)
            }),
        image_size=ADE_SIZE,
        **counts)


README = """# mkd_mm synthetic demo data

Generated by `tools/data/make_demo_data.py` (version {version}, seed {seed});
do not edit, re-run the script instead. Counts are in `manifest.json`.

- `imagenet/`: ImageNet layout (`train/<class>/*.JPEG`, `val/<class>/*.JPEG`,
  `meta/{{train,val}}.txt` with "class/file.JPEG label" lines), classes
  {imagenet_classes}.
- `coco/`: COCO 2017 layout (`train2017/`, `val2017/`,
  `annotations/instances_{{train,val}}2017.json`), polygon masks, categories
  {coco_classes}.
- `ade/ADEChallengeData2016/`: ADE20K layout (`images/{{training,validation}}`
  `*.jpg`, `annotations/{{training,validation}}/*.png`); label values
  {ade_values} (0 = other, ignored with `reduce_zero_label=True`).
"""


def manifest_path(out: str) -> str:
    """Path of the manifest written (last) into ``out``."""
    return osp.join(out, 'manifest.json')


def is_complete(out: str, seed: int = 0) -> bool:
    """Whether ``out`` holds a complete set from this generator and seed.

    Args:
        out (str): The output folder.
        seed (int): The expected seed. Defaults to 0.

    Returns:
        bool: True if the manifest matches and every file it lists exists
        with the recorded size.
    """
    try:
        with open(manifest_path(out)) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    if (manifest.get('generator_version') != GENERATOR_VERSION
            or manifest.get('seed') != seed):
        return False
    for rel, size in manifest.get('files', {}).items():
        path = osp.join(out, rel)
        if not osp.isfile(path) or osp.getsize(path) != size:
            return False
    return bool(manifest.get('files'))


def generate(out: str, seed: int = 0) -> dict:
    """Generate all three data sets into ``out`` (replacing earlier ones).

    Args:
        out (str): The output folder.
        seed (int): Random seed. Defaults to 0.

    Returns:
        dict: The manifest that was written.
    """
    os.makedirs(out, exist_ok=True)
    # Remove the manifest first so that an interrupted run is detected, then
    # the folders this script owns (stale files from other versions).
    if osp.exists(manifest_path(out)):
        os.remove(manifest_path(out))
    for sub in ('imagenet', 'coco', 'ade'):
        shutil.rmtree(osp.join(out, sub), ignore_errors=True)
    writer = _Writer(out)
    info = dict(
        generator_version=GENERATOR_VERSION,
        seed=seed,
        imagenet=make_imagenet(writer, seed),
        coco=make_coco(writer, seed),
        ade=make_ade(writer, seed))
    writer.write_text(
        'README.md',
        README.format(
            version=GENERATOR_VERSION,
            seed=seed,
            imagenet_classes=', '.join(IMAGENET_CLASSES),
            coco_classes=', '.join(COCO_CLASSES),
            ade_values=', '.join(f'{i + 1} {c}'
                                 for i, c in enumerate(ADE_CLASSES))))
    manifest = dict(info, files=dict(sorted(writer.files.items())))
    tmp = manifest_path(out) + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(tmp, manifest_path(out))
    return manifest


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (List[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Generate the synthetic mkd_mm demo data sets.')
    parser.add_argument(
        '--out', default='data/demo', help='output folder (data/demo)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--check',
        action='store_true',
        help='only check: exit 0 if --out holds a complete set, else 1')
    parser.add_argument(
        '--if-missing',
        action='store_true',
        help='generate only if --out does not hold a complete set')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point.

    Args:
        argv (List[str], optional): Command-line arguments.

    Returns:
        int: The exit status.
    """
    args = parse_args(argv)
    complete = is_complete(args.out, args.seed)
    if args.check:
        print(f'{args.out}: ' + ('complete' if complete else 'incomplete'))
        return 0 if complete else 1
    if args.if_missing and complete:
        print(f'{args.out}: complete, nothing to do')
        return 0
    manifest = generate(args.out, args.seed)
    print(f"wrote {len(manifest['files'])} files to {args.out}: "
          f"imagenet {manifest['imagenet']['train']}+"
          f"{manifest['imagenet']['val']} images, "
          f"coco {manifest['coco']['train']['images']}+"
          f"{manifest['coco']['val']['images']} images, "
          f"ade {manifest['ade']['train']}+{manifest['ade']['val']} images")
    return 0


if __name__ == '__main__':
    sys.exit(main())
