"""HTTP downloads and zip extraction against a real HTTP server on 127.0.0.1 (no internet).

See ``tests/_loopback.py`` for the server; any connection outside loopback fails the test.
"""

import re
import urllib.request
import zipfile

import _loopback
import pytest

from emoset.datasets import download as _download
from emoset.datasets.archive import extract_zip
from emoset.datasets.download import (
    ChecksumError,
    DownloadError,
    download_file,
    zenodo_files,
)

# The loopback server fixtures (tests/_loopback.py), bound here so that pytest finds them.
loopback_only = _loopback.loopback_only
server = _loopback.server
refused_url = _loopback.refused_url
_payload, _sha256, _md5 = _loopback._payload, _loopback._sha256, _loopback._md5

FAST = dict(progress=False, backoff=0.0, timeout=5.0)


# --------------------------------------------------------------------------- download_file


def test_loopback_guard_blocks_other_hosts():
    with pytest.raises(AssertionError, match="outside loopback"):
        urllib.request.urlopen("https://zenodo.org/api/records/1188976", timeout=1)


def test_good_download_is_verified_and_renamed(server, tmp_path):
    data = _payload(200_000)
    server.files["/a/file.bin"] = data
    dest = tmp_path / "sub" / "file.bin"
    out = download_file(
        server.url + "/a/file.bin",
        dest,
        sha256=_sha256(data),
        md5=_md5(data),
        size=len(data),
        **FAST,
    )
    assert out == dest and dest.read_bytes() == data
    assert not (tmp_path / "sub" / "file.bin.part").exists()
    assert server.requests("/a/file.bin") == [None]


def test_progress_bar_receives_every_byte(server, tmp_path):
    data = _payload(100_000)
    server.files["/f"] = data

    class Bar:
        n = 0

        def update(self, k):
            self.n += k

    bar = Bar()
    download_file(server.url + "/f", tmp_path / "f", size=len(data), progress=bar, backoff=0)
    assert bar.n == len(data)


def test_checksum_mismatch_names_file_and_hashes_and_leaves_nothing(server, tmp_path):
    data = _payload(5000)
    server.files["/clip.wav"] = data
    wrong = "0" * 64
    dest = tmp_path / "clip.wav"
    with pytest.raises(
        ChecksumError,
        match=rf"clip\.wav \(from .*/clip\.wav\): sha256 mismatch: expected {wrong}, "
        rf"got {_sha256(data)}",
    ):
        download_file(server.url + "/clip.wav", dest, sha256=wrong, size=len(data), **FAST)
    assert not dest.exists()
    assert not (tmp_path / "clip.wav.part").exists()


