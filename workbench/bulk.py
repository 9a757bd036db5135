"""Making hundreds of thousands of objects at once (a fetch of a 10,000-user company).

:func:`cycle_collector_paused` pauses Python's cycle collector for the duration: decoded JSON
and the records made from it are not cyclic garbage (reference counting frees what is dropped),
and a full collection in the middle of a 10,000-user fetch cost a fifth of it.

:func:`keep_freed_memory` is for a short program that makes and drops large arrays again and
again (matching two files): freed memory stays in the process for the next array instead of
going back to the system and being faulted in again.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from contextlib import contextmanager
from typing import Iterator

__all__ = ["cycle_collector_paused", "keep_freed_memory"]


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """The cycle collector off inside; back on afterwards, unless something else had paused it.

    What was made inside goes straight to the oldest generation (``gc.freeze`` then
    ``gc.unfreeze``) instead of being traversed by the young-generation collection the first
    allocation after ``gc.enable`` would start: at 200,000 records that one collection of
    millions of new objects cost half a second. Nothing leaves the collector's view; the
    objects are examined at the next full collection like any long-lived object."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters


def keep_freed_memory() -> bool:
    """Ask the C allocator to keep freed memory in the process (glibc: allocations up to 1 GiB
    from the heap, no trimming of its top): each large numpy array otherwise gets fresh pages
    from the system and returns them when freed, and matching 50,000 employees spent about a
    quarter of its system time faulting them in again. For a program that ends soon after (the
    offline match), never for the app's long-lived process. True when the allocator took it;
    elsewhere than glibc on Linux nothing changes.

    pyarrow's arrays (pandas' strings) then come from the same C heap (:func:`_arrow_on_c_heap`)
    instead of arrow's own mimalloc pool, which now and then spent 15–20 ms of system time in
    one small call and kept its own pages: matching 5,000 employees took about a tenth less,
    50,000 a twentieth less and 30 MB less at its peak."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    took = all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, 1 << 30), (_M_TRIM_THRESHOLD, (1 << 31) - 1), (_M_TOP_PAD, 64 << 20)))
    if took:
        _arrow_on_c_heap()
    return took


def _arrow_on_c_heap() -> None:
    """pyarrow's default memory pool set to the C allocator's, unless the user chose one
    (``ARROW_DEFAULT_MEMORY_POOL``) or pyarrow is not installed."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        import pyarrow
    except ImportError:
        return
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
