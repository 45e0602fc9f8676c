"""Common estimator checks, on every public estimator emoset defines.

* :func:`public_estimators` finds them by walking the package (a class deriving from
  scikit-learn's ``BaseEstimator``, defined in emoset, whose name is public), and
  :func:`test_every_public_estimator_is_checked` fails for one that no list below checks.
* Estimators with 2-D input run scikit-learn's :func:`parametrize_with_checks`.
* Estimators with image-set (ragged list), face-stack, landmark or stacked-matrix input cannot;
  they run our own checks from the registry :data:`SET_INPUT_ESTIMATORS` (an estimator factory
  plus a data factory each).
* Estimators that need whole clips and a fitted model elsewhere run the data-free checks of
  :data:`NO_DATA_ESTIMATORS`.
"""

import atexit
import importlib
import inspect
import pickle
import pkgutil
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from _factories import generate_sets, random_bases, random_spd, write_video
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from emoset.audio.features import LibrosaFeatures, OpenSmileDescriptorMoments, OpenSmileFeatures
from emoset.audio.moments import frame_moments
from emoset.decision.abstain import AbstainingClassifier
from emoset.decision.fusion import StackingFusion, WeightedScoreFusion
from emoset.recognizer.system import AudioVisualEmotionRecognizer
from emoset.sets.classifiers import ImageSetPLS
from emoset.sets.imagesets import (
    CovarianceModel,
    GaussianModel,
    GaussianMomentEmbedding,
    MeanModel,
    SubspaceModel,
)
from emoset.sets.kernels import (
    EuclideanKernel,
    KernelRowScaler,
    LogEuclideanKernel,
    ProjectionKernel,
)
from emoset.sets.pls import OneVsRestPLSClassifier
from emoset.video.cnn_features import EmotionCNN, FaceDescriptor
from emoset.video.extract import ImageSetFeatures
from emoset.video.faces import FaceAligner
from emoset.video.frame_features import HOG, LBP, DenseSIFT, Landmarks, Mirrored

# --------------------------------------------------------------------------------------
# scikit-learn's checks on the 2-D estimators
# --------------------------------------------------------------------------------------

TWO_D_ESTIMATORS = [
    OneVsRestPLSClassifier(),
    OneVsRestPLSClassifier(3, scale=True, backend="sklearn"),
    OneVsRestPLSClassifier(3, strategy="pls2"),
    EuclideanKernel(),
    EuclideanKernel("rbf"),
    EuclideanKernel("rbf", n_landmarks=5, random_state=0),
    KernelRowScaler(),
]


def _expected_failures(estimator):
    if isinstance(estimator, AbstainingClassifier):
        # libsvm's SVC itself fails this check: weights are not equivalent to repeated rows
        return {
            "check_sample_weight_equivalence_on_dense_data": "SVC's own behaviour",
            # the check puts a NaN in X: that row is abstained on and predicts None, which the
            # check's assert_allclose cannot compare (scores stay NaN, compared in our tests)
            "check_estimators_pickle": "None for the NaN row an abstaining classifier skips",
        }
    return {}


TWO_D_ESTIMATORS.append(AbstainingClassifier())


