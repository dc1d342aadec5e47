"""Ground-truth samples for 2D SIM: natural images and procedural cell scenes."""
from simbench.phantoms.cells import POOL_KEY, render_cell_scene, scene_rng
from simbench.phantoms.images import (
    POOLS,
    SOURCE_IMAGES,
    load_source,
    pool_sources,
    random_crop,
    source_sha256,
)

__all__ = [
    "POOLS",
    "POOL_KEY",
    "SOURCE_IMAGES",
    "load_source",
    "pool_sources",
    "random_crop",
    "render_cell_scene",
    "scene_rng",
    "source_sha256",
]
