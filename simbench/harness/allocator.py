"""The memory allocator of a simbench process, set so that large arrays are not page-faulted anew every time.

A run allocates and frees volume-sized arrays (a quick light-sheet sample is 120 × 512² voxels:
125 MB in float32, 250 MB in float64) many times per sample.  By default glibc serves every block
above its mmap threshold (at most 32 MiB) with a fresh mapping and unmaps it on free, so each such
array is page-faulted and zeroed by the kernel again, and NumPy asks for transparent huge pages on
every array of 4 MiB or more, which makes each of those faults zero (and, with the kernel's default
``defrag=madvise``, possibly compact) 2 MiB at a time.  Measured on one quick axial/chromatin sample
(generation + widefield + scoring, 2-core machine): 7.0 s with the defaults, 5.0 s with large
blocks kept on the heap and no huge-page advice; peak RSS 1.18 → 1.46 GB (freed blocks stay with the
process for its next sample).  On 2D suites the difference is within noise.

Threads (the sample thread, :func:`simbench.physics.threaded_map`'s) share the one heap (glibc's
``M_ARENA_MAX`` 1): each thread of its own arena would keep the blocks it freed from the others,
which raised the quick chromatin sample's peak from 1.46 to 1.62 GB once the ACF ran on two threads.

Dask's nanny also starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which switches off
glibc's adaptive mmap threshold (it stays at 128 KiB): 1.8× the CPU time per ``wiener`` task on
``static`` full before this was set.  :func:`keep_large_blocks` is called once per process by the
command line and by every worker process on its first task.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform

#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
#: free memory at the top of the heap beyond this goes back to the system (bytes; mallopt takes an int)
TRIM_THRESHOLD = (1 << 31) - 1


def _no_huge_page_advice() -> None:
    """Stop NumPy from advising transparent huge pages on its large arrays (a private NumPy switch,
    the one its ``NUMPY_MADVISE_HUGEPAGE`` environment variable sets; skipped where it is absent)."""
    import numpy as np

    switch = getattr(getattr(getattr(np, "_core", None), "multiarray", None), "_set_madvise_hugepage", None)
    if switch is not None:
        switch(False)


def keep_large_blocks() -> bool:
    """Serve every block from the heap (no per-array mapping), keep freed memory up to
    :data:`TRIM_THRESHOLD` for reuse, one heap for every thread, and drop NumPy's huge-page
    advice; False where the C library is not glibc (then only the NumPy part applies)."""
    _no_huge_page_advice()
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(_M_MMAP_MAX, 0) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
                and libc.mallopt(_M_ARENA_MAX, 1))
