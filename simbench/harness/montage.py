"""The real-data track's montage: what each method made of one real acquisition, and where it
disagrees with the data.

Top row: the widefield image (mean of the raw frames) and every method's reconstruction on the
same crop, each scaled to its own 0.1–99.9 % percentiles; bottom row: each method's SQUIRREL
error map (:mod:`simbench.metrics.squirrel`: |widefield − fitted, blurred reconstruction|, in the
widefield's counts) on one colour scale shared by all methods, clipped at the 99.5th percentile
of all maps so that one hot pixel cannot blank the rest.  Every panel has a scale bar in µm.
Reconstructions are not stored: the methods are rerun on the one dataset.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simbench.harness.figures import ERROR_PERCENTILE, pyplot, save_figure, scale_bar
from simbench.plugin.manager import Registry
from simbench.types import Sample

#: side of the crop shown, in raw (widefield) pixels
CROP_RAW_PX = 64


def _crop(image: np.ndarray, factor: int) -> np.ndarray:
    """The central crop of ``image`` covering ``CROP_RAW_PX`` raw pixels (``factor`` × as many of its own)."""
    side = CROP_RAW_PX * factor
    h, w = image.shape
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return image[y:y + side, x:x + side]


def _gray(ax: object, image: np.ndarray) -> None:
    low, high = np.percentile(image, (0.1, 99.9))
    ax.imshow(image, cmap="gray", vmin=low, vmax=high if high > low else low + 1)


def plot_real_montage(registry: Registry, sample: Sample, methods: list[str], path: Path) -> Path:
    """The montage of ``sample`` (a real acquisition, no target) for ``methods``: reconstructions
    and SQUIRREL error maps (see the module)."""
    from simbench.harness.evaluation import as_image
    from simbench.metrics.acf import FWHM_PER_SIGMA
    from simbench.metrics.squirrel import squirrel, widefield_image
    from simbench.physics.optics import airy_fwhm_nm

    raw = sample.raw
    widefield = widefield_image(raw.frames)
    factor = round(raw.optics.pixel_size_nm / sample.target_pixel_size_nm)
    panels: list[tuple[str, np.ndarray | None, np.ndarray | str]] = []
    for name in methods:
        try:
            image = as_image(registry.method(name)().reconstruct(raw), sample.grid_shape)[0]
        except Exception as exc:  # noqa: BLE001 - plugin code: a failed panel is shown as such
            panels.append((name, None, type(exc).__name__))
            continue
        fit = squirrel(image, widefield, raw.optics.pixel_size_nm, airy_fwhm_nm(raw.optics) / FWHM_PER_SIGMA)
        panels.append((name, image, fit.error_map))
    maps = [_crop(e, 1) for _, image, e in panels if image is not None]
    limit = max(float(np.nanpercentile(np.stack(maps), ERROR_PERCENTILE)), 1e-12) if maps else 1.0
    plt = pyplot()
    fig, axes = plt.subplots(2, len(panels) + 1, figsize=(2.4 * (len(panels) + 1) + 1.0, 5.4), squeeze=False,
                             layout="constrained")
    _gray(axes[0][0], _crop(widefield, 1))
    scale_bar(axes[0][0], raw.optics.pixel_size_nm, CROP_RAW_PX)
    axes[0][0].set_title("widefield (data)", fontsize=9)
    axes[1][0].axis("off")
    shown = None
    for column, (name, image, error) in enumerate(panels, start=1):
        axes[0][column].set_title(name, fontsize=9)
        if image is None:
            axes[0][column].text(0.5, 0.5, f"failed:\n{error}", ha="center", va="center")
            axes[1][column].axis("off")
            continue
        _gray(axes[0][column], _crop(image, factor))
        scale_bar(axes[0][column], sample.target_pixel_size_nm, CROP_RAW_PX * factor)
        shown = axes[1][column].imshow(_crop(error, 1), cmap="magma", vmin=0, vmax=limit)
        scale_bar(axes[1][column], raw.optics.pixel_size_nm, CROP_RAW_PX)
        rse = math.sqrt(float(np.nanmean(error ** 2)))
        axes[1][column].set_title(f"SQUIRREL error (RMS {rse:.3g})", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if shown is not None:
        bar = fig.colorbar(shown, ax=axes[:, -1].tolist(), shrink=0.6, extend="max")
        bar.set_label(f"|error|, counts (≤ {ERROR_PERCENTILE:g} %ile)", fontsize=8)
    fig.suptitle(f"{sample.id}: central {CROP_RAW_PX}² raw-pixel crop; SQUIRREL error = |widefield − blurred, "
                 "fitted reconstruction|", fontsize=10)
    return save_figure(fig, path)
