"""Checksummed, resumable HTTP downloads (standard library only).

The machinery behind :func:`emoset.datasets.fetch.fetch_cremad` and
:func:`emoset.datasets.fetch.fetch_ravdess`. Every function is pure in the sense that it depends only
on its arguments (no module state, nothing at import time):

- :func:`download_file` streams a URL into ``<dest>.part``, resumes an interrupted ``.part`` with
  an HTTP ``Range`` request (and starts over when the server ignores it), retries transient
  errors a bounded number of times, verifies size and checksums, and only then renames the file
  to its final name with :func:`os.replace`. A failed or mismatching download therefore never
  appears under the final name.
- :func:`fetch_json` reads a small JSON document (a Zenodo record).

:func:`emoset.datasets.archive.extract_zip` unpacks what was fetched.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import itertools
import json
import logging
import numbers
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.utils import check_scalar

from ..utils.cache import file_digests

logger = logging.getLogger(__name__)

#: Bytes read from the network or a file per step.
CHUNK_SIZE = 1 << 16

USER_AGENT = "emoset-fetch (Python urllib)"

#: HTTP statuses worth another attempt (timeouts, rate limits, server hiccups).
_TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)


class DownloadError(OSError):
    """A file could not be downloaded or unpacked; the message names the URL or file."""


class ChecksumError(DownloadError):
    """A file's size or checksum differs from the pinned one; the file was discarded."""


class NotAttempted(DownloadError):
    """A file left out after too many other files failed (see :func:`download_many`)."""


class _Transient(Exception):
    """An error worth retrying (connection lost or refused, timeout, HTTP 5xx/429)."""


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class RemoteFile:
    """One file to download.

    Attributes
    ----------
    url : str
    dest : pathlib.Path
        Its final place on disk.
    size : int or None
        Expected size in bytes.
    sha256, md5 : str or None
        Expected hex digests (lower case).
    """

    url: str
    dest: Path
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None


