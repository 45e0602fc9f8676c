"""Types of :mod:`emoset.app`: what its ``__init__.py`` loads on first use (lazy_loader)."""

from .cluster import SCHEDULER_ENV, cluster_n_jobs, dask_cluster, scheduler_address
from .overlay import write_overlay
from .report import (
    chance_levels,
    classification_metrics,
    human_accuracy,
    markdown_table,
    plot_confusion_matrix,
    plot_emotion_map,
    plot_timeline,
    risk_coverage,
)
from .timeline_page import EMBED_LIMIT, write_timeline_html

__all__ = [
    "EMBED_LIMIT",
    "SCHEDULER_ENV",
    "chance_levels",
    "classification_metrics",
    "cluster_n_jobs",
    "dask_cluster",
    "human_accuracy",
    "markdown_table",
    "plot_confusion_matrix",
    "plot_emotion_map",
    "plot_timeline",
    "risk_coverage",
    "scheduler_address",
    "write_overlay",
    "write_timeline_html",
]
