"""Handing freed memory back to the operating system after a burst.

glibc keeps the heap it grew for a burst (a flood's queued results) for reuse, so the
process stays at its peak size long after the burst is gone. ``malloc_trim(0)`` returns
the free parts. Other C libraries (musl, macOS) have no such call and need none: there
this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

_LOG = logging.getLogger(__name__)


def _find_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)  # glibc only
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()


def release_freed_memory() -> bool:
    """Return free heap memory to the OS where the C library can; whether it could."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    _LOG.debug("returned freed memory to the operating system")
    return True