@dataclass(frozen=True)
class DownloadPlan:
    """What a fetch would download: returned by ``fetch_*(..., dry_run=True)``.

    Attributes
    ----------
    corpus : str
        Human-readable corpus name.
    licence : str
        The corpus licence and where to read it.
    folder : pathlib.Path
        Where the corpus lands.
    files : tuple of RemoteFile
        Every file the request covers.
    missing : tuple of RemoteFile
        The files that are not yet present (by the cheap size check) and would be downloaded.
    notes : tuple of str
        Anything else worth knowing (e.g. archives unpacked and deleted).
    """

    corpus: str
    licence: str
    folder: Path
    files: tuple = ()
    missing: tuple = ()
    notes: tuple = field(default=())

    @property
    def total_bytes(self) -> int:
        """Size of every file the request covers (unknown sizes count as 0)."""
        return sum(f.size or 0 for f in self.files)

    @property
    def missing_bytes(self) -> int:
        """Size of the files still to download."""
        return sum(f.size or 0 for f in self.missing)

    def summary(self) -> str:
        """A few lines for a log or a confirmation prompt: corpus, licence, files, sizes."""
        lines = [
            f"{self.corpus} -> {self.folder}",
            f"  licence: {self.licence}",
            f"  {len(self.files)} file(s), {format_size(self.total_bytes)} in total; "
            f"{len(self.missing)} to download ({format_size(self.missing_bytes)}), "
            f"{len(self.files) - len(self.missing)} already present",
        ]
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def format_size(n_bytes) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, as download pages state sizes)."""
    n = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


# --------------------------------------------------------------------------- checks

#: name -> (type, lowest value, whether the lowest value is allowed, whether None is allowed)
_OPTIONS = {
    "n_jobs": (numbers.Integral, 1, True, False),
    "retries": (numbers.Integral, 0, True, False),
    "backoff": (numbers.Real, 0, True, False),
    "timeout": (numbers.Real, 0, False, True),
    "max_failures": (numbers.Integral, 1, True, True),
}


def check_download_options(**options) -> None:
    """Check the numeric options of the download functions and the fetchers, by name.

    The one validator of ``n_jobs``, ``retries``, ``backoff``, ``timeout`` and
    ``max_failures``, so that a bad value fails before any network access, with the same
    message everywhere.

    Parameters
    ----------
    **options
        Any of the names above with the value received.

    Raises
    ------
    TypeError
        If a value is not a number of the right kind (:func:`sklearn.utils.check_scalar`).
    ValueError
        If a value is below its bound; the message names the parameter, the bound and the
        value.
    """
    for name, value in options.items():
        target, low, inclusive, nullable = _OPTIONS[name]
        if value is None and nullable:
            continue
        check_scalar(
            value,
            name,
            target,
            min_val=low,
            include_boundaries="left" if inclusive else "neither",
        )


def verify_file(path, *, size=None, sha256=None, md5=None, name=None, url=None) -> None:
    """Check a file's size, then its checksums.

    Parameters
    ----------
    path : path-like
    size : int or None
    sha256, md5 : str or None
        Expected hex digests; ``None`` skips that check.
    name : str or None
        How to call the file in the error (default: the path).
    url : str or None
        Where the file came from, for the error.

    Raises
    ------
    ChecksumError
        Naming the file, the URL, the expected and the actual value.
    """
    path = Path(path)
    label = name or str(path)
    where = f" (from {url})" if url else ""
    actual_size = path.stat().st_size
    if size is not None and actual_size != int(size):
        raise ChecksumError(
            f"{label}{where}: size mismatch: expected {int(size)} bytes, got {actual_size}."
        )
    wanted = {k: v.lower() for k, v in (("sha256", sha256), ("md5", md5)) if v}
    if not wanted:
        return
    actual = file_digests(path, tuple(wanted))
    for algo, expected in wanted.items():
        if actual[algo] != expected:
            raise ChecksumError(
                f"{label}{where}: {algo} mismatch: expected {expected}, got {actual[algo]}."
            )


# --------------------------------------------------------------------------- progress


class LockedProgress:
    """Wrap a progress bar so that several download threads can update it.

    Parameters
    ----------
    bar : object with ``update(n)``
        Usually a :class:`tqdm.tqdm`.
    """

    def __init__(self, bar):
        self.bar = bar
        self._lock = threading.Lock()

    def update(self, n):
        with self._lock:
            self.bar.update(n)


class _FileProgress:
    """Report one file's byte count to a shared bar as an absolute position."""

    def __init__(self, bar):
        self.bar = bar
        self.reported = 0

    def set(self, n_bytes):
        if self.bar is not None and n_bytes != self.reported:
            self.bar.update(n_bytes - self.reported)
        self.reported = n_bytes


def _make_bar(progress, total, desc):
    """(bar, owned): ``progress`` is a bool or an object with ``update(n)``."""
    if progress is True:
        from tqdm.auto import tqdm

        return (
            tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc),
            True,
        )
    if progress is False or progress is None:
        return None, False
    return progress, False


# --------------------------------------------------------------------------- HTTP


def _parse_content_range(value):
    """``"bytes 10-99/100"`` -> (10, 100); ``"bytes */100"`` -> (None, 100); bad -> (None, None)."""
    match = _CONTENT_RANGE.match(value or "")
    if match is None:
        return None, None
    start = int(match[1]) if match[1] is not None else None
    total = int(match[3]) if match[3] != "*" else None
    return start, total


def _close_quietly(response):
    with contextlib.suppress(Exception):
        response.close()


def _open(url, *, offset, timeout):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(request, timeout=timeout)


