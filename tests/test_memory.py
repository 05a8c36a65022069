"""The staff app gives large freed blocks back to the system (fagchat/ops/memory.py).

Checked in a fresh process, as glibc's threshold moves with what a process has freed: a
25 MiB block is taken, written and freed twice; after the second free the resident memory
is back where it began. Without the fixed threshold glibc serves the second block from the
heap and keeps it resident (the first half of the check shows that it would).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import ctypes, sys
from fagchat.ops import memory
fixed = sys.argv[1] == "fixed"
if fixed:
    assert memory.return_large_blocks()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
start = rss()
for _ in range(2):
    block = libc.malloc(25 << 20)
    ctypes.memset(block, 1, 25 << 20)
    libc.free(block)
print(rss() - start)
"""


def grown_kib(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60, check=True, cwd=ROOT
    )
    return int(done.stdout.strip())


def test_a_freed_large_block_leaves_no_resident_memory():
    assert grown_kib("glibc-default") > 20 * 1024  # what the staff app's encoder ran into
    assert grown_kib("fixed") < 2 * 1024