# strict: a check expected to fail that passes is reported, so the list cannot go stale
@parametrize_with_checks(
    TWO_D_ESTIMATORS, expected_failed_checks=_expected_failures, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------------------
# Our checks on estimators that take image sets or stacked matrices
# --------------------------------------------------------------------------------------


def _image_sets(seed):
    return generate_sets(24, 6, n_classes=3, min_frames=6, max_frames=12, random_state=seed)


def _bases(seed):
    return random_bases(10, 6, 2, random_state=seed), None


def _spd(seed):
    return random_spd(10, 4, random_state=seed), None


def _moment_rows(seed):
    sets, _ = _image_sets(seed)
    return np.array([frame_moments(s[:, :4]) for s in sets], dtype=np.float64), None


@dataclass
class SetInputCase:
    """One registry entry: how to build the estimator and its input.

    Attributes
    ----------
    make_estimator : callable
        ``() -> estimator`` (unfitted).
    make_data : callable
        ``(seed) -> (X, y)``; ``y`` may be ``None`` for transformers.
    id : str
        Test id.
    """

    make_estimator: Callable
    make_data: Callable
    id: str


#: Registry of set-input estimators; append cases for new modules' estimators.
SET_INPUT_ESTIMATORS = [
    SetInputCase(lambda: SubspaceModel(n_dims=3), _image_sets, "SubspaceModel"),
    SetInputCase(lambda: SubspaceModel(2, n_pca=4, random_state=0), _image_sets, "SubspacePCA"),
    SetInputCase(CovarianceModel, _image_sets, "CovarianceModel"),
    SetInputCase(lambda: GaussianModel(0.1, det_normalize=True), _image_sets, "GaussianModel"),
    SetInputCase(lambda: MeanModel(3, random_state=0), _image_sets, "MeanModel"),
    SetInputCase(lambda: ProjectionKernel("rbf"), _bases, "ProjectionKernel"),
    SetInputCase(lambda: LogEuclideanKernel("poly"), _spd, "LogEuclideanKernel"),
    SetInputCase(lambda: ImageSetPLS(n_dims=3, n_components=3), _image_sets, "ImageSetPLS"),
    SetInputCase(
        lambda: ImageSetPLS("gaussian", kernel="rbf", classifier="svm", random_state=0),
        _image_sets,
        "ImageSetPLS-svm",
    ),
    SetInputCase(lambda: ImageSetPLS("mean", classifier="lr"), _image_sets, "ImageSetPLS-lr"),
    SetInputCase(
        lambda: LogEuclideanKernel("rbf", n_landmarks=4, random_state=0), _spd, "Nystroem-rows"
    ),
    SetInputCase(
        lambda: ImageSetPLS("covariance", kernel="rbf", n_landmarks=8, random_state=0),
        _image_sets,
        "ImageSetPLS-nystroem",
    ),
    SetInputCase(
        lambda: ImageSetPLS("mean", classifier="svm", n_landmarks=8, random_state=0),
        _image_sets,
        "ImageSetPLS-nystroem-svm",
    ),
]


def _faces(seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(5, 64, 64), dtype=np.uint8), None


def _scores(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 40)
    S = np.eye(3)[y][:, None, :] + rng.normal(0, 0.8, size=(40, 2, 3))
    return S, y


def _landmarks(seed):
    """Five frames of 68 points: a face shape, jittered."""
    rng = np.random.default_rng(seed)
    angle = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    shape = np.stack([75 + 40 * np.cos(angle), 75 + 50 * np.sin(angle)], axis=1)
    return shape + rng.normal(0, 1.5, size=(5, 68, 2)), None


def _chips(seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(2, 150, 150, 3), dtype=np.uint8), None


SET_INPUT_ESTIMATORS += [
    SetInputCase(Landmarks, _landmarks, "Landmarks"),
    SetInputCase(lambda: Landmarks("distances", deltas=False), _landmarks, "Landmarks-distances"),
    SetInputCase(lambda: Mirrored(HOG()), _faces, "Mirrored-HOG"),
    SetInputCase(FaceDescriptor, _chips, "FaceDescriptor"),
    SetInputCase(DenseSIFT, _faces, "DenseSIFT"),
    SetInputCase(HOG, _faces, "HOG"),
    SetInputCase(lambda: LBP(grid=2), _faces, "LBP"),
    SetInputCase(lambda: EmotionCNN(output="both"), _faces, "EmotionCNN"),
    SetInputCase(WeightedScoreFusion, _scores, "WeightedScoreFusion"),
    SetInputCase(StackingFusion, _scores, "StackingFusion"),
]


_MEDIA = Path(tempfile.mkdtemp(prefix="emoset-test-common-"))
atexit.register(shutil.rmtree, _MEDIA, ignore_errors=True)


def _voice(seed, f0):
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    phase = 2 * np.pi * f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t)) * t
    y = sum(np.sin(k * phase) / k for k in range(1, 6)) + 0.01 * rng.standard_normal(t.size)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def _wav_clips(seed):
    """Four short generated voices (two 'low', two 'high') as wav files."""
    import soundfile as sf

    paths, y = [], []
    for i, f0 in enumerate((110.0, 125.0, 240.0, 260.0)):
        path = _MEDIA / f"voice_{seed}_{i}.wav"
        if not path.exists():
            sf.write(path, _voice(seed * 10 + i, f0 + 5 * seed), 16000)
        paths.append(path)
        y.append("low" if f0 < 200 else "high")
    return paths, np.array(y)


