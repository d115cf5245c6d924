"""Model specs -> generators: registered names, ``module:factory`` strings, checkpoints and sample files.

A spec resolves, in order:

1. an existing file: ``.ckpt`` / ``.pt`` is a cosmobench checkpoint (loaded with
   ``torch.load(weights_only=True)``: a checkpoint is data, never code), ``.npy`` / ``.npz`` / ``.h5``
   holds samples that are served as they are;
2. a registered name: the entry-point group ``cosmobench.generators`` (``name = "module:factory"``)
   of any installed distribution, or a name registered in-process with :func:`register`;
3. ``"module:factory"``, imported with :mod:`importlib`.

Entry points are read lazily, on first use, so that importing cosmobench stays cheap and a broken
third-party package only matters when its name is asked for. A factory is called as
``factory(*, checkpoint=None | dict, track=Track, **options)`` and returns a
:class:`~cosmobench.protocol.Generator`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import math
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from cosmobench._files import check_file
from cosmobench._io import sha256_file
from cosmobench.data.track import Track, get_track
from cosmobench.errors import CosmobenchError
from cosmobench.protocol import Generator, generator_info, generator_name

__all__ = [
    "ENTRY_POINT_GROUP",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "RegistryEntry",
    "ResolvedModel",
    "SampleFileGenerator",
    "register",
    "unregister",
    "refresh",
    "entries",
    "get_factory",
    "load_checkpoint",
    "resolve",
    "check_options",
    "plugin_error",
]

ENTRY_POINT_GROUP = "cosmobench.generators"
CHECKPOINT_FORMAT = "cosmobench-checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_SUFFIXES = (".ckpt", ".pt")
SAMPLE_SUFFIXES = (".npy", ".npz", ".h5", ".hdf5")


@dataclass(frozen=True)
class RegistryEntry:
    """One registered generator name.

    Attributes
    ----------
    name : str
        The name users pass as ``--model``.
    target : str or callable
        ``"module:factory"`` (entry points) or the factory itself (in-process registration).
    distribution : str
        The installed distribution that declared it, or ``"<in-process>"``.
    """

    name: str
    target: "str | Callable[..., Any]"
    distribution: str

    @property
    def target_str(self) -> str:
        """``module:factory`` for display, whatever the target is."""
        if isinstance(self.target, str):
            return self.target
        return f"{getattr(self.target, '__module__', '?')}:{getattr(self.target, '__qualname__', repr(self.target))}"


@dataclass
class ResolvedModel:
    """A model spec turned into a generator, with what a result records about it.

    Attributes
    ----------
    generator : Generator
        The object whose ``sample`` is called.
    spec : str
        The spec as given (``repr`` of the object when a generator was passed directly).
    kind : str
        ``"checkpoint"``, ``"samples"``, ``"registered"``, ``"module"`` or ``"object"``.
    name : str
        Short model name for results and file names.
    checkpoint_sha256 : str or None
        sha256 of the checkpoint or sample file's bytes (None for code-only models).
    info : dict
        JSON-serialisable facts about the model.
    """

    generator: Any
    spec: str
    kind: str
    name: str
    checkpoint_sha256: "str | None" = None
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- registry

_IN_PROCESS: dict[str, RegistryEntry] = {}
# Entry points are scanned once per process (it walks every installed distribution); refresh() rescans.
_ENTRY_POINTS: "dict[str, list[RegistryEntry]] | None" = None


def _iter_entry_points() -> Iterable[tuple[str, str, str]]:
    """Yield ``(name, "module:factory", distribution)`` for every entry point of the group."""
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        yield ep.name, ep.value, (dist.name if dist is not None else "<unknown distribution>")


def _entry_point_table() -> dict[str, list[RegistryEntry]]:
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None:
        table: dict[str, list[RegistryEntry]] = {}
        for name, value, dist in _iter_entry_points():
            claims = table.setdefault(name, [])
            # The same distribution seen twice (e.g. on sys.path twice) is not a collision.
            if not any(c.distribution == dist and c.target == value for c in claims):
                claims.append(RegistryEntry(name, value, dist))
        _ENTRY_POINTS = table
    return _ENTRY_POINTS


def refresh() -> None:
    """Forget the scanned entry points so the next lookup sees newly installed packages."""
    global _ENTRY_POINTS
    _ENTRY_POINTS = None
    importlib.invalidate_caches()


def _collision_error(name: str, claims: list[RegistryEntry]) -> CosmobenchError:
    who = " and ".join(f"{c.distribution} ({c.target_str})" for c in claims)
    return CosmobenchError(
        f"generator name {name!r} is claimed by {who}; uninstall one of them, or pass the model as "
        f"'module:factory' to pick one explicitly"
    )


def register(name: str, factory: Callable[..., Any], *, replace: bool = False) -> None:
    """Register a generator factory in this process (tests, notebooks, plugins loaded by hand).

    Parameters
    ----------
    name : str
        Name to resolve; must not be taken by an installed entry point or another registration.
    factory : callable
        Called as ``factory(*, checkpoint=None | dict, track=Track, **options)``.
    replace : bool
        Allow replacing an earlier in-process registration of the same name.

    Raises
    ------
    CosmobenchError
        If the name is already taken.
    """
    if not isinstance(name, str) or not name or ":" in name or os.sep in name:
        raise CosmobenchError(f"generator name {name!r} is not valid; use a short name without ':' or '/'")
    if not callable(factory):
        raise CosmobenchError(f"the factory registered as {name!r} is not callable; pass a function or class")
    new = RegistryEntry(name, factory, "<in-process>")
    claims = list(_entry_point_table().get(name, []))
    if name in _IN_PROCESS and not replace:
        claims.append(_IN_PROCESS[name])
    if claims:
        raise _collision_error(name, claims + [new])
    _IN_PROCESS[name] = new


def unregister(name: str) -> None:
    """Remove an in-process registration (no error when absent)."""
    _IN_PROCESS.pop(name, None)


def entries() -> dict[str, RegistryEntry]:
    """Every registered name, sorted, one entry each (the first claim when a name collides).

    Collisions are reported by :func:`get_factory` when the name is used, so that one broken
    package does not hide every other generator from ``cosmobench list``.
    """
    out: dict[str, RegistryEntry] = {}
    for name, claims in _entry_point_table().items():
        out[name] = claims[0]
    out.update(_IN_PROCESS)
    return dict(sorted(out.items()))


def collisions() -> dict[str, list[RegistryEntry]]:
    """Names claimed by more than one distribution (or by a distribution and an in-process registration)."""
    out = {}
    for name, claims in _entry_point_table().items():
        all_claims = claims + ([_IN_PROCESS[name]] if name in _IN_PROCESS else [])
        if len(all_claims) > 1:
            out[name] = all_claims
    return out


def _load_target(target: str, what: str) -> Any:
    """Import ``"module:attr.path"`` with messages that say what to do."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise CosmobenchError(f"{what} {target!r} is not of the form 'module:factory'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise CosmobenchError(
            f"{what} {target!r}: cannot import module {module_name!r} ({exc}); install the package that provides "
            "it or fix the spec"
        ) from None
    except SyntaxError as exc:
        raise CosmobenchError(
            f"{what} {target!r}: module {module_name!r} has a syntax error ({exc.msg}, {exc.filename} line "
            f"{exc.lineno}); fix the module"
        ) from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin code: any failure is the plugin's
        raise plugin_error(f"{what} {target!r}: importing module {module_name!r}", exc, "fix the module") from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CosmobenchError(f"{what} {target!r}: module {module_name!r} has no attribute {attr_path!r}") from None
    return obj


