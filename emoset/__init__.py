"""emoset: audio-visual emotion recognition with image-set manifold kernels.

Faces are found and aligned in every frame, each frame becomes a feature vector, the frames of a
clip form an image set summarised by a subspace, covariance or Gaussian on a Riemannian
manifold, manifold kernels feed one-vs-rest PLS classifiers, the speech track goes through
openSMILE and an SVM, and per-class weighted late fusion combines the scores.

>>> from emoset import ImageSetPLS
"""

import logging

__version__ = "0.1.0.dev0"

from .audio import (
    AbstainingClassifier,
    LibrosaFeatures,
    OpenSmileFeatures,
    make_audio_pipeline,
    standardize_per_speaker,
)
from .classifiers import ImageSetPLS, make_imageset_pipeline
from .datasets import (
    Clip,
    load_afew,
    load_cremad,
    load_manifest,
    load_ravdess,
    speaker_kfold,
)
from .extract import extract_image_sets
from .faces import FaceAligner, align_video
from .fetch import fetch_cremad, fetch_ravdess
from .frame_features import HOG, LBP, DenseSIFT, EmotionCNN, FaceDescriptor
from .fusion import StackingFusion, WeightedScoreFusion
from .imagesets import CovarianceModel, GaussianModel, MeanModel, SubspaceModel
from .kernels import EuclideanKernel, LogEuclideanKernel, ProjectionKernel
from .media import MediaError, iter_frames, load_audio, read_frames
from .pls import OneVsRestPLSClassifier
from .system import AudioVisualEmotionRecognizer, load_model, save_model

__all__ = [
    "__version__",
    # data and media
    "Clip",
    "MediaError",
    "fetch_cremad",
    "fetch_ravdess",
    "iter_frames",
    "load_afew",
    "load_audio",
    "load_cremad",
    "load_manifest",
    "load_ravdess",
    "read_frames",
    "speaker_kfold",
    # faces and frame features
    "DenseSIFT",
    "EmotionCNN",
    "FaceAligner",
    "FaceDescriptor",
    "HOG",
    "LBP",
    "align_video",
    "extract_image_sets",
    # image sets, kernels, classifiers
    "CovarianceModel",
    "EuclideanKernel",
    "GaussianModel",
    "ImageSetPLS",
    "LogEuclideanKernel",
    "MeanModel",
    "OneVsRestPLSClassifier",
    "ProjectionKernel",
    "SubspaceModel",
    "make_imageset_pipeline",
    # audio
    "AbstainingClassifier",
    "LibrosaFeatures",
    "OpenSmileFeatures",
    "make_audio_pipeline",
    "standardize_per_speaker",
    # fusion and the whole system
    "AudioVisualEmotionRecognizer",
    "StackingFusion",
    "WeightedScoreFusion",
    "load_model",
    "save_model",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
