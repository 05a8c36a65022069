"""Give large freed blocks back to the system, so a process's memory settles where it started.

glibc serves a block of 128 KiB or more with its own mapping and unmaps it when freed, but
after the first such free it raises that threshold to the freed block's size (up to 32 MiB).
From then on, blocks of that size come from the heap and stay resident after `free`: the
staff app's sentence encoder allocates working memory per batch in proportion to the batch's
tokens (tens of MiB), so its resident memory crept up with each longer batch and stayed
there (tests/test_fuzz.py saw +30 MiB per 4,000 requests). A fixed threshold keeps every
block of 1 MiB or more in a mapping of its own; mapping one costs microseconds against the
encoder's milliseconds. Only glibc has `mallopt`; elsewhere this does nothing.
"""

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
THRESHOLD = 1 << 20  # bytes


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold at 1 MiB for this process; False where that cannot be done."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        done = bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD))
    except (OSError, AttributeError):
        done = False
    logger.debug("memory.mmap_threshold fixed=%s bytes=%d", done, THRESHOLD)
    return done