def _fetch_to_part(url, part: Path, *, size, timeout, chunk_size, progress: _FileProgress, bar):
    """One attempt: bring ``part`` to the end of the remote file.

    Raises ``_Transient`` for errors worth retrying, ``DownloadError`` for the others.
    """
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        logger.info("%s is longer than the expected %d bytes; starting over.", part, size)
        part.unlink()
        offset = 0
    progress.set(offset)
    if size is not None and offset == size:
        return  # complete already; verification decides
    try:
        response = _open(url, offset=offset, timeout=timeout)
    except urllib.error.HTTPError as exc:
        code, reason, headers = exc.code, exc.reason, exc.headers
        _close_quietly(exc)
        if code == 416 and offset:
            _, total = _parse_content_range(headers.get("Content-Range"))
            if total == offset:
                return  # the part holds the whole file
            part.unlink()
            progress.set(0)
            raise _Transient(f"HTTP 416 for a resume at byte {offset}; starting over") from exc
        if code in _TRANSIENT_HTTP:
            raise _Transient(f"HTTP {code} {reason}") from exc
        raise DownloadError(f"{url}: HTTP {code} {reason}.") from exc
    except urllib.error.URLError as exc:
        raise _Transient(str(exc.reason)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from exc

    with response:
        status = getattr(response, "status", 200)
        length = response.headers.get("Content-Length")
        if status == 206:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != offset:
                part.unlink()
                progress.set(0)
                raise _Transient(f"server sent a range from byte {start}, asked for {offset}")
            mode = "ab"
        else:
            if offset:
                logger.info("%s: the server ignored the range request; starting over.", url)
            offset = 0
            total = None
            mode = "wb"
        expected = offset + int(length) if length is not None and length.isdigit() else total
        if size is not None and expected is not None and expected != size:
            part.unlink(missing_ok=True)  # a stale prefix would fail the same way again
            raise ChecksumError(
                f"{part.name[: -len('.part')]} (from {url}): size mismatch: expected {size} "
                f"bytes, the server announces {expected}."
            )
        if bar is not None and getattr(bar, "total", 0) is None and expected is not None:
            bar.total = expected
        received = offset
        progress.set(received)
        with open(part, mode) as f:
            while True:
                try:
                    chunk = response.read(chunk_size)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Transient(
                        f"connection lost after {received} bytes ({type(exc).__name__}: {exc})"
                    ) from exc
                if not chunk:
                    break
                f.write(chunk)  # a disk error here is not transient: it propagates
                received += len(chunk)
                progress.set(received)
            f.flush()
            os.fsync(f.fileno())
    if expected is not None and received < expected:
        raise _Transient(f"connection closed after {received} of {expected} bytes")


def download_file(
    url,
    dest,
    *,
    sha256=None,
    md5=None,
    size=None,
    verify_existing=False,
    retries=3,
    backoff=1.0,
    timeout=60.0,
    progress=True,
    chunk_size=CHUNK_SIZE,
) -> Path:
    """Download ``url`` to ``dest``: resumable, retried, verified, atomic.

    Parameters
    ----------
    url : str
    dest : path-like
        The final file. The download goes to ``<dest>.part`` and is renamed only after it
        passed every check.
    sha256, md5 : str or None
        Expected hex digests, checked after the download.
    size : int or None
        Expected size in bytes.
    verify_existing : bool, default=False
        When ``dest`` already exists it is kept if its size matches (cheap); with ``True`` its
        checksums are recomputed too. A mismatching existing file is deleted and downloaded
        again.
    retries : int, default=3
        Extra attempts after a transient error (connection refused or lost, timeout, HTTP 408,
        429, 5xx), each resuming where the previous one stopped.
    backoff : float, default=1.0
        Seconds before the first retry, doubled for each next one.
    timeout : float, default=60.0
        Socket timeout in seconds.
    progress : bool or object with ``update(n)``, default=True
        ``True`` shows a tqdm bar for this file; a bar (e.g. one shared by many files, see
        :class:`LockedProgress`) receives the bytes instead; ``False`` shows nothing.
    chunk_size : int

    Returns
    -------
    dest : pathlib.Path

    Raises
    ------
    ChecksumError
        If the size or a checksum differs; the download is deleted, nothing is left under
        ``dest``.
    DownloadError
        On an HTTP error that retrying cannot fix (404, 403, ...) or when every attempt failed;
        the message names the URL. An incomplete ``.part`` file is kept so that the next call
        resumes it.
    ValueError, TypeError
        If ``retries``, ``backoff`` or ``timeout`` is out of range (:func:`check_download_options`).
    """
    check_download_options(retries=retries, backoff=backoff, timeout=timeout)
    dest = Path(dest)
    if dest.is_file():
        try:
            verify_file(
                dest,
                size=size,
                sha256=sha256 if verify_existing else None,
                md5=md5 if verify_existing else None,
            )
        except ChecksumError as exc:
            logger.warning("%s Downloading it again.", exc)
            dest.unlink()
        else:
            logger.debug("%s is already present.", dest)
            return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    bar, owned = _make_bar(progress, size, dest.name)
    tracker = _FileProgress(bar)
    try:
        for attempt in range(int(retries) + 1):
            try:
                _fetch_to_part(
                    url,
                    part,
                    size=size,
                    timeout=timeout,
                    chunk_size=chunk_size,
                    progress=tracker,
                    bar=bar if owned else None,
                )
                break
            except _Transient as exc:
                if attempt >= retries:
                    kept = (
                        f" The partial file {part} is kept; run again to resume."
                        if part.exists()
                        else ""
                    )
                    raise DownloadError(
                        f"Could not download {url} ({attempt + 1} attempt(s)): {exc}.{kept}"
                    ) from exc
                delay = backoff * 2**attempt
                logger.warning(
                    "%s: %s; retrying in %.1f s (attempt %d of %d).",
                    url,
                    exc,
                    delay,
                    attempt + 2,
                    retries + 1,
                )
                time.sleep(delay)
        try:
            verify_file(part, size=size, sha256=sha256, md5=md5, name=dest.name, url=url)
        except ChecksumError as exc:
            part.unlink(missing_ok=True)
            raise ChecksumError(f"{exc} The download was deleted.") from None
        os.replace(part, dest)
    except BaseException:
        tracker.set(0)
        raise
    finally:
        if owned:
            bar.close()
    logger.debug("Downloaded %s -> %s", url, dest)
    return dest


def fetch_json(url, *, retries=3, backoff=1.0, timeout=60.0) -> dict:
    """Read a JSON document (e.g. a Zenodo record), retrying transient errors.

    Raises
    ------
    DownloadError
        Naming the URL, when the document cannot be read or is not JSON.
    ValueError, TypeError
        If ``retries``, ``backoff`` or ``timeout`` is out of range (:func:`check_download_options`).
    """
    check_download_options(retries=retries, backoff=backoff, timeout=timeout)
    for attempt in range(int(retries) + 1):
        try:
            request = urllib.request.Request(
                url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
            break
        except urllib.error.HTTPError as exc:
            _close_quietly(exc)
            if exc.code not in _TRANSIENT_HTTP or attempt >= retries:
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}.") from exc
            reason = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = str(getattr(exc, "reason", exc))
            if attempt >= retries:
                raise DownloadError(
                    f"Could not read {url} ({attempt + 1} attempt(s)): {reason}."
                ) from exc
        logger.warning("%s: %s; retrying.", url, reason)
        time.sleep(backoff * 2**attempt)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DownloadError(f"{url}: not a JSON document ({exc}).") from exc


# --------------------------------------------------------------------------- zip files


def zenodo_files(record: dict, record_url: str) -> dict:
    """The files of a Zenodo record (its REST API JSON) as ``{key: (url, size, algo, digest)}``.

    Accepts both the list form (``"files": [{"key", "size", "checksum": "md5:...", "links"}]``)
    and the InvenioRDM form (``"files": {"entries": {key: {...}}}``).

    Raises
    ------
    DownloadError
        If the record lists no files.
    """
    files = record.get("files")
    if isinstance(files, dict):
        files = files.get("entries", files)
    if isinstance(files, dict):
        files = list(files.values())
    if not files:
        raise DownloadError(f"{record_url}: the record lists no files.")
    out = {}
    for entry in files:
        key = entry.get("key") or entry.get("filename")
        if not key:
            continue
        size = entry.get("size", entry.get("filesize"))
        checksum = str(entry.get("checksum") or "")
        algo, _, digest = checksum.partition(":")
        if not digest:  # the legacy API gave a bare md5
            algo, digest = ("md5", algo) if algo else (None, None)
        links = entry.get("links") or {}
        url = (
            links.get("content")
            or links.get("download")
            or links.get("self")
            or f"{record_url.rstrip('/')}/files/{key}/content"
        )
        out[key] = (url, int(size) if size is not None else None, algo, digest)
    return out


def plan_missing(files: Iterable[RemoteFile]) -> tuple:
    """The files whose final path is absent or has the wrong size (the cheap check)."""
    return tuple(
        f
        for f in files
        if not (f.dest.is_file() and (f.size is None or f.dest.stat().st_size == f.size))
    )


def download_many(
    files: Iterable[RemoteFile],
    *,
    n_jobs=4,
    progress=True,
    desc=None,
    max_failures=10,
    **kwargs,
) -> list:
    """Download several files with a thread pool and one shared progress bar.

    At most ``n_jobs`` downloads are in flight: the next file starts only after a result has
    been collected, so once ``max_failures`` files have failed no new download starts, whatever
    the thread timing.

    Parameters
    ----------
    files : iterable of RemoteFile
    n_jobs : int, default=4
        Concurrent downloads.
    progress : bool, default=True
        Show one tqdm bar over the total size.
    desc : str or None
        The bar's label.
    max_failures : int or None, default=10
        Start no new download after this many files failed (an offline machine should not wait
        out the retries of thousands of files); the at most ``n_jobs - 1`` downloads still in
        flight finish. ``None`` never stops.
    **kwargs
        Passed to :func:`download_file` (``retries``, ``timeout``, ``backoff``,
        ``verify_existing``).

    Returns
    -------
    failures : list of (RemoteFile, Exception)
        The files that could not be downloaded, in the order they finished, then the files not
        attempted after ``max_failures`` (their exception is a :class:`NotAttempted`), in input
        order; the others are in place. A ``KeyboardInterrupt`` starts nothing more, lets the
        downloads in flight finish and propagates.

    Raises
    ------
    ValueError, TypeError
        If ``n_jobs`` or ``max_failures`` is out of range (:func:`check_download_options`).
    """
    from concurrent.futures import ThreadPoolExecutor

    check_download_options(n_jobs=n_jobs, max_failures=max_failures)
    files = list(files)
    bar = None
    if progress and files:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=sum(f.size or 0 for f in files),
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=desc,
        )
    shared = LockedProgress(bar) if bar is not None else False

    def start(pool, file):
        return pool.submit(
            download_file,
            file.url,
            file.dest,
            sha256=file.sha256,
            md5=file.md5,
            size=file.size,
            progress=shared,
            **kwargs,
        )

    try:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            return _run_bounded(files, functools.partial(start, pool), n_jobs, max_failures)
    finally:
        if bar is not None:
            bar.close()


def _run_bounded(files, start, n_jobs, max_failures) -> list:
    """Run ``start(file)`` (which returns a future) with at most ``n_jobs`` futures pending.

    A new file starts only after a finished one has been collected, and none after
    ``max_failures`` failures: the number of attempts is bounded by
    ``max_failures + n_jobs - 1`` plus the successes, independently of thread scheduling.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    queue = iter(files)
    pending = {}  # future -> RemoteFile
    failures = []

    def top_up():
        for file in itertools.islice(queue, n_jobs - len(pending)):
            pending[start(file)] = file

    top_up()
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                file = pending.pop(future)
                if future.exception() is not None:
                    failures.append((file, future.exception()))
            if max_failures is None or len(failures) < max_failures:
                top_up()
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    not_started = list(queue)
    if not_started:
        logger.warning(
            "%d downloads failed; not starting the remaining %d.", len(failures), len(not_started)
        )
    reason = f"not attempted: {max_failures} other download(s) failed first"
    return failures + [(file, NotAttempted(reason)) for file in not_started]
