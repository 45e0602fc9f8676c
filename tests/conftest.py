"""Shared fixtures: the real data folder, one feature cache, one small trained recognizer."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # ``make test`` runs two test files at once, one per core: one BLAS/OpenMP thread each (set
    # before NumPy loads, inherited by the commands the tests start), or their spinning thread
    # pools fight over the cores and the run gets slower, not faster
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
    # and a numba cache of its own (librosa, the oracle of tests/audio/test_descriptors.py):
    # two workers compiling into one folder at once crashed one of them in numba's code
    _numba = os.environ.get("NUMBA_CACHE_DIR") or str(REPO / ".cache" / "numba")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(_numba, os.environ["PYTEST_XDIST_WORKER"])


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
    """Keep tests out of the user's ~/.cache/emoset: default caches go to a temporary folder."""
    previous = os.environ.get("EMOSET_CACHE")
    os.environ["EMOSET_CACHE"] = str(tmp_path_factory.mktemp("emoset-cache"))
    yield
    if previous is None:
        os.environ.pop("EMOSET_CACHE", None)
    else:
        os.environ["EMOSET_CACHE"] = previous


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory):
    """One feature cache for every slow test: each clip's faces and features computed once.

    Under ``make test`` the test files run in worker processes (pytest-xdist); they share this
    folder (the run's temporary root, above each worker's own), so a clip extracted by one
    worker is read back by the other. Entries are written atomically: two workers that
    compute the same clip at once write the same bytes, and neither ever reads half a file.
    ``$EMOSET_TEST_FEATURES`` names a folder to use instead, kept from run to run.
    """
    if os.environ.get("EMOSET_TEST_FEATURES"):  # kept across runs (python -m benchmarks mutation)
        kept = Path(os.environ["EMOSET_TEST_FEATURES"])
        kept.mkdir(parents=True, exist_ok=True)
        return kept
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "features"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("features")


@pytest.fixture(scope="session")
def cremad_split(data_root):
    """The 80 CREMA-D face-crop clips split by actor: every 4th actor is held out."""
    from emoset.datasets.corpora import load_cremad

    clips = load_cremad(data_root, subsets=["facecrop128"])
    test_speakers = sorted({c.speaker for c in clips})[::4]
    train = [c for c in clips if c.speaker not in test_speakers]
    test = [c for c in clips if c.speaker in test_speakers]
    return train, test


def make_small_recognizer(cache_dir, **params):
    """CNN image sets (mean or covariance, by inner CV) + eGeMAPS SVM: a quick recognizer."""
    from emoset.recognizer.subsystems import make_audio_pipeline
    from emoset.recognizer.system import AudioVisualEmotionRecognizer
    from emoset.sets.classifiers import ImageSetPLS

    video = {
        "cnn-pls": (
            "cnn",
            [
                ImageSetPLS("mean", kernel="rbf", n_components=5, random_state=0),
                ImageSetPLS("covariance", kernel="rbf", n_pca=16, n_components=5, random_state=0),
            ],
        )
    }
    audio = {"audio-svm": make_audio_pipeline("egemaps", probability=False)}
    return AudioVisualEmotionRecognizer(
        video=video, audio=audio, cache_dir=cache_dir, inner_cv=3, **params
    )


@pytest.fixture(scope="session")
def small_recognizer(cremad_split, feature_cache):
    """The quick recognizer fitted on the training actors of ``cremad_split``."""
    return make_small_recognizer(feature_cache).fit(cremad_split[0])


@pytest.fixture(scope="session")
def small_model_file(small_recognizer, tmp_path_factory):
    """``small_recognizer`` saved with save_model (and its .sha256 beside it)."""
    from emoset.recognizer.persistence import save_model

    return save_model(small_recognizer, tmp_path_factory.mktemp("model") / "model.skops")


@pytest.fixture(scope="session")
def dists(tmp_path_factory):
    """(sdist, wheel) built by ``python -m build`` from a copy of the working tree, once.

    tests/test_wheel.py installs the wheel in a fresh environment; tests/datasets/test_datasets.py reads
    the split files from it.
    """
    pytest.importorskip("build", reason="build (dev extra) makes the sdist and the wheel")
    root = tmp_path_factory.mktemp("build")
    src = root / "src"
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache", "results"
        ),
    )
    # no isolation: setuptools and wheel come from this environment instead of a download
    cmd = [sys.executable, "-m", "build", "--no-isolation", "--outdir", root / "dist", src]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"python -m build failed:\n{done.stderr[-3000:]}"
    (sdist,) = (root / "dist").glob("emoset-*.tar.gz")
    (wheel,) = (root / "dist").glob("emoset-*.whl")
    return sdist, wheel


#: The longest test files, longest first (``--durations``, two workers, 2026-12-02/03: 155-230,
#: 85-155, 75-150 and 55-85 s of the suite's 570-860 s); an order only, so a stale entry costs
#: time, not a failure.
LONGEST_FILES = ("test_pipelines.py", "test_wheel.py", "test_audio.py", "test_timeline.py")


def pytest_collection_modifyitems(config, items):
    """The longest files first, then the other files with minute-long (``slow``) tests.

    ``make test`` hands whole files to two workers in collection order (``--dist loadfile
    --no-loadscope-reorder``): the longest first, so that the short ones fill the gaps at the end
    instead of one worker running a long file alone while the other idles. Each file's tests
    keep their order.
    """
    has_slow = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item):
        name = item.path.name
        longest = LONGEST_FILES.index(name) if name in LONGEST_FILES else len(LONGEST_FILES)
        return longest, item.path not in has_slow

    items.sort(key=rank)
