"""Words for file system entries in messages (shared by inputs and outputs)."""

from __future__ import annotations

import stat


def kind_of(mode: int) -> str:
    """What an entry that is not a regular file is: ``"a directory"``, ``"a socket"`` …"""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
