"""The audio of a predict call beside its video: when it is, and a forked child's own thread."""

import multiprocessing
import threading

import pytest

from emoset.recognizer import _extraction


class Step:
    """A feature step that notes the thread each extraction ran in."""

    def __init__(self, seen):
        self.seen = seen

    def extract(self, X):
        self.seen.append(threading.current_thread().name)
        return [len(x) for x in X], {"n": len(X)}


@pytest.mark.parametrize("n_clips, beside", [(1, True), (4, True), (5, False)])
def test_audio_runs_beside_the_video_for_a_few_clips_only(n_clips, beside):
    video, audio = [], []
    steps = {"v": ("video", Step(video)), "a": ("audio", Step(audio))}
    X = ["clip"] * n_clips
    done = _extraction.extract_steps(steps, X, beside=True)
    assert done == {"v": ([4] * n_clips, {"n": n_clips}), "a": ([4] * n_clips, {"n": n_clips})}
    assert video == [threading.current_thread().name]
    assert audio[0].startswith("emoset-extract") is beside
    # the caller's veto (n_jobs, allow_partial) keeps everything in this thread
    _extraction.extract_steps(steps, X, beside=False)
    assert audio[-1] == threading.current_thread().name


def _in_child(queue):
    queue.put(_extraction._audio_thread().submit(lambda: "ran").result(timeout=30))


def test_a_forked_child_extracts_audio_in_a_thread_of_its_own():
    """After the parent used its audio thread, a forked child (multiprocessing's default on
    Linux) gets a new one instead of the parent's, which does not exist in the child."""
    assert _extraction._audio_thread().submit(lambda: "parent").result(timeout=30) == "parent"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0 and queue.get(timeout=5) == "ran"