def plugin_error(doing: str, exc: BaseException, advice: str) -> CosmobenchError:
    """The CosmobenchError for third-party code (module, factory, ``sample``) that raised ``exc``.

    Plugin code is outside cosmobench: whatever it raises (RuntimeError, MemoryError, even
    SystemExit) becomes one message naming what was being done, the exception, and what to do,
    never a traceback and never a silent exit.
    """
    if isinstance(exc, CosmobenchError):
        return exc
    if isinstance(exc, MemoryError):
        return CosmobenchError(f"{doing} ran out of memory; {advice} (a smaller --n or batch size needs less)")
    if isinstance(exc, SystemExit):
        return CosmobenchError(
            f"{doing} called sys.exit({exc.code!r}); a generator must return maps or raise an exception, "
            f"never exit the process: {advice}"
        )
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return CosmobenchError(f"{doing} failed ({type(exc).__name__}: {text or 'no message'}); {advice}")


def get_factory(name: str) -> Callable[..., Any]:
    """The factory registered under ``name``.

    Raises
    ------
    CosmobenchError
        If no distribution registers ``name`` (the message lists the known names) or several do.
    """
    claims = list(_entry_point_table().get(name, []))
    if name in _IN_PROCESS:
        claims.append(_IN_PROCESS[name])
    if not claims:
        known = ", ".join(entries()) or "none installed"
        raise CosmobenchError(
            f"no generator named {name!r} (known: {known}); install a package that registers it in the "
            f"{ENTRY_POINT_GROUP!r} entry-point group, or pass a file or 'module:factory'"
        )
    if len(claims) > 1:
        raise _collision_error(name, claims)
    entry = claims[0]
    if isinstance(entry.target, str):
        return _load_target(entry.target, f"generator {name!r} from {entry.distribution}")
    return entry.target


