"""Shared fixtures: the real data folder (``../shared/data`` or ``$EMOSET_DATA``)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data():
    env = os.environ.get("EMOSET_DATA")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root():
    """The folder with the real CREMA-D and RAVDESS clips; skip when it is absent."""
    root = _shared_data()
    if not (root / "manifest.csv").is_file():
        pytest.skip(f"real data not found at {root} (set EMOSET_DATA or place ../shared/data)")
    return root


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Keep tests out of the user's ~/.cache/emoset (the converted CNN graph lands here)."""
    previous = os.environ.get("EMOSET_CACHE")
    os.environ["EMOSET_CACHE"] = str(tmp_path_factory.mktemp("emoset-cache"))
    yield
    if previous is None:
        os.environ.pop("EMOSET_CACHE", None)
    else:
        os.environ["EMOSET_CACHE"] = previous
