"""Private helpers for cached, resumable, parallel per-item work.

Three small pieces that feature extractors (audio, video) share:

* content keys -- :func:`file_sha256` hashes a file's bytes, :func:`make_key`
  hashes any JSON-serialisable description (parameters, versions, hashes) into
  a stable hex key;
* an on-disk store -- :class:`DiskCache` maps a key to a record of arrays and
  JSON values, one ``.npz`` file per key (never a pickle: nothing read from a
  cache can run code), each written atomically (temporary file in the same
  folder, then :func:`os.replace`), so a killed process leaves either the old
  state or the complete new file, never a torn one;
* :func:`parallel_map` -- applies a function to items with joblib, looks each
  item up in the cache first, and stores every result *as soon as it arrives*
  (unordered), so an interrupted or failing batch keeps everything finished.
  Failures are captured per item as :class:`Failure` records unless the
  caller asks to raise.

Nothing here prints; progress is a tqdm bar shown only when ``verbose`` is
true, and messages go to ``logging.getLogger(__name__)``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "DiskCache",
    "Failure",
    "atomic_write_bytes",
    "default_cache_dir",
    "file_digests",
    "file_sha256",
    "make_key",
    "parallel_map",
]

_CHUNK = 1 << 20


def file_digests(path: str | os.PathLike, algorithms=("sha256",)) -> dict:
    """Hex digests of a file's bytes, read once in 1 MiB blocks.

    Parameters
    ----------
    path : str or path-like
    algorithms : sequence of str
        Names understood by :func:`hashlib.new` (``"sha256"``, ``"md5"``).

    Returns
    -------
    digests : dict
        ``{algorithm: hexdigest}``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    """
    hashers = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            for h in hashers.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashers.items()}


def file_sha256(path: str | os.PathLike) -> str:
    """Return the SHA-256 hex digest of a file's bytes (64 lowercase hex characters).

    Zero-byte files hash fine (to the empty digest); a missing file raises
    ``FileNotFoundError`` naming it.
    """
    return file_digests(path)["sha256"]


def make_key(*parts: Any) -> str:
    """Hash a description of a computation into a stable hex key.

    Parameters
    ----------
    *parts : JSON-serialisable
        Everything the result depends on, e.g. a namespace string, a content
        hash, a parameter dict and package versions. Dicts are serialised with
        sorted keys; tuples and lists serialise alike; other objects fall back
        to ``repr``.

    Returns
    -------
    key : str
        SHA-256 hex digest of the canonical JSON of ``parts``.
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    """``$EMOSET_CACHE``, else ``$XDG_CACHE_HOME/emoset``, else ``~/.cache/emoset``."""
    env = os.environ.get("EMOSET_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "emoset"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    The bytes go to a temporary file in the destination folder, are flushed
    and fsynced, then moved over ``path`` with :func:`os.replace` (atomic on
    POSIX and Windows within one file system). Readers see the old file or the
    complete new one. Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache is read like any other file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return "MISSING"


MISSING = _Missing()

#: Layout version of cache entries; part of every entry, so a change of layout is a miss.
CACHE_FORMAT = 3

_JSON_MEMBER = "__record__"


def _content_digest(arrays: Mapping[str, np.ndarray], plain_json: str) -> str:
    """SHA-256 of a record's contents: each array's name, dtype, shape and bytes, then its JSON."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    h.update(plain_json.encode())
    return h.hexdigest()


def _encode(record: Mapping[str, Any], key: str | None = None) -> bytes:
    """A record as the bytes of an ``.npz``: numeric arrays as members, the rest as JSON.

    The header also holds the record's key and the digest of its contents, so that an entry
    read back under another key (files swapped) or edited after it was written is refused.
    """
    arrays, plain = {}, {}
    for name, value in record.items():
        if name == _JSON_MEMBER:
            raise ValueError(f"{_JSON_MEMBER!r} is reserved in cache records.")
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(
                    f"Cache record field {name!r}: only numeric or boolean arrays are stored; "
                    f"got dtype {value.dtype}."
                )
            arrays[name] = value
        else:
            plain[name] = value.item() if isinstance(value, np.generic) else value
    fields = json.dumps(plain, sort_keys=True, allow_nan=True)
    header = {
        "format": CACHE_FORMAT,
        "key": key,
        "arrays": sorted(arrays),
        "fields": plain,
        "digest": _content_digest(arrays, fields),
    }
    text = json.dumps(header, sort_keys=True, allow_nan=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{_JSON_MEMBER: np.frombuffer(text.encode(), np.uint8)})
    return buffer.getvalue()


def _decode(data: bytes, key: str | None = None) -> dict:
    """The record stored by :func:`_encode` (under ``key``); ``ValueError`` for anything else."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            members = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # a pickle payload ends here too: allow_pickle=False refuses it without running it
        raise ValueError(f"not an emoset cache entry ({exc})") from None
    raw = members.pop(_JSON_MEMBER, None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError("not an emoset cache entry (no header)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"damaged header ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != CACHE_FORMAT:
        raise ValueError("written by another version of emoset")
    if sorted(members) != header.get("arrays") or not isinstance(header.get("fields"), dict):
        raise ValueError("its arrays do not match its header")
    for name, value in members.items():
        if value.dtype.kind not in "biuf":
            raise ValueError(f"field {name!r} has dtype {value.dtype}")
    if key is not None and header.get("key") != key:
        raise ValueError("it holds the entry of another key (a file moved or copied here)")
    fields = json.dumps(header["fields"], sort_keys=True, allow_nan=True)
    if header.get("digest") != _content_digest(members, fields):
        raise ValueError("its contents do not match the digest written with them (edited?)")
    return {**header["fields"], **members}


class DiskCache:
    """A folder of records, one ``.npz`` file per key, written atomically; never a pickle.

    A record is a flat mapping of names to values: numeric or boolean NumPy arrays are stored
    as ``.npz`` members, everything else (numbers, strings, ``None``, lists and dicts of them)
    in a JSON header inside the same file. Reading uses ``np.load(allow_pickle=False)`` and
    ``json.loads`` only, so a cache folder can hold nothing that runs code when read.

    Parameters
    ----------
    directory : str or path-like
        Root folder; created on first write. Records live at ``directory/<key[:2]>/<key>.npz``.

    Notes
    -----
    An entry that cannot be decoded (a file truncated by a full disk, a file of another
    format or of an older emoset, a pickle put there by someone else) or that fails the
    caller's ``check`` counts as missing: it is logged and recomputed, never a crash.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        """Return the file that holds ``key``."""
        return self.directory / key[:2] / f"{key}.npz"

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str, default: Any = MISSING, *, check: Callable | None = None) -> Any:
        """Return the record stored under ``key``, or ``default``.

        Parameters
        ----------
        key : str
        default : object
            Returned when the entry is missing or invalid.
        check : callable, optional
            ``check(record)`` raises ``ValueError`` (or returns ``False``) when a decoded record
            does not have the expected fields, shapes or dtypes; it then counts as missing.
        """
        p = self.path(key)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return default
        except OSError as exc:
            logger.warning("Cannot read cache entry %s (%s); recomputing it.", p, exc)
            return default
        try:
            record = _decode(data, key)
            if check is not None and check(record) is False:
                raise ValueError("unexpected contents")
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("Ignoring invalid cache entry %s (%s); recomputing it.", p, exc)
            return default
        return record

    def put(self, key: str, record: Mapping[str, Any]) -> None:
        """Store ``record`` under ``key`` (atomic; see the class docstring for what it may hold)."""
        atomic_write_bytes(self.path(key), _encode(record, key))


@dataclass(frozen=True)
class Failure:
    """The outcome of an item whose computation raised.

    Attributes
    ----------
    index : int
        Position of the item in the input sequence.
    error : BaseException
        The exception raised by the function (re-raised by
        :func:`parallel_map` when ``on_error="raise"``).
    """

    index: int
    error: BaseException

    @property
    def message(self) -> str:
        """``"ExceptionType: message"``."""
        return f"{type(self.error).__name__}: {self.error}"


def _call(func: Callable, index: int, item: Any) -> tuple[int, Any]:
    try:
        return index, func(item)
    except Exception as exc:  # captured; the parent decides to raise or record
        return index, Failure(index, exc)


def parallel_map(
    func: Callable[[Any], Any],
    items: Sequence[Any] | Iterable[Any],
    *,
    key: Callable[[Any], str | None] | None = None,
    cache: DiskCache | str | os.PathLike | None = None,
    n_jobs: int | None = None,
    verbose: int = 0,
    desc: str | None = None,
    on_error: str = "raise",
    check: Callable | None = None,
) -> tuple[list[Any], list[bool]]:
    """Apply ``func`` to every item, in parallel, cached and resumable.

    Parameters
    ----------
    func : callable
        ``func(item) -> result``, a record (flat dict of arrays and JSON
        values, see :class:`DiskCache`) when caching; must be picklable (a module-level function
        or a :func:`functools.partial` of one) for process-based backends.
    items : sequence
        The inputs.
    key : callable, optional
        ``key(item) -> str or None``: the cache key of an item (typically
        :func:`make_key` of a content hash and the parameters). ``None`` or an
        exception means "do not cache this item". Required for caching.
    cache : DiskCache or path, optional
        Where results are stored. ``None`` disables caching.
    n_jobs : int, optional
        joblib's ``n_jobs``; the backend is whatever the caller selected with
        :func:`joblib.parallel_config` (loky by default).
    verbose : int
        Show a tqdm progress bar when > 0.
    desc : str, optional
        Progress-bar label.
    on_error : {"raise", "return"}
        ``"raise"`` re-raises the first exception (results that finished
        before it are already cached); ``"return"`` puts a :class:`Failure`
        in the item's slot and goes on.
    check : callable, optional
        Validates a record read from the cache (see :meth:`DiskCache.get`);
        an invalid one is recomputed.

    Returns
    -------
    results : list
        One entry per item, in input order: the result or a :class:`Failure`.
    from_cache : list of bool
        Whether each result was read from the cache.

    Notes
    -----
    Results are consumed from joblib as they complete (``return_as=
    "generator_unordered"``) and each is written to the cache immediately,
    so killing the process or raising midway loses only the items still
    running. Failures are never cached, so a fixed input is retried.
    """
    if on_error not in ("raise", "return"):
        raise ValueError(f"on_error must be 'raise' or 'return'; got {on_error!r}.")
    items = list(items)
    if cache is not None and not isinstance(cache, DiskCache):
        cache = DiskCache(cache)
    results: list[Any] = [MISSING] * len(items)
    from_cache = [False] * len(items)
    keys: list[str | None] = [None] * len(items)
    if cache is not None and key is not None:
        for i, item in enumerate(items):
            try:
                keys[i] = key(item)
            except Exception as exc:  # e.g. a missing file: let func report it
                logger.debug("No cache key for item %d (%s)", i, exc)
                continue
            if keys[i] is not None:
                value = cache.get(keys[i], check=check)
                if value is not MISSING:
                    results[i] = value
                    from_cache[i] = True
    todo = [i for i in range(len(items)) if results[i] is MISSING]
    logger.debug(
        "parallel_map: %d items, %d cached, %d to compute",
        len(items),
        len(items) - len(todo),
        len(todo),
    )

    bar = None
    if verbose and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=desc, leave=False)
    if n_jobs in (None, 1) or len(todo) <= 1:  # in this thread: the warning filters untouched,
        # as they are the whole process's (another thread may be extracting beside this one)
        _consume(func, items, todo, results, keys, cache, n_jobs, on_error, bar)
        return results, from_cache
    with warnings.catch_warnings():
        # loky replaces a worker whose memory grew (dlib and onnxruntime models) and says so;
        # its jobs are resubmitted and every result still arrives: nothing for the user to do
        warnings.filterwarnings("ignore", message="A worker stopped while some jobs")
        _consume(func, items, todo, results, keys, cache, n_jobs, on_error, bar)
    return results, from_cache


def _consume(func, items, todo, results, keys, cache, n_jobs, on_error, bar):
    """Run ``func`` on the items ``todo``, storing each result (and caching it) as it arrives."""
    try:
        if todo:
            if n_jobs in (None, 1) or len(todo) == 1:
                outputs = (_call(func, i, items[i]) for i in todo)
            else:
                # imported for parallel work only (0.03 s): emoset predict's early child,
                # which extracts one clip before the command imports anything heavy, does not
                from joblib import Parallel, delayed

                outputs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                    delayed(_call)(func, i, items[i]) for i in todo
                )
            for i, out in outputs:
                if isinstance(out, Failure):
                    if on_error == "raise":
                        raise out.error
                elif cache is not None and keys[i] is not None:
                    cache.put(keys[i], out)
                results[i] = out
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