# ------------------------------------------------------------------------------------------ factories


def _call_factory(factory: Any, what: str, *, checkpoint: "dict | None", track: Track, options: dict) -> Any:
    """Build a generator from a factory (or accept a ready generator object) and check it."""
    if isinstance(factory, Generator) and not inspect.isclass(factory):
        if checkpoint is not None or options:
            raise CosmobenchError(f"{what} is a generator object, not a factory; it cannot take a checkpoint or options")
        return factory
    if not callable(factory):
        raise CosmobenchError(f"{what} is neither a factory nor an object with a sample(n, *, seed) method")
    _check_factory_signature(factory, what, options)
    check_options(options)
    try:
        generator = factory(checkpoint=checkpoint, track=track, **options)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin code
        if checkpoint is not None:
            advice = (
                "the checkpoint's config or tensors do not fit this generator (saved by another generator, another "
                "version, or damaged): load it with the generator that wrote it, or re-save it"
            )
        else:
            advice = "check the options (-o KEY=VALUE) or fix the factory"
        raise plugin_error(f"building {what}", exc, advice) from None
    if not isinstance(generator, Generator):
        raise CosmobenchError(
            f"{what} returned {type(generator).__name__}, which has no sample(n, *, seed) method; "
            "return an object implementing cosmobench.protocol.Generator"
        )
    return generator


# Option names whose value counts something (maps per batch, sampler steps): a positive integer.
_COUNT_OPTION = re.compile(r"^(batch_size|steps|n_[a-z0-9_]+|[a-z0-9_]+_(size|steps|count))$")


def check_options(options: dict) -> None:
    """The options boundary: refuse factory options (``-o KEY=VALUE``) that cannot mean anything.

    Rules, the same for every generator (so a third-party factory needs no validation of its own for
    these): numbers are finite; counts (``batch_size``, ``steps``, ``n_*``, ``*_size``, ``*_steps``,
    ``*_count``) are integers ≥ 1; ``device`` names a device this machine has (``cpu``, ``auto``, or
    ``cuda``/``mps`` only where torch sees one).

    Raises
    ------
    CosmobenchError
        Naming the option and what would be accepted.
    """
    for key, value in options.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise CosmobenchError(f"option {key}={value!r} is not a finite number")
        if _COUNT_OPTION.match(key) and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
        ):
            raise CosmobenchError(f"option {key}={value!r} must be a whole number ≥ 1 (e.g. -o {key}=64)")
        if key == "device" and value is not None:
            _check_device(value)


