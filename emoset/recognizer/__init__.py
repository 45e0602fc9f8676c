"""The audio-visual recognizer: its default subsystems, the record and the rule that turns
subsystem scores into a label (clips and windows), timelines over long or live sources,
saving and loading (skops), model cards and the bundled model."""

from .card import (
    CARD_FORMAT,
    CORPUS_TERMS,
    describe_model,
    format_card,
    model_info,
    train_card,
    training_data,
)
from .people import NOT_SPEAKING, OFF_SCREEN, PEOPLE_COLUMNS, WindowPeople, predict_people
from .persistence import (
    card_path,
    load_model,
    load_pretrained,
    read_card,
    save_model,
)
from .records import ClipResult, Decision, decide, json_value
from .subsystems import (
    MIN_FACES,
    VIDEO_FEATURES,
    default_audio_subsystems,
    default_video_subsystems,
    landmarks_video_subsystems,
    make_audio_pipeline,
    make_video_pipeline,
    multiple_kernel_video_subsystems,
    video_candidates,
)
from .system import AudioVisualEmotionRecognizer
from .timeline import (
    AUDIO_RATE,
    SPEECH_MIN_ACTIVITY,
    TimelineOptions,
    TimelineRun,
    predict_timeline,
    score_columns,
    smooth_timeline,
    stream_timeline,
)

__all__ = [
    "AUDIO_RATE",
    "AudioVisualEmotionRecognizer",
    "CARD_FORMAT",
    "CORPUS_TERMS",
    "ClipResult",
    "Decision",
    "MIN_FACES",
    "NOT_SPEAKING",
    "OFF_SCREEN",
    "PEOPLE_COLUMNS",
    "SPEECH_MIN_ACTIVITY",
    "TimelineOptions",
    "TimelineRun",
    "VIDEO_FEATURES",
    "WindowPeople",
    "card_path",
    "decide",
    "default_audio_subsystems",
    "default_video_subsystems",
    "describe_model",
    "format_card",
    "json_value",
    "landmarks_video_subsystems",
    "load_model",
    "load_pretrained",
    "make_audio_pipeline",
    "make_video_pipeline",
    "model_info",
    "multiple_kernel_video_subsystems",
    "predict_people",
    "predict_timeline",
    "read_card",
    "save_model",
    "score_columns",
    "smooth_timeline",
    "stream_timeline",
    "train_card",
    "training_data",
    "video_candidates",
]
