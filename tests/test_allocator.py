"""simbench processes keep large arrays on the heap (no fresh mapping per array, even where Dask's nanny fixed
glibc's thresholds), share it between threads, and NumPy asks for no transparent huge pages."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes, threading, numpy as np
from simbench.harness.allocator import keep_large_blocks

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def maps(nbytes):
    before = libc.mallinfo2().hblks
    block = np.empty(nbytes, np.uint8)
    mapped = libc.mallinfo2().hblks - before
    del block
    return mapped

def heap_growth_for_a_thread():  # heap bytes (every arena) added while a thread holds 16 MiB, far more being free
    growth = []

    def hold():
        before = libc.mallinfo2().arena
        block = np.ones(16 << 20, np.uint8)
        growth.append(libc.mallinfo2().arena - before)

    thread = threading.Thread(target=hold)
    thread.start()
    thread.join()
    return growth[0]

print(maps(1 << 20), keep_large_blocks(), maps(1 << 20), maps(16 << 20), maps(256 << 20),
      np._core.multiarray._get_madvise_hugepage(), heap_growth_for_a_thread())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_the_allocator_keeps_every_array_on_the_heap():
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what Dask's nanny sets in its workers
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    before, applied, after, large, volume, huge_pages, growth = out.stdout.split()
    assert (before, applied) == ("1", "True")  # a 1 MiB array was mapped: the threshold sat at 128 KiB
    assert (after, large, volume) == ("0", "0", "0")  # now 1 MiB, 16 MiB and 256 MiB arrays come from the heap
    assert huge_pages == "False"
    assert growth == "0"  # the thread reuses the blocks the main thread freed: one heap for every thread
