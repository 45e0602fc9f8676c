"""From scores to decisions: aligned per-class scores, abstention with reasons, late fusion."""

from .abstain import AbstainingClassifier
from .fusion import (
    StackingFusion,
    WeightedScoreFusion,
    normalize_scores,
    out_of_fold_scores,
    stack_scores,
)
from .scoring import aligned_scores, scores_accuracy, scores_in_order, scores_to_labels

__all__ = [
    "AbstainingClassifier",
    "StackingFusion",
    "WeightedScoreFusion",
    "aligned_scores",
    "normalize_scores",
    "out_of_fold_scores",
    "scores_accuracy",
    "scores_in_order",
    "scores_to_labels",
    "stack_scores",
]
