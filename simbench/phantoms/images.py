"""Natural-image ground truths from the images shipped inside scikit-image.

Only images stored in the scikit-image wheel are used (no download at run
time).  They are split into two disjoint pools so that training data can never
contain a test image; :data:`SOURCE_IMAGES` lists each with its pool and size.

Each pool holds five images of at least 512x512, so default 512x512 crops
draw from either pool.  Trivially synthetic graphics (checkerboard,
colorwheel), generated data (binary_blobs), stacks (lfw_subset), stereo pairs
and aliases (cat = chelsea) are left out.

Ground truth stays at the image's native resolution: crops use only flips and
90 degree rotations, never interpolation.
"""
from __future__ import annotations

import functools
import hashlib

import numpy as np

#: Pool names.
POOLS: tuple[str, ...] = ("train", "test")

#: Source name -> (``skimage.data`` function name, pool, (H, W) pixels).  The shape is
#: declared so that choosing a pool's images reads none of them; ``load_source``
#: checks it.
SOURCE_IMAGES: dict[str, tuple[str, str, tuple[int, int]]] = {
    "astronaut": ("astronaut", "train", (512, 512)),
    "immunohistochemistry": ("immunohistochemistry", "train", (512, 512)),
    "grass": ("grass", "train", (512, 512)),
    "brick": ("brick", "train", (512, 512)),
    "retina": ("retina", "train", (1411, 1411)),
    "coffee": ("coffee", "train", (400, 600)),
    "rocket": ("rocket", "train", (427, 640)),
    "logo": ("logo", "train", (500, 500)),
    "chelsea": ("chelsea", "train", (300, 451)),
    "horse": ("horse", "train", (328, 400)),
    "page": ("page", "train", (191, 384)),
    "camera": ("camera", "test", (512, 512)),
    "moon": ("moon", "test", (512, 512)),
    "gravel": ("gravel", "test", (512, 512)),
    "cell": ("cell", "test", (660, 550)),
    "hubble_deep_field": ("hubble_deep_field", "test", (872, 1000)),
    "shepp_logan_phantom": ("shepp_logan_phantom", "test", (400, 400)),
    "clock": ("clock", "test", (300, 400)),
    "coins": ("coins", "test", (303, 384)),
    "text": ("text", "test", (172, 448)),
    "microaneurysms": ("microaneurysms", "test", (102, 102)),
}


def _to_grey(raw: np.ndarray) -> np.ndarray:
    """Convert a bool, greyscale, RGB or RGBA image to float32 grey in [0, 1]."""
    from skimage.color import rgb2gray
    from skimage.util import img_as_float

    if raw.dtype == bool:
        grey = raw.astype(np.float32)
    elif raw.ndim == 3:
        grey = rgb2gray(raw[..., :3])  # RGBA: alpha dropped
    else:
        grey = img_as_float(raw)
    return np.clip(grey, 0.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=None)
def load_source(name: str) -> np.ndarray:
    """Source image ``name`` as read-only float32 greyscale in [0, 1], (H, W) pixels."""
    if name not in SOURCE_IMAGES:
        raise ValueError(f"unknown source image {name!r}; known: {sorted(SOURCE_IMAGES)}")
    import skimage.data  # here, not at import: it loads scikit-image's io stack (~0.1 s), needed once a run reads an image

    function_name, _, shape = SOURCE_IMAGES[name]
    image = np.ascontiguousarray(_to_grey(getattr(skimage.data, function_name)()))
    if image.shape != shape:
        raise RuntimeError(f"scikit-image's {function_name!r} is {image.shape[0]}x{image.shape[1]} "
                           f"pixels, not the declared {shape[0]}x{shape[1]}: this scikit-image "
                           "version ships other images, so the suites would change")
    image.setflags(write=False)
    return image


def source_sha256(name: str) -> str:
    """Hex sha256 of the float32 bytes of ``load_source(name)``."""
    return hashlib.sha256(load_source(name).tobytes()).hexdigest()


def pool_sources(pool: str, min_shape: tuple[int, int]) -> list[str]:
    """Sorted names in ``pool`` whose images are at least ``min_shape`` (H, W) pixels."""
    if pool not in POOLS:
        raise ValueError(f"unknown pool {pool!r}; expected one of {POOLS}")
    names = sorted(
        name for name, (_, source_pool, shape) in SOURCE_IMAGES.items()
        if source_pool == pool and all(s >= m for s, m in zip(shape, min_shape))
    )
    if not names:
        raise ValueError(
            f"no image in pool {pool!r} is at least {min_shape[0]}x{min_shape[1]} pixels")
    return names


def _fitting_transforms(image_shape: tuple[int, int],
                        shape: tuple[int, int]) -> list[tuple[int, bool]]:
    """Dihedral transforms (quarter turns, flip) after which ``shape`` fits in the image."""
    fits_upright = image_shape[0] >= shape[0] and image_shape[1] >= shape[1]
    fits_turned = image_shape[1] >= shape[0] and image_shape[0] >= shape[1]
    return [(turns, flip) for turns in range(4) for flip in (False, True)
            if (fits_turned if turns % 2 else fits_upright)]


def random_crop(image: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Seeded ``shape`` (H, W) pixel crop under a random flip / 90 degree rotation.

    No interpolation: every output pixel is a pixel of ``image``.  Only
    transforms after which the crop fits are drawn.  Returns a float32
    C-contiguous copy.
    """
    if image.ndim != 2:
        raise ValueError(f"expected a 2D image, got shape {image.shape}")
    transforms = _fitting_transforms(image.shape, shape)
    if not transforms:
        raise ValueError(f"image of {image.shape[0]}x{image.shape[1]} pixels is smaller "
                         f"than the {shape[0]}x{shape[1]} crop in every orientation")
    turns, flip = transforms[rng.integers(len(transforms))]
    view = np.rot90(image, turns)
    if flip:
        view = view[:, ::-1]
    top = rng.integers(view.shape[0] - shape[0] + 1)
    left = rng.integers(view.shape[1] - shape[1] + 1)
    crop = view[top:top + shape[0], left:left + shape[1]]
    return np.array(crop, dtype=np.float32, order="C")
