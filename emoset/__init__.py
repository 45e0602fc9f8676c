"""emoset: audio-visual emotion recognition with image-set manifold kernels.

Faces are found and aligned in every frame, each frame becomes a feature vector, the frames of a
clip form an image set summarised by a subspace, covariance or Gaussian on a Riemannian
manifold, manifold kernels feed one-vs-rest PLS classifiers, the speech track goes through
openSMILE and an SVM, and per-class weighted late fusion combines the scores.

>>> from emoset import ImageSetPLS
"""

import logging

from ._version import __version__
from .abstain import AbstainingClassifier
from .audio import LibrosaFeatures, OpenSmileFeatures, make_audio_pipeline
from .classifiers import ImageSetPLS, make_imageset_pipeline
from .cnn_features import EmotionCNN, FaceDescriptor
from .datasets import Clip, load_afew, load_cremad, load_ravdess
from .extract import ImageSetFeatures, extract_image_sets
from .faces import FaceAligner, align_video
from .fetch import fetch_cremad, fetch_ravdess
from .frame_features import HOG, LBP, DenseSIFT
from .fusion import StackingFusion, WeightedScoreFusion
from .imagesets import CovarianceModel, GaussianModel, MeanModel, SubspaceModel
from .kernels import EuclideanKernel, LogEuclideanKernel, ProjectionKernel
from .manifest import load_manifest
from .media import MediaError, iter_frames, load_audio, media_kind, read_frames
from .normalize import standardize_per_speaker
from .persistence import load_model, save_model
from .pls import OneVsRestPLSClassifier
from .splits import speaker_kfold
from .subsystems import make_video_pipeline
from .system import AudioVisualEmotionRecognizer, ClipResult

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
    "media_kind",
    "read_frames",
    "speaker_kfold",
    # faces and frame features
    "DenseSIFT",
    "EmotionCNN",
    "FaceAligner",
    "FaceDescriptor",
    "HOG",
    "ImageSetFeatures",
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
    "make_video_pipeline",
    # audio
    "AbstainingClassifier",
    "LibrosaFeatures",
    "OpenSmileFeatures",
    "make_audio_pipeline",
    "standardize_per_speaker",
    # fusion and the whole system
    "AudioVisualEmotionRecognizer",
    "ClipResult",
    "StackingFusion",
    "WeightedScoreFusion",
    "load_model",
    "save_model",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
