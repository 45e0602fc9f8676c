"""Types of the public API: what ``emoset/__init__.py`` loads on first use (lazy_loader)."""

from ._version import __version__
from .audio import (
    LibrosaFeatures,
    OpenSmileDescriptorMoments,
    OpenSmileFeatures,
    standardize_per_speaker,
)
from .datasets import (
    Clip,
    combine_corpora,
    fetch_cremad,
    fetch_ravdess,
    load_afew,
    load_cremad,
    load_manifest,
    load_ravdess,
    speaker_kfold,
)
from .decision import AbstainingClassifier, StackingFusion, WeightedScoreFusion
from .io import MediaError, iter_frames, load_audio, media_kind, read_frames
from .recognizer import (
    AudioVisualEmotionRecognizer,
    ClipResult,
    load_model,
    load_pretrained,
    make_audio_pipeline,
    make_video_pipeline,
    save_model,
)
from .sets import (
    CovarianceModel,
    EuclideanKernel,
    GaussianModel,
    GaussianMomentEmbedding,
    ImageSetPLS,
    LogEuclideanKernel,
    MeanModel,
    OneVsRestPLSClassifier,
    ProjectionKernel,
    SubspaceModel,
    make_imageset_pipeline,
)
from .video import (
    HOG,
    LBP,
    DenseSIFT,
    EmotionCNN,
    FaceAligner,
    FaceDescriptor,
    ImageSetFeatures,
    align_video,
    extract_image_sets,
)

__all__ = [
    "__version__",
    # emoset.io: reading media
    "MediaError",
    "iter_frames",
    "load_audio",
    "media_kind",
    "read_frames",
    # emoset.datasets: corpora
    "Clip",
    "combine_corpora",
    "fetch_cremad",
    "fetch_ravdess",
    "load_afew",
    "load_cremad",
    "load_manifest",
    "load_ravdess",
    "speaker_kfold",
    # emoset.video: faces and frame features
    "DenseSIFT",
    "EmotionCNN",
    "FaceAligner",
    "FaceDescriptor",
    "HOG",
    "ImageSetFeatures",
    "LBP",
    "align_video",
    "extract_image_sets",
    # emoset.audio: speech
    "LibrosaFeatures",
    "OpenSmileDescriptorMoments",
    "OpenSmileFeatures",
    "standardize_per_speaker",
    # emoset.sets: image sets, kernels, classifiers
    "CovarianceModel",
    "EuclideanKernel",
    "GaussianModel",
    "GaussianMomentEmbedding",
    "ImageSetPLS",
    "LogEuclideanKernel",
    "MeanModel",
    "OneVsRestPLSClassifier",
    "ProjectionKernel",
    "SubspaceModel",
    "make_imageset_pipeline",
    # emoset.decision: decisions
    "AbstainingClassifier",
    "StackingFusion",
    "WeightedScoreFusion",
    # emoset.recognizer: the recognizer
    "AudioVisualEmotionRecognizer",
    "ClipResult",
    "load_model",
    "load_pretrained",
    "make_audio_pipeline",
    "make_video_pipeline",
    "save_model",
]
