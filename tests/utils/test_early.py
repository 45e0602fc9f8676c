"""Work done ahead in a forked child (:mod:`emoset.utils.early`): what is taken, when, and
what is left when the child is stopped, fails or is ended. Small synthetic work; the real
work (a clip's faces, features and speech) is tested in tests/video/test_early_clip.py and
tests/app/test_predict_ahead.py."""

import os
import sys
import threading

import pytest

from emoset.utils import early

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the early process is forked: Linux only"
)


@pytest.fixture(autouse=True)
def _no_child_left():
    yield
    early.end_early_clip()


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "clip.bin"
    p.write_bytes(b"a clip")
    return p


def _wait_for(flag):
    while not os.path.exists(flag):  # the test creates it when the part may come
        threading.Event().wait(0.01)


def _work(path, *, flag=None, fail=False):
    """Parts ``a`` and ``b`` (``b`` once ``flag`` exists), then ``c``."""
    yield [("a", path), ("b", path), ("c", path)]
    yield "A"
    if flag is not None:
        _wait_for(flag)
    if fail:
        raise RuntimeError("the child fails after A")
    yield "B"
    yield "C"


def _received(index):
    for _ in range(30000):  # at most 5 minutes on a loaded machine
        if index in early._early_clip.values:
            return True
        threading.Event().wait(0.01)
    return False


def test_a_part_that_has_come_is_taken_while_another_thread_waits(path, tmp_path):
    """A thread waiting for a part not yet made does not keep another from a part that has
    come, or from learning that a part is not made."""
    flag = str(tmp_path / "go")
    early.start_early_clip(path, lambda p: _work(p, flag=flag))
    got, p = {}, str(path)
    waiter = threading.Thread(target=lambda: got.update(b=early.take_early_clip(path, ("b", p))))
    waiter.start()
    assert early.take_early_clip(path, ("a", p)) == "A"
    assert early.take_early_clip(path, ("z", p)) is None  # not in the plan: at once
    assert waiter.is_alive()  # still waiting for b
    open(flag, "w").close()
    waiter.join(300)
    assert got == {"b": "B"}
    assert early.take_early_clip(path, ("a", p)) is None  # taken already
    assert early.take_early_clip(path, ("c", p)) == "C"
    assert early._early_clip is None  # everything taken: ended


def test_a_stopped_child_leaves_what_it_sent(path, tmp_path):
    """A part the caller needs that the child does not make stops it; what it sent before
    stays to be taken, and what it did not send is not waited for."""
    flag = str(tmp_path / "never")
    early.start_early_clip(path, lambda p: _work(p, flag=flag))
    child = early._early_clip.process
    p = str(path)
    assert _received(0)
    assert early.take_early_clip(path, ("faces", p), needed=True) is None
    child.join(60)
    assert not child.is_alive()
    assert early.take_early_clip(path, ("a", p)) == "A"
    assert early.take_early_clip(path, ("b", p)) is None  # never made: no wait
    assert early._early_clip is None


def test_a_child_that_fails_leaves_what_it_sent(path):
    early.start_early_clip(path, lambda p: _work(p, fail=True))
    p = str(path)
    assert early.take_early_clip(path, ("b", p)) is None  # the child failed before it
    assert early.take_early_clip(path, ("a", p)) == "A"
    assert early.take_early_clip(path, ("c", p)) is None


def test_another_file_or_process_takes_nothing(path, tmp_path):
    early.start_early_clip(path, _work)
    other = tmp_path / "other.bin"
    other.write_bytes(b"another clip")
    assert not early.early_clip_waiting(other)
    assert early.take_early_clip(other, ("a", str(path))) is None
    assert early.early_clip_waiting(path)
    early.end_early_clip()
    assert not early.early_clip_waiting(path)
    assert early.take_early_clip(path, ("a", str(path))) is None


def test_a_file_changed_in_place_has_another_state(path):
    """Copied over with its size and times kept (``cp -p``): the change time tells."""
    before = early.file_state(path)
    st = os.stat(path)
    path.write_bytes(b"b clip")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert early.file_state(path) != before
    assert early.file_state(path.parent / "missing") is None
