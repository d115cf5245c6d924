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
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from cosmobench._io import sha256_file
from cosmobench.checkpoint import (  # noqa: F401 - the checkpoint format's former home
    CHECKPOINT_FORMAT,
    CHECKPOINT_SUFFIXES,
    CHECKPOINT_VERSION,
    _check_checkpoint,
    check_checkpoint,
    load_checkpoint,
)
from cosmobench.data.samples import SAMPLE_SUFFIXES, SampleFileGenerator  # noqa: F401 - former home
from cosmobench.data.track import Track, get_track
from cosmobench.errors import CosmobenchError
from cosmobench.options import check_options
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
    "check_checkpoint",
    "resolve",
    "check_options",
    "plugin_error",
]

ENTRY_POINT_GROUP = "cosmobench.generators"


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
