"""Atomic file writing and hashing shared by every layer.

Why: a crash or Ctrl-C in the middle of a write must never leave a half-written result, cache or
dataset behind. Everything is written to a temporary file in the target directory and renamed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

__all__ = [
    "atomic_path",
    "atomic_paths",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_save_npy",
    "sha256_file",
    "output_dir",
    "os_error_reason",
    "user_errors_on_write",
]

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "it is a directory",
    errno.ENAMETOOLONG: "the name is too long",
}


def os_error_reason(exc: OSError) -> str:
    """A short human reason for an OS error ("the disk is full", "permission denied", ...)."""
    return _REASONS.get(exc.errno, exc.strerror or type(exc).__name__)


@contextlib.contextmanager
def user_errors_on_write(what: str) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``what`` into a CosmobenchError that says what to do."""
    from cosmobench.errors import CosmobenchError

    try:
        yield
    except OSError as exc:
        raise CosmobenchError(
            f"could not write {what} ({os_error_reason(exc)}); free some space or pass a writable directory, "
            "then run the command again (nothing was written)"
        ) from None


def output_dir(path: "str | os.PathLike", option: str = "--out") -> Path:
    """Check, before any work starts, that a command will be able to write into a directory.

    Nothing is created: the nearest existing ancestor must be a directory that accepts a file (a
    probe file is written there and removed), so a read-only, full or misnamed ``--out`` fails in a
    second instead of after the evaluation.

    Parameters
    ----------
    path : path-like
        The directory (it need not exist yet).
    option : str
        How the user named it, for the message (``--out``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    CosmobenchError
        If it is a file, lies under a file, or cannot be written (read-only, no permission, disk full).
    """
    from cosmobench.errors import CosmobenchError

    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise CosmobenchError(f"{option} {p} is a file, not a directory; pass a directory to write into")
    existing = next((q for q in (p, *p.parents) if q.exists()), Path("."))
    if not existing.is_dir():
        raise CosmobenchError(f"{option} {p} lies under {existing}, which is a file; pass a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".cosmobench-write-test.", dir=existing)
        try:
            os.write(fd, b"0" * 4096)  # a full disk may accept an empty file but not data
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise CosmobenchError(
            f"cannot write into {option} {p} ({os_error_reason(exc)}); pass a writable directory"
        ) from None
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    Parameters
    ----------
    path : path-like
        Final destination. Its parent directory is created if needed.
    suffix : str
        Suffix of the temporary file (some writers, e.g. ``np.save``, append their own otherwise).
    """
    path = Path(path)
    # mkstemp creates 0600 files; results and leaderboards are meant to be shared: the umask is honoured.
    with _temp_next_to(path, suffix) as tmp_path:
        yield tmp_path
        os.replace(tmp_path, path)


@contextlib.contextmanager
def atomic_paths(paths: "list[str | os.PathLike]", suffixes: "list[str] | None" = None) -> Iterator[list[Path]]:
    """Like :func:`atomic_path` for files that belong together (a result and its maps).

    All temporaries are written first; only when the block succeeds are they renamed into place, and
    if a rename fails the files already renamed are removed again, so the set appears whole or not at all.
    """
    stack = contextlib.ExitStack()
    with stack:
        finals = [Path(p) for p in paths]
        tmps = [stack.enter_context(_temp_next_to(p, (suffixes or [""] * len(finals))[i])) for i, p in enumerate(finals)]
        yield tmps
        done: list[Path] = []
        try:
            for tmp, final in zip(tmps, finals):
                os.replace(tmp, final)
                done.append(final)
        except BaseException:
            for final in done:
                final.unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def _temp_next_to(path: Path, suffix: str) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save ``array`` as ``.npy`` at ``path`` atomically."""
    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(array), allow_pickle=False)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
