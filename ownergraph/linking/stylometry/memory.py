"""Giving freed heap memory back to the operating system during large linking runs."""

from __future__ import annotations

import ctypes
from typing import Any


def release_free_memory() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``; no-op elsewhere).

    Received results are unpickled from byte buffers that glibc keeps after they are
    freed: on 100k ads the main process held 1.21 GB after featurising, 0.81 GB after a
    trim (features 0.37 GB). With trims while receiving and stacking, featurising 1M ads
    peaked at 5.78 GB (workers included) and held 4.76 GB after."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC: Any = None
