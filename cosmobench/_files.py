"""The file boundary: what a user's file really holds, told from its first bytes, before any reader runs.

Readers (numpy, h5py, torch) report a wrong kind of file in their own words: a text file named
``.npy`` becomes "pickled data", random bytes named ``.ckpt`` become torch's advice to retry with
``weights_only=False``. :func:`check_file` looks at the magic bytes first, so every command says
what the file *is* and what to do, in one sentence, and never loads something of the wrong kind.
"""

from __future__ import annotations

import os
from pathlib import Path

from cosmobench.errors import CosmobenchError

__all__ = ["sniff", "check_file", "DESCRIPTIONS"]

#: What each sniffed kind is, in words for messages.
DESCRIPTIONS = {
    "npy": "a numpy .npy array",
    "zip": "a zip archive (.npz, or a torch.save checkpoint)",
    "hdf5": "an HDF5 file",
    "pickle": "a Python pickle",
    "text": "text",
    "empty": "nothing (0 bytes)",
    "unknown": "unrecognised binary data",
}

# Kinds each suffix may hold: torch.save writes zip archives, legacy torch files are pickles.
_EXPECTED = {
    ".npy": ("npy",),
    ".npz": ("zip",),
    ".h5": ("hdf5",),
    ".hdf5": ("hdf5",),
    ".ckpt": ("zip", "pickle"),
    ".pt": ("zip", "pickle"),
}

_HOW_TO_WRITE = {
    ".npy": "save the maps with numpy.save(path, maps)",
    ".npz": "save the maps with numpy.savez(path, samples=maps)",
    ".h5": "write the maps to an HDF5 dataset named 'samples' with h5py",
    ".hdf5": "write the maps to an HDF5 dataset named 'samples' with h5py",
    ".ckpt": "save the checkpoint dict with torch.save(ckpt, path)",
    ".pt": "save the checkpoint dict with torch.save(ckpt, path)",
}


def sniff(path: "str | os.PathLike") -> str:
    """The kind of data a file holds, from its first bytes.

    Returns
    -------
    str
        One of ``npy``, ``zip``, ``hdf5``, ``pickle``, ``text``, ``empty``, ``unknown``.
    """
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        return "empty"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head[0] == 0x80 and len(head) > 1 and 1 <= head[1] <= 5:
        return "pickle"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at byte 512 is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "unknown"
    if all(ch.isprintable() or ch in "\t\r\n\f" for ch in text):
        return "text"
    return "unknown"


def check_file(path: "str | os.PathLike", what: str = "file") -> str:
    """Check that ``path`` is a readable regular file whose bytes match its suffix.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the command expects, for the message ("sample file", "checkpoint", ...).

    Returns
    -------
    str
        The sniffed kind (see :func:`sniff`).

    Raises
    ------
    CosmobenchError
        Missing, a directory, unreadable, empty, or holding another kind of data than its suffix says.
    """
    p = Path(path)
    if p.is_dir():
        raise CosmobenchError(f"{p} is a directory, not a {what}; pass the file itself")
    if not p.exists():
        raise CosmobenchError(f"{p}: no such file; check the path (it is relative to {os.getcwd()})")
    try:
        kind = sniff(p)
    except OSError as exc:
        raise CosmobenchError(f"{p} cannot be read ({exc.strerror or exc}); check its permissions") from None
    suffix = p.suffix.lower()
    if kind == "empty":
        raise CosmobenchError(f"{p} is empty (0 bytes): it was not written completely; write or copy it again")
    expected = _EXPECTED.get(suffix)
    if expected is not None and kind not in expected:
        raise CosmobenchError(
            f"{p} is named {suffix} but holds {DESCRIPTIONS[kind]}, not {DESCRIPTIONS[expected[0]]}; "
            f"{_HOW_TO_WRITE[suffix]}"
        )
    return kind
