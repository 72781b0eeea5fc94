"""Count the malloc arenas a process opens when 16 threads allocate at once: ``python -m tests.support.arenas
[limit]``. With ``limit``, ``ui.server.heap.limit_arenas()`` runs first. Prints the count of heaps in glibc's
``malloc_info`` report. ctypes releases the GIL around each foreign call, so the threads' mallocs really contend."""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import sys
import tempfile
import threading

from ui.server import heap

THREADS, ROUNDS = 16, 20_000


def _churn(libc: ctypes.CDLL) -> None:
    for _ in range(ROUNDS):
        libc.free(libc.malloc(256))


def heaps(libc: ctypes.CDLL) -> int:
    """The number of arenas in glibc's own report of its heap (``<heap nr="…">`` elements)."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        stream = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, ctypes.c_void_p(stream))
        libc.fclose(ctypes.c_void_p(stream))
        return len(re.findall(r'<heap nr="\d+">', open(report.name).read()))


def main() -> None:
    if sys.argv[1:] == ["limit"] and not heap.limit_arenas():
        raise SystemExit("mallopt refused the arena limit")
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.free.argtypes, libc.fopen.restype = ctypes.c_void_p, [ctypes.c_void_p], ctypes.c_void_p
    threads = [threading.Thread(target=_churn, args=(libc,)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(heaps(libc))


if __name__ == "__main__":
    main()
