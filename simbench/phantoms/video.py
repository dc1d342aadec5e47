"""A user's own video as the source of moving scenes (``--suite-opt video_dir=PATH``).

``PATH`` is a folder of frame images (PNG, JPEG, TIFF, BMP; read in name order,
as REDS and most frame dumps are numbered) or one multi-page TIFF.  Frames are
converted to grey (colour by luminance; integers scaled to [0, 1] by their
type's range, floats kept) and their pixels are taken as pixels of the ground-truth grid, as the
VSR-SIM paper took its video frames as 2× targets (SCIENCE.md §1).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from simbench.errors import SimbenchError

#: file name endings read from a frame folder
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _grey(image: np.ndarray, source: Path) -> np.ndarray:
    """(H, W) float32 in [0, 1] from a grey, RGB(A) or integer image."""
    from skimage.color import rgb2gray
    from skimage.util import img_as_float32

    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = rgb2gray(image[..., :3])
    if image.ndim != 2:
        raise SimbenchError(f"{source}: expected a grey or colour frame; got shape {image.shape}")
    grey = img_as_float32(image) if image.dtype.kind in "ub" else image.astype(np.float32)
    if not np.all(np.isfinite(grey)):
        raise SimbenchError(f"{source}: frame holds NaN or infinite values")
    return grey


@dataclass(frozen=True)
class Video:
    """The frames of a folder or multi-page TIFF, read lazily (one frame at a time)."""

    path: Path
    files: tuple[Path, ...]
    n_pages: int

    def __len__(self) -> int:
        return len(self.files) or self.n_pages

    def frame(self, k: int) -> np.ndarray:
        """Frame ``k`` as (H, W) float32 grey."""
        if self.files:
            from skimage.io import imread

            source = self.files[k]
            try:
                image = imread(source)
            except Exception as exc:  # noqa: BLE001 - image readers raise many kinds
                raise SimbenchError(f"cannot read video frame {source}: {exc}") from None
            return _grey(np.asarray(image), source)
        import tifffile

        try:
            with tifffile.TiffFile(self.path) as tif:
                image = tif.pages[k].asarray()
        except Exception as exc:  # noqa: BLE001
            raise SimbenchError(f"cannot read page {k} of {self.path}: {exc}") from None
        return _grey(np.asarray(image), self.path)

    def window(self, start: int, n_frames: int, step: int) -> np.ndarray:
        """Frames start, start + step, … (n_frames of them), all of one shape: (n, H, W) float32."""
        frames = [self.frame(start + j * step) for j in range(n_frames)]
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise SimbenchError(f"{self.path}: frames {start}..{start + (n_frames - 1) * step} differ in size "
                                f"({sorted(shapes)})")
        return np.stack(frames)


@lru_cache(maxsize=4)
def open_video(path: str) -> Video:
    """The video at ``path`` (a frame folder or a multi-page TIFF); a clear error if unreadable."""
    where = Path(path).expanduser()
    if where.is_dir():
        files = tuple(sorted(p for p in where.iterdir() if p.suffix.lower() in FRAME_SUFFIXES))
        if not files:
            raise SimbenchError(f"video folder {where} holds no frame images ({', '.join(FRAME_SUFFIXES)})")
        return Video(where, files, 0)
    if not where.is_file():
        raise SimbenchError(f"video {where}: no such folder or file")
    import tifffile

    try:
        with tifffile.TiffFile(where) as tif:
            n_pages = len(tif.pages)
    except Exception as exc:  # noqa: BLE001
        raise SimbenchError(f"cannot read video {where} as a multi-page TIFF: {exc}") from None
    return Video(where, (), n_pages)


def video_window(path: str, index: int, n_samples: int, n_frames: int, step: int, out_shape: tuple[int, int],
                 rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Sample ``index`` (of ``n_samples``) from the video: ``n_frames`` frames ``step`` apart from
    the ``index``-th of consecutive, non-overlapping windows, cropped to ``out_shape`` at a position
    drawn with ``rng`` (the same for all its frames).  Returns (frames (n, H, W) float32, metadata)."""
    video = open_video(path)
    span = (n_frames - 1) * step + 1
    if len(video) < n_samples * span:
        raise SimbenchError(f"video {video.path} has {len(video)} frames; {n_samples} samples of {n_frames} frames "
                            f"{step} apart need {n_samples * span} (choose a smaller size or frame_step)")
    start = index * span
    frames = video.window(start, n_frames, step)
    height, width = frames.shape[1:]
    if height < out_shape[0] or width < out_shape[1]:
        raise SimbenchError(f"video {video.path}: frames are {height}×{width} px; the suite needs at least "
                            f"{out_shape[0]}×{out_shape[1]} (pixels of the 2× ground-truth grid)")
    top = int(rng.integers(height - out_shape[0] + 1))
    left = int(rng.integers(width - out_shape[1] + 1))
    frames = np.ascontiguousarray(frames[:, top:top + out_shape[0], left:left + out_shape[1]])
    return frames, {"kind": "video", "source": str(video.path), "first_frame": start, "frame_step": step,
                    "crop": [top, left]}