def _check_device(value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise CosmobenchError(f"option device={value!r} must be a device name such as cpu, cuda or cuda:0")
    if value in ("cpu", "auto"):
        return
    try:
        import torch
    except ImportError:
        raise CosmobenchError(f"option device={value!r} needs torch, which is not installed; pass -o device=cpu") from None
    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        raise CosmobenchError(f"option device={value!r} is not a torch device name; use cpu, cuda or cuda:0") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise CosmobenchError(
                f"option device={value!r}: this machine has no CUDA device (torch {torch.__version__}); "
                "pass -o device=cpu (or omit it)"
            )
        if dev.index is not None and dev.index >= count:
            raise CosmobenchError(f"option device={value!r}: this machine has {count} CUDA device(s); use cuda:0..cuda:{count - 1}")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise CosmobenchError(f"option device={value!r}: MPS is not available on this machine; pass -o device=cpu")


def _with_reference_source(factory: Any, options: dict, reference_source: "str | None") -> dict:
    """Give a factory that declares a ``source`` keyword the evaluation's reference source.

    Generators built from a source's own maps (holdout, analytic fields fitted to the train split) must
    use the source they are scored against; an explicit ``source`` option still wins.
    """
    if reference_source is None or "source" in options:
        return options
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return options
    p = params.get("source")
    if p is None or p.kind not in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
        return options
    return {**options, "source": reference_source}


def _check_factory_signature(factory: Any, what: str, options: dict) -> None:
    """Fail with a clear message, before calling, when the factory cannot take the contract's keywords."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins and some C extensions have no signature: just call
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    missing = [k for k in ("checkpoint", "track", *options) if k not in params]
    if missing:
        raise CosmobenchError(
            f"{what} does not accept keyword argument(s) {', '.join(missing)}; a factory must be callable as "
            "factory(*, checkpoint=None, track=<Track>, **options)"
        )


# ---------------------------------------------------------------------------------------- checkpoints


def load_checkpoint(path: "str | os.PathLike") -> dict:
    """Load and check a cosmobench checkpoint without ever executing code from it.

    Parameters
    ----------
    path : path-like
        A file written by ``torch.save({"format": "cosmobench-checkpoint", "version": 1,
        "generator": name, "config": {...}, "state": {...}, "provenance": {...}}, path)``.

    Returns
    -------
    dict
        The checkpoint dictionary (tensors on the CPU).

    Raises
    ------
    CosmobenchError
        If the file is not a torch file, is truncated, holds anything that would run code, or is
        not a cosmobench checkpoint.
    """
    import torch  # heavy: only checkpoints need it

    path = Path(path)
    check_file(path, "checkpoint")
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        # torch's message advises weights_only=False: never pass that on. Only a GLOBAL the safe
        # unpickler refused means "objects that would run code"; anything else is a damaged file.
        refused = [ln.strip() for ln in str(exc).splitlines() if "GLOBAL" in ln]
        if refused:
            what = refused[0].replace("Trying to load unsupported ", "").split(" whose ")[0]
            raise CosmobenchError(
                f"{path} is not a cosmobench checkpoint: it holds Python objects ({what}) that would execute code "
                "when loaded, and cosmobench refuses to execute code from a checkpoint; save plain tensors and builtin "
                "types in the checkpoint dict"
            ) from None
        raise _unreadable_checkpoint(path) from None
    except Exception:  # truncated zip, random bytes, EOF...: torch raises many types
        raise _unreadable_checkpoint(path) from None
    _check_checkpoint(ckpt, path)
    return ckpt


def _unreadable_checkpoint(path: Path) -> CosmobenchError:
    return CosmobenchError(
        f"{path} could not be read as a torch checkpoint: the file is truncated, damaged or not written by "
        "torch.save; re-download it or save the checkpoint dict again with torch.save"
    )


def _check_checkpoint(ckpt: Any, path: Path) -> None:
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CosmobenchError(
            f"{path} is not a cosmobench checkpoint (no format={CHECKPOINT_FORMAT!r}); save a dict with keys "
            "format, version, generator, config, state (see docs/contracts.md)"
        )
    version = ckpt.get("version", 1)
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CosmobenchError(
            f"{path} is checkpoint format version {version!r}; this cosmobench reads up to {CHECKPOINT_VERSION}: "
            "upgrade cosmobench"
        )
    for key, kind in (("generator", str), ("config", dict), ("state", dict)):
        if not isinstance(ckpt.get(key), kind):
            raise CosmobenchError(
                f"{path}: checkpoint key {key!r} is missing or not a {kind.__name__}; a cosmobench checkpoint "
                "needs generator (a registered name), config (dict) and state (dict of tensors)"
            )


# --------------------------------------------------------------------------------------- sample files


class SampleFileGenerator:
    """Serve the maps stored in a ``.npy`` / ``.npz`` / ``.h5`` file as a generator.

    ``sample(n, seed=...)`` returns the first ``n`` maps whatever the seed, so a file scores
    deterministically; :meth:`take` reads any slice, which the evaluator uses to walk the file in
    order. Maps are read lazily (``.npy`` is memory-mapped), so a 100,000-map file is never loaded whole.

    Parameters
    ----------
    path : path-like
        The file. ``.npz``: the single array, or the array named ``samples``. ``.h5``: the dataset
        ``samples``, or the single dataset.
    """

    def __init__(self, path: "str | os.PathLike") -> None:
        self.path = Path(path)
        self.name = self.path.stem
        self._array, self._h5_key = self._open()
        self.shape: tuple[int, ...] = tuple(int(s) for s in self._array.shape)
        if len(self.shape) != 3:
            raise CosmobenchError(
                f"{self.path} holds an array of shape {self.shape}; samples must be a stack of maps (n, 64, 64)"
            )
        self.info = {"file": str(self.path), "n_available": self.shape[0], "dtype": str(self._array.dtype)}
        self._read_sidecar()

    def _read_sidecar(self) -> None:
        """Read ``<file>.meta.json`` when present: ``{"name": ..., "info": {...}}`` says where the samples came from.

        Samples drawn elsewhere (a GPU machine, a collaborator) keep their provenance this way: the name
        goes on the leaderboard row and ``info`` (model, checkpoint sha256, sampler, hardware) into the result.
        """
        meta_path = self.path.with_name(self.path.name + ".meta.json")
        if not meta_path.exists():
            return
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            name, info = meta.get("name", self.name), meta.get("info", {})
            if not isinstance(name, str) or not name or not isinstance(info, dict):
                raise ValueError("'name' must be a non-empty string and 'info' an object")
        except (OSError, ValueError, AttributeError) as exc:
            raise CosmobenchError(
                f"{meta_path} is not a valid samples sidecar ({exc}); fix it to "
                '{"name": "...", "info": {...}} or delete it'
            ) from None
        self.name = name
        self.info.update(info)
        self.info["sidecar"] = str(meta_path)

    def __len__(self) -> int:
        return self.shape[0]

    def _open(self) -> "tuple[Any, str | None]":
        suffix = self.path.suffix.lower()
        check_file(self.path, "sample file")
        try:
            if suffix == ".npy":
                return np.load(self.path, mmap_mode="r", allow_pickle=False), None
            if suffix == ".npz":
                return self._open_npz(), None
            return self._open_h5()
        except CosmobenchError:
            raise
        except Exception as exc:  # truncated files, pickled objects, not-an-HDF5...
            raise CosmobenchError(
                f"{self.path} could not be read as {suffix} samples ({type(exc).__name__}: {exc}); the file is "
                "truncated, holds Python objects, or is not in that format: re-save the maps with numpy"
            ) from None

    def _open_npz(self) -> np.ndarray:
        with np.load(self.path, allow_pickle=False) as npz:
            keys = list(npz.files)
            key = "samples" if "samples" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise CosmobenchError(
                    f"{self.path} holds arrays {keys}; name the samples array 'samples' (np.savez(path, samples=maps))"
                )
            return npz[key]

    def _open_h5(self) -> "tuple[Any, str]":
        import h5py

        with h5py.File(self.path, "r") as fh:
            datasets: list[str] = []
            fh.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
            key = "samples" if "samples" in datasets else (datasets[0] if len(datasets) == 1 else None)
            if key is None:
                raise CosmobenchError(
                    f"{self.path} holds datasets {datasets}; name the samples dataset 'samples'"
                )
            ds = fh[key]
            # Keep only metadata here; take() reopens the file so no handle outlives a call.
            return _H5Shape(ds.shape, ds.dtype), key

    def take(self, start: int, stop: int) -> np.ndarray:
        """Maps ``start:stop`` of the file, as stored (validation is the evaluator's job)."""
        if stop > len(self):
            raise CosmobenchError(
                f"{self.path} holds {len(self)} maps but {stop} were asked for; pass --n {len(self)} or fewer, "
                "or write more samples"
            )
        if self._h5_key is None:
            return np.array(self._array[start:stop])
        import h5py

        try:
            with h5py.File(self.path, "r") as fh:
                return np.asarray(fh[self._h5_key][start:stop])
        except Exception as exc:
            raise CosmobenchError(f"{self.path}: reading maps {start}:{stop} failed ({exc}); the file is damaged") from None

    def sample(self, n: int, *, seed: int = 0) -> np.ndarray:
        """The first ``n`` maps (the seed is ignored: stored samples are what they are)."""
        return self.take(0, int(n))


@dataclass(frozen=True)
class _H5Shape:
    shape: tuple
    dtype: Any


# ---------------------------------------------------------------------------------------------- resolve


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or os.sep in spec or Path(spec).suffix.lower() in CHECKPOINT_SUFFIXES + SAMPLE_SUFFIXES


def resolve(
    spec: Any, *, track: "Track | str | None" = None, reference_source: "str | None" = None, **options: Any
) -> ResolvedModel:
    """Turn a model spec into a generator.

    Parameters
    ----------
    spec : str, path-like or Generator
        A checkpoint or sample file, a registered name, ``"module:factory"``, or a generator object.
    track : Track or str, optional
        Track handed to factories (default track when omitted).
    **options
        Extra keyword arguments for the factory.

    Returns
    -------
    ResolvedModel

    Raises
    ------
    CosmobenchError
        If the spec matches nothing, or the file / factory is unusable; the message says what to do.
    """
    track = get_track(track)
    if isinstance(spec, Generator) and not isinstance(spec, (str, os.PathLike)):
        name = generator_name(spec, type(spec).__name__)
        # The class, not repr(): a repr with a memory address would differ between identical runs.
        where = f"{type(spec).__module__}:{type(spec).__qualname__}"
        return ResolvedModel(spec, f"<{where} object>", "object", name, None, generator_info(spec))
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise CosmobenchError(
            f"model spec {spec!r} is not usable; pass a file, a registered name, 'module:factory' or a generator object"
        )
    path = Path(spec).expanduser()
    names = entries()
    is_name = spec in names or spec in collisions()
    # A file of a known kind wins; a stray directory or suffix-less file in the working directory
    # must not shadow a registered name.
    if path.is_file() and (path.suffix.lower() in CHECKPOINT_SUFFIXES + SAMPLE_SUFFIXES or not is_name):
        return _resolve_file(spec, path, track, options)
    if is_name:
        factory = get_factory(spec)
        options = _with_reference_source(factory, options, reference_source)
        gen = _call_factory(factory, f"generator {spec!r}", checkpoint=None, track=track, options=options)
        return ResolvedModel(gen, spec, "registered", spec, None, generator_info(gen))
    if ":" in spec and not _looks_like_path(spec.partition(":")[0]):
        factory = _load_target(spec, "model spec")
        options = _with_reference_source(factory, options, reference_source)
        gen = _call_factory(factory, f"factory {spec!r}", checkpoint=None, track=track, options=options)
        default = spec.rpartition(":")[2].split(".")[-1]
        return ResolvedModel(gen, spec, "module", generator_name(gen, default), None, generator_info(gen))
    if path.is_dir():
        raise CosmobenchError(f"{spec} is a directory; pass a checkpoint (.ckpt/.pt) or a sample file (.npy/.npz/.h5)")
    if _looks_like_path(spec):
        raise CosmobenchError(f"no such file: {spec}; check the path (it is relative to {os.getcwd()})")
    get_factory(spec)  # raises the unknown-name error listing the known names
    raise AssertionError("unreachable")  # pragma: no cover


def _resolve_file(spec: str, path: Path, track: Track, options: dict) -> ResolvedModel:
    suffix = path.suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES:
        ckpt = load_checkpoint(path)
        name = ckpt["generator"]
        try:
            factory = get_factory(name)
        except CosmobenchError as exc:
            raise CosmobenchError(f"{path} is a checkpoint of generator {name!r}, which cannot be loaded: {exc}") from None
        gen = _call_factory(factory, f"generator {name!r}", checkpoint=ckpt, track=track, options=options)
        info = {"generator": name, "config": ckpt.get("config", {}), "provenance": ckpt.get("provenance", {})}
        info.update(generator_info(gen))
        return ResolvedModel(gen, spec, "checkpoint", path.stem, sha256_file(path), info)
    if suffix in SAMPLE_SUFFIXES:
        if options:
            raise CosmobenchError(f"{path} is a sample file; it takes no options ({', '.join(options)})")
        gen = SampleFileGenerator(path)
        # gen.name is the sidecar's "name" when <file>.meta.json has one (README), else the file's stem.
        return ResolvedModel(gen, spec, "samples", gen.name, sha256_file(path), dict(gen.info))
    raise CosmobenchError(
        f"{path} has suffix {suffix!r}; cosmobench reads checkpoints ({', '.join(CHECKPOINT_SUFFIXES)}) and sample "
        f"files ({', '.join(SAMPLE_SUFFIXES)})"
    )
