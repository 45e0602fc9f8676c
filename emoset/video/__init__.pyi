"""Types of :mod:`emoset.video`: what its ``__init__.py`` loads on first use (lazy_loader)."""

from .cnn_features import EmotionCNN, FaceDescriptor
from .emotion_onnx import EMOTION_LABELS, EMOTION_MODEL_FILE, emotion_model_path
from .extract import FRAME_FEATURES, ImageSetFeatures, extract_image_sets, make_frame_features
from .faces import (
    AlignStats,
    FaceAligner,
    FaceTrack,
    TrackedFace,
    align_video,
    find_face_model,
    similarity_transform,
)
from .frame_features import HOG, LBP, MIRROR_68, DenseSIFT, Landmarks, Mirrored
from .people import (
    TRACKING_VERSION,
    PeopleFaces,
    PeopleTracker,
    Person,
    ShotCuts,
    align_people,
    small_view,
    summarise_people,
    track_people,
)
from .speakers import (
    VOICE_DB,
    attribute_speech,
    mouth_change,
    mouth_motion,
    mouth_region,
    voice_levels,
)

__all__ = [
    "AlignStats",
    "DenseSIFT",
    "EMOTION_LABELS",
    "EMOTION_MODEL_FILE",
    "EmotionCNN",
    "FRAME_FEATURES",
    "FaceAligner",
    "FaceDescriptor",
    "FaceTrack",
    "HOG",
    "ImageSetFeatures",
    "LBP",
    "Landmarks",
    "MIRROR_68",
    "Mirrored",
    "PeopleFaces",
    "PeopleTracker",
    "Person",
    "ShotCuts",
    "TRACKING_VERSION",
    "TrackedFace",
    "VOICE_DB",
    "align_people",
    "align_video",
    "attribute_speech",
    "emotion_model_path",
    "extract_image_sets",
    "find_face_model",
    "make_frame_features",
    "mouth_change",
    "mouth_motion",
    "mouth_region",
    "similarity_transform",
    "small_view",
    "summarise_people",
    "track_people",
    "voice_levels",
]
