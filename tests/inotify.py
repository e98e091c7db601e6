"""Which files any process opens under a folder, from the kernel's inotify events (Linux)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from collections import Counter
from pathlib import Path

IN_OPEN = 0x00000020
IN_NONBLOCK = 0o4000
_EVENT = struct.Struct("iIII")


class OpenWatch:
    """Counts ``open`` calls on the files directly inside ``folder``, by any process."""

    def __init__(self, folder: Path) -> None:
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.folder = folder
        if self.libc.inotify_add_watch(self.fd, str(folder).encode(), IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), f"cannot watch {folder}")

    def opened(self) -> Counter[str]:
        """File names opened since the last call."""
        counts: Counter[str] = Counter()
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return counts
            offset = 0
            while offset < len(data):
                _, mask, _, size = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + size].rstrip(b"\0")
                if mask & IN_OPEN and name:
                    counts[name.decode()] += 1
                offset += _EVENT.size + size

    def close(self) -> None:
        os.close(self.fd)