#: Real face crops (CREMA-D, ../shared/data) whose first frames make the videos below.
_FACE_CLIPS = ["1003_IEO_SAD_LO", "1005_IEO_ANG_HI", "1008_IEO_SAD_LO", "1009_ITS_FEA_XX"]


def _video_clips(seed):
    """Two short videos of a real face each (the first 6 frames of two CREMA-D crops, other
    crops for another seed): image sets of 6 faces, so the checks compare real features."""
    from conftest import _shared_data

    from emoset.io.media import read_frames

    root = _shared_data() / "cremad" / "facecrop128" / "video"
    paths = []
    for i in range(2):
        path = _MEDIA / f"video_{seed}_{i}.mp4"
        if not path.exists():
            source = root / f"{_FACE_CLIPS[(2 * seed + i) % len(_FACE_CLIPS)]}.mp4"
            if not source.is_file():
                pytest.skip(f"real face clips not found in {root}")
            write_video(path, read_frames(source, max_frames=6))
        paths.append(path)
    return paths, None


def _sets_with_a_small_one(seed):
    sets, y = _image_sets(seed)
    sets[3] = sets[3][:1]  # one frame: abstained on
    return sets, y


SET_INPUT_ESTIMATORS += [
    SetInputCase(OpenSmileFeatures, _wav_clips, "OpenSmileFeatures"),
    SetInputCase(OpenSmileDescriptorMoments, _wav_clips, "OpenSmileDescriptorMoments"),
    SetInputCase(GaussianMomentEmbedding, _moment_rows, "GaussianMomentEmbedding"),
    SetInputCase(lambda: LibrosaFeatures(n_mfcc=8), _wav_clips, "LibrosaFeatures"),
    SetInputCase(lambda: ImageSetFeatures("lbp"), _video_clips, "ImageSetFeatures"),
    SetInputCase(
        lambda: AbstainingClassifier(ImageSetPLS("mean", n_components=2), min_set_size=2),
        _sets_with_a_small_one,
        "AbstainingClassifier-sets",
    ),
    SetInputCase(
        lambda: AbstainingClassifier(ImageSetPLS("mean"), ood_quantile=0.9),
        _image_sets,
        "AbstainingClassifier-ood",
    ),
]


def test_image_set_features_case_sees_faces():
    """The common checks of ImageSetFeatures compare features of real faces, not empty sets."""
    for seed in (0, 1):
        X, _ = _video_clips(seed)
        sets = ImageSetFeatures("lbp").fit(X).transform(X)
        assert [s.shape for s in sets] == [(6, 160), (6, 160)] and all(s.std() > 0 for s in sets)


def register_set_input_estimator(make_estimator, make_data, id):
    """Append an estimator to :data:`SET_INPUT_ESTIMATORS` (for other modules' tests)."""
    SET_INPUT_ESTIMATORS.append(SetInputCase(make_estimator, make_data, id))


def _outputs(estimator, X):
    """Everything the fitted estimator computes on X, as a list of arrays."""
    out = []
    for method in ("transform", "decision_function", "predict_proba", "predict"):
        if hasattr(estimator, method):
            value = getattr(estimator, method)(X)
            if isinstance(value, list):  # image sets: one array per clip
                out.extend(np.asarray(v) for v in value)
            else:
                out.append(np.asarray(value))
    return out


def _same(a, b):
    if a.dtype.kind == "f":
        assert_allclose(a, b)
    else:
        assert (a == b).all()


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return estimator.fit(X, y)


CASES = pytest.mark.parametrize("case", SET_INPUT_ESTIMATORS, ids=lambda c: c.id)


@CASES
def test_clone_round_trip(case):
    est = case.make_estimator()
    cloned = clone(est)
    assert cloned is not est
    assert pickle.dumps(cloned.get_params()) == pickle.dumps(est.get_params())  # nested too
    assert type(cloned) is type(est)


