"""Reading files a user names (policy, data map, exports): regular files only, size checked first.

A FIFO would block the reader forever and a device such as ``/dev/zero`` never ends, so the file
is opened without blocking, its kind and size are taken from the open descriptor (a file swapped
in between cannot slip through) and at most the cap is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from troth.errors import TrothError


def read_text_file(path: Path | str, *, max_bytes: int, error: type[TrothError]) -> str:
    """The UTF-8 text of the regular file *path* of at most *max_bytes*; *error* if not."""
    name = str(path)
    cap = f"{max_bytes // (1024 * 1024)} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    too_big = error(f"file is larger than {cap}", where=name, fix="split it into smaller files")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error("file not found", where=name, fix="check the path") from None
    except IsADirectoryError:
        raise error("is a folder, not a file", where=name, fix="name the file") from None
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror})", where=name) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error("is a folder, not a file", where=name, fix="name the file")
        if not stat.S_ISREG(info.st_mode):
            raise error(
                "is not a regular file (a pipe, device or socket)",
                where=name,
                fix="save the content to a file and pass that file",
            )
        if info.st_size > max_bytes:
            raise too_big
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror})", where=name) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew while being read
        raise too_big
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"not UTF-8 text (byte {exc.start})", where=name, fix="save the file as UTF-8"
        ) from None
