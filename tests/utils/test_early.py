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


def _fail():
    raise RuntimeError("the child fails after A")


def _made(marker, value):
    open(marker, "w").close()
    return value


def _work(path, *, flag=None, fail=False, marker=None):
    """Parts ``a`` and ``b`` (``b`` once ``flag`` exists), then ``c`` (which writes
    ``marker`` when it is made)."""
    plan = [("a", path), ("b", path), ("c", path)]
    b = (lambda: _wait_for(flag) or "B") if flag is not None else (lambda: "B")
    c = (lambda: _made(marker, "C")) if marker is not None else (lambda: "C")
    return plan, [lambda: "A", _fail if fail else b, c]


def _until(condition):
    """Wait (at most 5 minutes, on a loaded machine) until ``condition`` holds of what the
    command has received from the child."""
    child = early._early_clip.child
    with child.changed:
        return child.changed.wait_for(lambda: condition(child), timeout=300)


def _started(index):
    return _until(lambda child: index in child.started)


def _received(index):
    return _until(lambda child: index in child.values)


def _over():
    """The command has received everything the child sent (the end of its pipe)."""
    return _until(lambda child: child.over)


def test_a_part_that_has_come_is_taken_while_another_thread_waits(path, tmp_path):
    """A thread waiting for a part not yet made does not keep another from a part that has
    come, or from learning that a part is not made."""
    flag = str(tmp_path / "go")
    early.start_early_clip(path, lambda p: _work(p, flag=flag))
    got, p = {}, str(path)
    waiter = threading.Thread(target=lambda: got.update(b=early.take_early_clip(path, ("b", p))))
    assert _received(0) and _started(1)  # b is being made: waited for
    waiter.start()
    assert early.take_early_clip(path, ("a", p)) == "A"
    assert early.take_early_clip(path, ("z", p)) is None  # not in the plan: at once
    assert waiter.is_alive()  # still waiting for b
    open(flag, "w").close()
    waiter.join(300)
    assert got == {"b": "B"}
    assert early.take_early_clip(path, ("a", p)) is None  # taken already
    assert _received(2)
    assert early.take_early_clip(path, ("c", p)) == "C"
    assert early._early_clip is None  # everything taken: ended


def test_a_part_not_started_is_left_to_the_caller(path, tmp_path):
    """Asked for a part the child has not started (it is still making an earlier one), the
    caller gets None at once and makes it itself; the child then does not make it."""
    flag, marker = str(tmp_path / "go"), str(tmp_path / "c-made")
    early.start_early_clip(path, lambda p: _work(p, flag=flag, marker=marker))
    child, p = early._early_clip.child.process, str(path)
    assert _received(0) and _started(1)
    assert early.take_early_clip(path, ("a", p)) == "A"
    assert early.take_early_clip(path, ("c", p)) is None  # b is being made: c not started
    open(flag, "w").close()
    assert early.take_early_clip(path, ("b", p)) == "B"
    child.join(60)
    assert not child.is_alive() and not os.path.exists(marker)
    assert early.take_early_clip(path, ("c", p)) is None


def test_a_stopped_child_leaves_what_it_sent(path, tmp_path):
    """A needed part the child does not make, of a kind it makes, stops it; what it sent
    before stays to be taken, and what it did not send is not waited for."""
    flag = str(tmp_path / "never")
    early.start_early_clip(path, lambda p: _work(p, flag=flag))
    child = early._early_clip.child.process
    p = str(path)
    assert _received(0)
    assert early.take_early_clip(path, ("faces", p), needed=True) is None  # another kind
    assert child.is_alive()
    assert early.take_early_clip(path, ("b", "another file"), needed=True) is None
    child.join(60)
    assert not child.is_alive() and _over()
    assert early.take_early_clip(path, ("a", p)) == "A"
    assert early.take_early_clip(path, ("b", p)) is None  # never made: no wait
    assert early._early_clip is None


def test_ending_the_child_removes_its_folder(path, tmp_path):
    """The child keeps its temporary files in a folder of its own, which ending it removes
    (however it ended: here stopped while it makes ``b``)."""
    early.start_early_clip(path, lambda p: _work(p, flag=str(tmp_path / "never")))
    child, scratch = early._early_clip.child.process, early._early_clip.scratch
    assert os.path.isdir(scratch) and _started(1)
    early.end_early_clip()
    assert early._early_clip is None and not child.is_alive()
    assert not os.path.exists(scratch)


def test_a_child_that_fails_leaves_what_it_sent(path):
    early.start_early_clip(path, lambda p: _work(p, fail=True))
    p = str(path)
    assert _received(0)
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


def test_only_the_main_thread_starts_a_child(path):
    """A child ends with the thread that forked it: another thread may not start one."""
    raised = []

    def start():
        try:
            early.start_early_clip(path, _work)
        except RuntimeError as exc:
            raised.append(str(exc))

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(60)
    assert raised and "main thread" in raised[0] and early._early_clip is None