@CASES
def test_fit_returns_self(case):
    est = case.make_estimator()
    X, y = case.make_data(0)
    assert _fit(est, X, y) is est


@CASES
def test_not_fitted_error(case):
    est = case.make_estimator()
    X, _ = case.make_data(0)
    method = next(m for m in ("predict", "transform") if hasattr(est, m))
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        getattr(est, method)(X)


@CASES
def test_params_unchanged_by_fit(case):
    est = case.make_estimator()
    before = pickle.dumps(est.get_params(deep=False))
    X, y = case.make_data(0)
    _fit(est, X, y)
    assert pickle.dumps(est.get_params(deep=False)) == before


@CASES
def test_pickle_round_trip(case):
    X, y = case.make_data(0)
    est = _fit(case.make_estimator(), X, y)
    restored = pickle.loads(pickle.dumps(est))
    X_new, _ = case.make_data(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for a, b in zip(_outputs(est, X_new), _outputs(restored, X_new), strict=True):
            _same(a, b)


@CASES
def test_same_seed_same_output(case):
    X, y = case.make_data(0)
    X_new, _ = case.make_data(1)
    outs = []
    for _ in range(2):
        est = _fit(case.make_estimator(), X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            outs.append(_outputs(est, X_new))
    for a, b in zip(*outs, strict=True):
        _same(a, b)


@CASES
def test_transform_and_predict_leave_the_estimator_unchanged(case):
    """A fitted estimator is read-only: transform, predict and friends change no attribute."""
    X, y = case.make_data(0)
    est = _fit(case.make_estimator(), X, y)
    before = pickle.dumps(vars(est))
    X_new, _ = case.make_data(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _outputs(est, X_new)
        if hasattr(est, "extract"):
            est.extract(X_new)
    assert pickle.dumps(vars(est)) == before


# --------------------------------------------------------------------------------------
# Estimators that take clips or frames and are fitted elsewhere (test_faces, test_system)
# --------------------------------------------------------------------------------------

NO_DATA_ESTIMATORS = [
    FaceAligner(),
    FaceAligner(96, detect_every=1, landmarks=5, chips=True),
    AudioVisualEmotionRecognizer(),
    AudioVisualEmotionRecognizer(video={}, fusion=StackingFusion(), inner_cv=3),
    ImageSetFeatures("hog", fps=5.0),
]


@pytest.mark.parametrize("est", NO_DATA_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_estimators_without_data(est):
    """The checks that need no data: clone, parameters as given, pickle, not-fitted error."""
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
    )

    cloned = clone(est)
    assert type(cloned) is type(est) and cloned is not est
    assert pickle.dumps(cloned.get_params(deep=False)) == pickle.dumps(est.get_params(deep=False))
    check_no_attributes_set_in_init(type(est).__name__, clone(est))
    check_get_params_invariance(type(est).__name__, clone(est))
    restored = pickle.loads(pickle.dumps(est))
    assert restored.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    for method in ("predict", "transform"):
        if hasattr(est, method):
            with pytest.raises(NotFittedError, match="is not fitted yet"):
                getattr(est, method)([Path("clip.mp4")])


# --------------------------------------------------------------------------------------
# Every public estimator is in one of the lists above
# --------------------------------------------------------------------------------------


def public_estimators():
    """Every public estimator class emoset defines, found by walking its modules."""
    import emoset

    found = set()
    for info in pkgutil.walk_packages(emoset.__path__, "emoset."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
                and not inspect.isabstract(cls)
            ):
                found.add(cls)
    return found


def test_every_public_estimator_is_checked():
    checked = {type(e) for e in TWO_D_ESTIMATORS + NO_DATA_ESTIMATORS}
    checked |= {type(case.make_estimator()) for case in SET_INPUT_ESTIMATORS}
    found = public_estimators()
    assert len(found) >= 25  # the walk reached every subpackage
    unchecked = sorted(f"{c.__module__}.{c.__qualname__}" for c in found - checked)
    assert unchecked == [], "add a case for each to the lists in tests/test_common.py"
