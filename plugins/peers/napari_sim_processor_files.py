"""Reconstruct a folder exported by ``simbench simulate`` with napari-sim-processor (BSD-3, PyPI),
for ``simbench score``: the file-based path for a peer tool that needs its GUI stack to import.

napari-sim-processor's package imports its napari widget (napari, Qt) on import, so simbench does
not load it as a plugin; this script runs in an environment where it is installed
(``pip install napari-sim-processor napari pyqt5 tifffile``), uses only its public processor
class ``ConvSimProcessor`` (2-beam SIM, 3 angles × 3 phases, its default Wiener parameters,
carriers found from the data), and writes ``OUT/<id>.tif`` on the 2× grid::

    simbench simulate --suite static --size full -o data/
    python plugins/peers/napari_sim_processor_files.py data/ out/
    simbench score --suite static --size full --predictions out/ --name napari-sim-processor \\
        --tool-version "napari-sim-processor $(python -c 'import importlib.metadata as m; print(m.version("napari-sim-processor"))')"

It reads only the exported files (``suite.json``, ``meta/<id>.json`` for optics and frame order,
``raw/<id>.tif``) and imports nothing from simbench.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import tifffile

#: the only modality ConvSimProcessor's 3 × 3 configuration reconstructs
STRIPES = "sim2d-stripes-3x3"


def reconstruct(frames: np.ndarray, optics: dict, frame_patterns: list[int]) -> np.ndarray:
    """napari-sim-processor's reconstruction (2H, 2W) float32 of 9 frames (any order given by
    ``frame_patterns``: pattern index 3·angle + phase of each frame), ``optics`` in simbench's
    exported units (nm)."""
    from napari_sim_processor.processors.convSimProcessor import ConvSimProcessor

    ordered = np.asarray(frames, dtype=np.float32)[np.argsort(frame_patterns)]  # angle-major
    processor = ConvSimProcessor(angleSteps=3, phaseSteps=3)
    processor.debug = False
    processor.pixelsize = optics["pixel_size_nm"] * 1e-3  # µm at the sample: magnification 1
    processor.magnification = 1.0
    processor.NA = optics["na"]
    processor.n = optics["refractive_index"]
    processor.wavelength = optics["wavelength_nm"] * 1e-3
    processor.calibrate(ordered)
    return np.asarray(processor.reconstruct_rfftw(ordered), dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="folder written by `simbench simulate`")
    parser.add_argument("out", type=Path, help="folder for <id>.tif reconstructions")
    args = parser.parse_args(argv)
    suite = json.loads((args.data / "suite.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    for sample_id in suite["sample_ids"]:
        meta = json.loads((args.data / "meta" / f"{sample_id}.json").read_text())
        if meta["modality"] != STRIPES:
            print(f"{sample_id}: modality {meta['modality']} is not {STRIPES}; skipped", file=sys.stderr)
            continue
        frames = tifffile.imread(args.data / "raw" / f"{sample_id}.tif")
        image = reconstruct(frames, meta["optics"], meta["frame_patterns"])
        tifffile.imwrite(args.out / f"{sample_id}.tif", image)
        print(f"{sample_id}: {image.shape[1]}x{image.shape[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