def test_announced_size_mismatch_stops_early(server, tmp_path):
    server.files["/clip.wav"] = _payload(5000)
    with pytest.raises(ChecksumError, match=r"size mismatch: expected 4000 bytes"):
        download_file(server.url + "/clip.wav", tmp_path / "clip.wav", size=4000, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_interruption_resumes_with_a_range_request(server, tmp_path):
    data = _payload(300_000)
    server.files["/big.zip"] = data
    server.drop_after["/big.zip"] = 123_456
    dest = tmp_path / "big.zip"
    download_file(server.url + "/big.zip", dest, sha256=_sha256(data), retries=2, **FAST)
    assert dest.read_bytes() == data
    assert server.requests("/big.zip") == [None, "bytes=123456-"]


def test_interrupted_part_file_is_resumed_by_the_next_call(server, tmp_path):
    data = _payload(100_000)
    server.files["/big.zip"] = data
    server.drop_after["/big.zip"] = 40_000
    dest = tmp_path / "big.zip"
    with pytest.raises(DownloadError, match=r"big\.zip.*40000 of 100000 bytes.*run again"):
        download_file(server.url + "/big.zip", dest, md5=_md5(data), retries=0, **FAST)
    assert not dest.exists()
    assert (tmp_path / "big.zip.part").stat().st_size == 40_000
    download_file(server.url + "/big.zip", dest, md5=_md5(data), retries=0, **FAST)
    assert dest.read_bytes() == data
    assert server.requests("/big.zip") == [None, "bytes=40000-"]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = _payload(50_000)
    server.files["/f.bin"] = data
    server.ignore_range.add("/f.bin")
    (tmp_path / "f.bin.part").write_bytes(b"x" * 10_000)  # stale, wrong bytes
    download_file(server.url + "/f.bin", tmp_path / "f.bin", sha256=_sha256(data), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert server.requests("/f.bin") == ["bytes=10000-"]


def test_complete_part_file_is_only_verified(server, tmp_path):
    data = _payload(20_000)
    server.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data)
    download_file(
        server.url + "/f.bin", tmp_path / "f.bin", sha256=_sha256(data), size=len(data), **FAST
    )
    assert (tmp_path / "f.bin").read_bytes() == data
    # Without a known size the server is asked, and its 416 says the part is complete.
    (tmp_path / "g.bin.part").write_bytes(data)
    server.files["/g.bin"] = data
    download_file(server.url + "/g.bin", tmp_path / "g.bin", sha256=_sha256(data), **FAST)
    assert server.requests("/f.bin") == [] and server.requests("/g.bin") == ["bytes=20000-"]


def test_transient_server_error_is_retried(server, tmp_path):
    data = _payload(1000)
    server.files["/f"] = data
    server.fail_once["/f"] = 503
    download_file(server.url + "/f", tmp_path / "f", size=len(data), retries=1, **FAST)
    assert (tmp_path / "f").read_bytes() == data and len(server.requests("/f")) == 2


def test_404_is_a_clear_error_without_retries(server, tmp_path):
    url = server.url + "/missing.flv"
    with pytest.raises(DownloadError, match=re.escape(url) + r": HTTP 404"):
        download_file(url, tmp_path / "missing.flv", retries=3, **FAST)
    assert server.requests("/missing.flv") == [None]
    assert list(tmp_path.iterdir()) == []


def test_refused_connection_is_a_clear_error(refused_url, tmp_path):
    with pytest.raises(DownloadError, match=re.escape(refused_url) + r".*2 attempt.*refused"):
        download_file(refused_url, tmp_path / "file.bin", retries=1, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_present_file_is_skipped_and_a_bad_one_replaced(server, tmp_path):
    data = _payload(8000)
    server.files["/f"] = data
    dest = tmp_path / "f"
    kwargs = dict(sha256=_sha256(data), size=len(data), **FAST)
    download_file(server.url + "/f", dest, **kwargs)
    download_file(server.url + "/f", dest, **kwargs)
    assert len(server.requests("/f")) == 1
    dest.write_bytes(b"y" * len(data))  # same size, wrong content: only the hash sees it
    download_file(server.url + "/f", dest, **kwargs)
    assert len(server.requests("/f")) == 1
    download_file(server.url + "/f", dest, verify_existing=True, **kwargs)
    assert dest.read_bytes() == data and len(server.requests("/f")) == 2
    dest.write_bytes(b"short")  # wrong size: the cheap check sees it
    download_file(server.url + "/f", dest, **kwargs)
    assert dest.read_bytes() == data and len(server.requests("/f")) == 3


@pytest.fixture
def started(monkeypatch):
    """The destinations download_many hands to download_file, in the order it starts them."""
    names = []
    real = _download.download_file

    def recording(url, dest, **kwargs):
        names.append(dest.name)
        return real(url, dest, **kwargs)

    monkeypatch.setattr(_download, "download_file", recording)
    return names


@pytest.mark.parametrize(
    ("n_jobs", "max_failures"),
    [(1, 1), (1, 3), (2, 1), (3, 2)],
    ids=["1-job-stop-at-1", "1-job-stop-at-3", "2-jobs-stop-at-1", "3-jobs-stop-at-2"],
)
def test_download_many_stops_after_max_failures(
    refused_url, tmp_path, started, n_jobs, max_failures
):
    files = [_download.RemoteFile(refused_url, tmp_path / f"f{i}", size=1) for i in range(8)]
    failures = _download.download_many(
        files,
        n_jobs=n_jobs,
        progress=False,
        max_failures=max_failures,
        retries=0,
        backoff=0,
        timeout=5,
    )
    # At most n_jobs downloads in flight and none started after the limit: whatever the
    # thread timing, only the downloads already running when the limit was reached finish.
    assert max_failures <= len(started) <= max_failures + n_jobs - 1
    assert started == [f"f{i}" for i in range(len(started))]
    assert len(failures) == 8
    tried = [exc for _, exc in failures if not isinstance(exc, _download.NotAttempted)]
    skipped = [f.dest.name for f, exc in failures if isinstance(exc, _download.NotAttempted)]
    assert len(tried) == len(started) and all("refused" in str(exc) for exc in tried)
    assert skipped == [f"f{i}" for i in range(len(started), 8)]
    assert list(tmp_path.iterdir()) == []


def test_download_many_without_limit_tries_every_file(refused_url, tmp_path, started):
    files = [_download.RemoteFile(refused_url, tmp_path / f"f{i}", size=1) for i in range(5)]
    failures = _download.download_many(files, n_jobs=2, max_failures=None, retries=0, **FAST)
    assert sorted(started) == [f"f{i}" for i in range(5)]
    assert not any(isinstance(exc, _download.NotAttempted) for _, exc in failures)


def test_download_many_keeps_the_good_files(server, tmp_path, started):
    files = []
    for i in range(6):
        data = _payload(2000 + i, seed=i)
        if i % 3:  # files 0 and 3 are missing on the server: 404
            server.files[f"/f{i}"] = data
        files.append(
            _download.RemoteFile(
                server.url + f"/f{i}", tmp_path / f"f{i}", size=len(data), sha256=_sha256(data)
            )
        )
    failures = _download.download_many(files, n_jobs=2, max_failures=5, retries=0, **FAST)
    assert sorted(f.dest.name for f, _ in failures) == ["f0", "f3"]
    assert all("HTTP 404" in str(exc) for _, exc in failures)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f1", "f2", "f4", "f5"]
    assert len(started) == 6


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_jobs=0), ValueError, r"n_jobs == 0, must be >= 1"),
        (dict(n_jobs=2.0), TypeError, r"n_jobs must be an instance of int, not float"),
        (dict(max_failures=0), ValueError, r"max_failures == 0, must be >= 1"),
    ],
    ids=["zero-jobs", "float-jobs", "zero-max-failures"],
)
def test_download_many_bad_arguments(tmp_path, kwargs, error, match):
    files = [_download.RemoteFile("http://127.0.0.1:9/x", tmp_path / "x")]
    with pytest.raises(error, match=match):
        _download.download_many(files, progress=False, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(retries=-1), ValueError, r"retries == -1, must be >= 0"),
        (dict(retries="3"), TypeError, r"retries must be an instance of int, not str"),
        (dict(backoff=-0.5), ValueError, r"backoff == -0.5, must be >= 0"),
        (dict(timeout=0), ValueError, r"timeout == 0, must be > 0"),
    ],
    ids=["negative-retries", "retries-as-text", "negative-backoff", "zero-timeout"],
)
def test_download_file_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        download_file("http://127.0.0.1:9/x", tmp_path / "x", progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- zip and Zenodo


def test_extract_zip_refuses_paths_outside_the_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil.txt", "x")
    with pytest.raises(DownloadError, match=r"outside .*refusing"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_extract_zip_rejects_a_non_zip(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(DownloadError, match=r"bad\.zip is not a readable zip"):
        extract_zip(tmp_path / "bad.zip", tmp_path / "out")


@pytest.mark.parametrize(
    "record",
    [
        {
            "files": [
                {
                    "key": "A.zip",
                    "size": 3,
                    "checksum": "md5:abc",
                    "links": {"self": "http://h/api/records/1/files/A.zip/content"},
                }
            ]
        },
        {
            "files": {
                "enabled": True,
                "entries": {
                    "A.zip": {
                        "key": "A.zip",
                        "size": 3,
                        "checksum": "md5:abc",
                        "links": {"content": "http://h/api/records/1/files/A.zip/content"},
                    }
                },
            }
        },
    ],
    ids=["legacy-list", "invenio-entries"],
)
def test_zenodo_record_forms(record):
    assert zenodo_files(record, "http://h/api/records/1") == {
        "A.zip": ("http://h/api/records/1/files/A.zip/content", 3, "md5", "abc")
    }


def test_zenodo_record_without_files():
    with pytest.raises(DownloadError, match=r"http://h/r: the record lists no files"):
        zenodo_files({"files": []}, "http://h/r")
