"""The timeline report page: written by ``emoset timeline ... --html``, opened in a real browser.

The page is made the way a user makes it: ``emoset timeline long.mp4 --html r.html`` with the
bundled model, on the six full-frame CREMA-D clips of actor 1001 joined into one video. Then it
is opened in headless Chromium (Debian's package; ``make test`` installs it, see ``make
browser``), driven over the DevTools protocol (``tests/_browser.py``): the lanes and every
window in the DOM against the CSV of the same run, the video loaded, the cursor moved by
setting the video's time, by playback and by a click, a window's scores shown on hover,
nothing fetched from the network, no script error. One browser serves every page of this file;
its screenshot is saved (``EMOSET_SCREENSHOTS=docs/images`` puts it where the docs show it:
``make screenshots``). Without a browser the browser test is skipped and says why.
"""

import json
import os
import re
import shutil
import time

import _browser
import numpy as np
import pandas as pd
import pytest
from _avfiles import clip_frames_and_audio, write_av

from emoset.app.cli import main
from emoset.app.timeline_page import write_timeline_html

CLASSES = ["anger", "disgust", "fear", "happy", "neutral", "sad"]


#: A reason as the speech subsystem gives it, different in every window (its number).
FAR = (
    "audio-svm: far from the training data (nearest training input {:.2f}x farther than the "
    "threshold fitted on training data)"
)


def synthetic_timeline(n, *, hop=0.5, window=2.0, people=None, seed=0):
    """``n`` windows (per person) with random scores; every 7th window has no label, every
    other labelled one the speech subsystem's abstention with a number of its own."""
    rng = np.random.default_rng(seed)
    rows = []
    for who in people or [None]:
        for i in range(n):
            scores = rng.dirichlet(np.ones(len(CLASSES)))
            row = {"start": i * hop, "end": i * hop + window}
            if people:
                row["person"] = who
            if i % 7 == 3:
                row |= {"label": None, "reason": "cnn-pls: 1 aligned face (needs 2)"}
                row |= dict.fromkeys(CLASSES, np.nan)
            else:
                far = FAR.format(rng.uniform(1, 20)) if i % 2 else ""
                row |= {"label": CLASSES[int(np.argmax(scores))], "reason": far}
                row |= dict(zip(CLASSES, scores, strict=True))
            row |= {"n_faces": 10, "speech": True, "subsystems": "cnn-pls, audio-svm"}
            rows.append(row)
    return pd.DataFrame(rows)


def _data(page):
    """The JSON data block of a written page."""
    text = page.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="emoset-data">(.*?)</script>', text, re.S)
    return json.loads(blob.group(1))


def _reasons(data, lane):
    """A lane's reasons as the page shows them: the numbers put back into their templates."""
    out = []
    for index, numbers in zip(lane["reason"], lane["numbers"], strict=True):
        if index < 0:
            out.append("")
            continue
        text = data["texts"][index]
        if numbers:  # as the page's fill()
            parts = text.split("\x01")
            pairs = zip(numbers.split(" "), parts[1:], strict=True)
            text = parts[0] + "".join(value + part for value, part in pairs)
        out.append(text)
    return out


def test_an_hour_of_windows_is_a_small_page(tmp_path):
    page = write_timeline_html(synthetic_timeline(7200), tmp_path / "hour.html")
    size = page.stat().st_size
    assert size < 1_000_000, size  # one lane, 2-s windows every 0.5 s for an hour
    data = _data(page)
    (lane,) = data["lanes"]
    assert len(lane["label"]) == 7200 and data["duration"] == pytest.approx(3601.5)
    assert sum(lane["start"]) == 359950  # starts as differences, in centiseconds
    assert data["media"] is None and data["classes"] == CLASSES
    hour = synthetic_timeline(7200)
    assert _reasons(data, lane) == [str(r) for r in hour["reason"]]
    assert hour["reason"].nunique() > 1000 and len(data["texts"]) == 3  # 2 templates, subsystems
    two = write_timeline_html(synthetic_timeline(7200, people=["P1", "P2"]), tmp_path / "p.html")
    assert two.stat().st_size < 1_000_000  # two people still under 1 MB


def test_the_page_fetches_nothing_and_escapes_what_it_shows(tmp_path):
    frame = synthetic_timeline(10)
    frame.loc[3, "reason"] = "</script><script>alert(1)</script>"
    page = write_timeline_html(frame, tmp_path / "r.html", title="<b>t</b>")
    text = page.read_text()
    assert "</script><script>alert(1)" not in text and "\\u003c/script>" in text
    data = _data(page)
    assert _reasons(data, data["lanes"][0])[3] == "</script><script>alert(1)</script>"
    frame.loc[4, "reason"] = "a \x01 in 2 texts"  # the slot itself: kept whole
    data = _data(write_timeline_html(frame, tmp_path / "r.html"))
    assert _reasons(data, data["lanes"][0])[4] == "a \x01 in 2 texts"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # no remote resource
    assert "default-src 'none'" in text  # the browser itself blocks any other fetch
    with pytest.raises(ValueError, match="embed must be 'auto', True or False"):
        write_timeline_html(frame, tmp_path / "x.html", embed="yes")
    with pytest.raises(ValueError, match="timeline has no 'reason' column"):
        write_timeline_html(frame.drop(columns="reason"), tmp_path / "x.html")


# ---------------------------------------------------------------------------------- the real run
@pytest.fixture(scope="module")
def long_video(data_root, tmp_path_factory):
    """The six full-frame clips of actor 1001 one after the other (about 12.9 s)."""
    paths = sorted((data_root / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4"))
    if len(paths) != 6:
        pytest.skip(f"the six full-frame CREMA-D clips are not in {data_root}")
    path = tmp_path_factory.mktemp("report") / "long.mp4"
    bounds = write_av(path, [clip_frames_and_audio(p) for p in paths])
    return path, bounds[-1][1]


@pytest.fixture(scope="module")
def report(long_video, feature_cache):
    """``emoset timeline long.mp4 --html r.html --csv t.csv`` with the bundled model."""
    video, _ = long_video
    page, csv = video.parent / "r.html", video.parent / "t.csv"
    argv = ["timeline", str(video), "--html", str(page), "--csv", str(csv)]
    assert main([*argv, "--cache-dir", str(feature_cache)]) == 0
    return page, pd.read_csv(csv, keep_default_na=False, na_values={c: [""] for c in CLASSES})


def test_html_never_replaces_the_source(long_video, capsys):
    video, _ = long_video
    assert main(["timeline", str(video), "--html", str(video)]) == 2
    assert "--html" in capsys.readouterr().err and video.stat().st_size > 0


def test_the_report_of_a_real_run(report, long_video):
    page, frame = report
    data = _data(page)
    (lane,) = data["lanes"]
    assert len(lane["label"]) == len(frame) and data["classes"] == CLASSES
    # the 13-s video is small: embedded, so the page can be sent on its own
    assert data["media"]["embedded"] and data["media"]["src"].startswith("data:video/mp4;base64,")
    assert data["media"]["kind"] == "video" and data["media"]["name"] == "long.mp4"
    labels = [CLASSES[k] if k >= 0 else "" for k in lane["label"]]
    assert labels == [str(v) for v in frame["label"]]
    scores = np.array(lane["scores"]).T / 100
    np.testing.assert_allclose(scores, frame[CLASSES].to_numpy(), atol=0.005)
    assert _reasons(data, lane) == [str(r) for r in frame["reason"]]


def test_a_people_run_has_a_lane_per_person(data_root, feature_cache, tmp_path):
    """``emoset timeline --people --html``: two CREMA-D actors side by side, one lane each,
    each with that person's windows as in the CSV of the same run."""
    from _people import load_clip, side_by_side

    from emoset.datasets import load_cremad

    clips = {c.id: c for c in load_cremad(data_root, subsets=["facecrop128"])}
    pair = ("1005_IEO_ANG_HI", "1016_MTI_FEA_XX")
    if not set(pair) <= set(clips):
        pytest.skip(f"the face-crop clips {', '.join(pair)} are not in {data_root}")
    video = side_by_side(*(load_clip(clips[c]) for c in pair)).write(tmp_path / "two.mp4")
    page, csv = tmp_path / "people.html", tmp_path / "people.csv"
    argv = ["timeline", str(video), "--people", "--window", "1", "--hop", "0.5"]
    argv += ["--html", str(page), "--csv", str(csv), "--cache-dir", str(feature_cache)]
    assert main(argv) == 0
    frame = pd.read_csv(csv, keep_default_na=False, na_values={c: [""] for c in CLASSES})
    people = list(dict.fromkeys(frame["person"].astype(str)))
    assert {"P1", "P2"} <= set(people)
    data = _data(page)
    assert [lane["name"] for lane in data["lanes"]] == people
    assert "lanes (people)" in data["meta"] and data["media"]["embedded"]
    for lane in data["lanes"]:
        rows = frame[frame["person"].astype(str) == lane["name"]]
        assert lane["title"] == (lane["name"] or "voice off screen")
        labels = [CLASSES[k] if k >= 0 else "" for k in lane["label"]]
        assert labels == [str(v) for v in rows["label"]]


def test_two_outputs_in_one_file_are_refused(long_video, tmp_path, capsys):
    video, _ = long_video
    same = str(tmp_path / "out")
    assert main(["timeline", str(video), "--overlay", same, "--html", same]) == 2
    assert "--overlay and --html are the same file" in capsys.readouterr().err
    assert not os.path.exists(same)  # refused before any work


# ------------------------------------------------------------------------------- in the browser
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable, why = _browser.find_chromium()
    if executable is None:
        pytest.skip(why)
    chromium = _browser.Chromium(executable, tmp_path_factory.mktemp("chromium"))
    try:
        chromium.open_page()
        yield chromium
    finally:
        chromium.close()


def _open(b, page):
    b.events()  # forget what earlier pages did
    b.send("Page.navigate", {"url": page.resolve().as_uri()})
    b.evaluate(
        "new Promise((ok, fail) => { const t0 = Date.now(); (function wait() {"
        " if (document.body && document.body.dataset.ready === '1') ok(true);"
        " else if (Date.now() - t0 > 30000) fail(new Error('page not ready'));"
        " else setTimeout(wait, 50); })(); })"
    )


_LAYOUT = """(() => {
  const lanes = document.getElementById('lanes').getBoundingClientRect();
  const plot = document.querySelector('.lane svg').getBoundingClientRect();
  const data = JSON.parse(document.getElementById('emoset-data').textContent);
  return {offset: plot.left - lanes.left - document.getElementById('lanes').clientLeft,
          left: plot.left, top: plot.top, width: plot.width, height: plot.height,
          duration: data.duration};
})()"""

_RUNS = """Array.from(document.querySelectorAll('.lane')).map(lane => ({
  person: lane.dataset.person, title: lane.querySelector('.lane-name').firstChild.textContent,
  windows: +lane.dataset.windows, curves: lane.querySelectorAll('path.curve').length,
  runs: Array.from(lane.querySelectorAll('rect.run')).map(r => [+r.dataset.first,
        +r.dataset.last, r.dataset.label, r.classList.contains('abstained')])}))"""

_SEEK = """(t => new Promise(ok => { const v = document.getElementById('player');
  v.addEventListener('seeked', () => requestAnimationFrame(() => requestAnimationFrame(() => {
    const c = document.getElementById('cursor');
    ok({time: v.currentTime, cursor: +c.dataset.time, left: parseFloat(c.style.left)}); })),
    {once: true});
  v.currentTime = t; }))"""

_LOADED = """new Promise(ok => { const v = document.getElementById('player');
  const done = () => ok({ready: v.readyState, duration: v.duration, src: v.getAttribute('src')});
  if (v.readyState >= 1) done(); else { v.addEventListener('loadedmetadata', done);
    v.addEventListener('error', () => ok({error: v.error && v.error.code})); } })"""


def _labels(lane):
    """The label of every window, from the band's runs (abstained: "")."""
    out = []
    for first, last, label, abstained in lane["runs"]:
        assert first == len(out) and (label == "") == abstained
        out += [label] * (last - first + 1)
    return out


def _check_real_page(b, page, frame, duration):
    _open(b, page)
    (lane,) = b.evaluate(_RUNS)
    assert lane["windows"] == len(frame) and lane["curves"] == len(CLASSES)
    assert _labels(lane) == [str(v) for v in frame["label"]]
    media = b.evaluate(_LOADED)
    assert media.get("ready", 0) >= 1, media  # Chromium decoded the embedded H.264 video
    assert media["duration"] == pytest.approx(duration, abs=0.1)
    box = b.evaluate(_LAYOUT)  # the timeline spans the windows: 0 to the last one's end
    assert box["duration"] == pytest.approx(frame["end"].max())
    at = []
    for t in (4.0, 9.0):  # the video's time set: the cursor follows
        state = b.evaluate(f"{_SEEK}({t})")
        assert state["time"] == pytest.approx(t, abs=0.05) and state["cursor"] == pytest.approx(
            state["time"], abs=1e-3
        )
        expected = box["offset"] + state["time"] / box["duration"] * box["width"]
        assert state["left"] == pytest.approx(expected, abs=1.0)
        at.append(state["left"])
    assert at[1] - at[0] == pytest.approx(5.0 / box["duration"] * box["width"], abs=2.0)
    return box


def _check_playback(b):
    """Play (muted) until the video's clock moves; the cursor moves with it."""
    moved = b.evaluate(
        """new Promise((ok, fail) => { const v = document.getElementById('player');
        const start = v.currentTime; v.muted = true;
        v.play().then(() => { const t0 = Date.now(); (function wait() {
          if (v.currentTime > start + 0.3) { v.pause(); requestAnimationFrame(() =>
            ok({start: start, time: v.currentTime,
                cursor: +document.getElementById('cursor').dataset.time})); }
          else if (Date.now() - t0 > 20000) fail(new Error('the video does not play'));
          else requestAnimationFrame(wait); })(); }, fail); })"""
    )
    assert moved["cursor"] > moved["start"] + 0.2
    assert moved["cursor"] == pytest.approx(moved["time"], abs=0.1)


def _check_click_and_hover(b, box, frame):
    duration, y = box["duration"], box["top"] + box["height"] / 3
    b.click(box["left"] + 2.0 / duration * box["width"], y)  # click at 2 s: the video seeks
    state = b.evaluate(
        """new Promise(ok => { const v = document.getElementById('player');
        const read = () => requestAnimationFrame(() => ok({time: v.currentTime,
          cursor: +document.getElementById('cursor').dataset.time}));
        if (v.seeking) v.addEventListener('seeked', read, {once: true}); else read(); })"""
    )
    px = duration / box["width"]  # seconds per pixel
    assert state["time"] == pytest.approx(2.0, abs=2 * px)
    assert state["cursor"] == pytest.approx(state["time"], abs=1e-3)
    t = 6.2
    b.mouse("mouseMoved", box["left"] + t / duration * box["width"], y)
    tip = b.evaluate(
        "(() => { const t = document.getElementById('tip');"
        " return {hidden: t.hidden, window: +t.dataset.window, text: t.innerText}; })()"
    )
    mid = (frame["start"] + frame["end"]) / 2
    i = int(np.argmin(np.abs(mid.to_numpy() - t)))
    assert not tip["hidden"] and tip["window"] == i
    row = frame.iloc[i]
    assert f"{row['start']:.2f}-{row['end']:.2f} s" in tip["text"]
    if row["label"]:
        assert f"label: {row['label']} ({row[row['label']]:.2f})" in tip["text"]
    else:
        assert "no label" in tip["text"]
    assert row["reason"] in tip["text"]  # its numbers put back into its words
    for c in CLASSES:
        assert c in tip["text"]


_COVERS = """(t => Array.from(document.querySelectorAll('.lane')).map(lane =>
  Array.from(lane.querySelectorAll('rect.run')).some(r =>
    +r.getAttribute('x') <= t && t <= +r.getAttribute('x') + +r.getAttribute('width'))))"""

_CURVES = """Array.from(document.querySelectorAll('.lane')).map(lane =>
  Array.from(lane.querySelectorAll('path.curve')).map(p => p.getAttribute('d')))"""


def _check_people_page(b, page):
    """P2 is away for windows 10-19 (5-10 s): nothing of P2's lane is drawn over 5.75-10.75 s."""
    _open(b, page)
    lanes = b.evaluate(_RUNS)
    assert [lane["title"] for lane in lanes] == ["P1", "P2", "voice off screen"]
    assert [lane["person"] for lane in lanes] == ["P1", "P2", ""]
    for lane in lanes:
        seen = [i for i in range(40) if lane["person"] != "P2" or not 10 <= i < 20]
        labels = _labels(lane)
        assert len(labels) == lane["windows"] == len(seen)
        assert [seen[k] for k, v in enumerate(labels) if v == ""] == [
            i for i in range(3, 40, 7) if i in seen
        ]
    assert b.evaluate(_COVERS + "(8.0)") == [True, False, True]
    for lane, curves in zip(lanes, b.evaluate(_CURVES), strict=True):
        for d in curves:  # no line from one window to the next across the gap
            steps = re.findall(r"([ML])([-\d.]+) [-\d.]+", d)
            xs = [(m, float(x)) for m, x in steps]
            jumps = [x1 - x0 for (_, x0), (m, x1) in zip(xs, xs[1:], strict=False) if m == "L"]
            assert max(jumps) <= 0.5 * 1.5, (lane["person"], d)
    media = b.evaluate(_LOADED)
    assert media["src"] == "../long.mp4" and media.get("ready", 0) >= 1, media  # linked
    b.evaluate(f"{_SEEK}(6.2)")  # P2 away (their last window, 4.5-6.5 s, drawn to 5.75 s)
    now = b.evaluate("document.getElementById('now-lanes').textContent")
    assert "P2: (no window)" in now and "P1: (no window)" not in now, now


def _network_and_errors(b):
    events = b.events()
    urls = [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls
    errors = [e["params"] for e in events if e["method"] == "Runtime.exceptionThrown"]
    assert not errors, errors


def test_the_page_in_chromium(browser, report, long_video, tmp_path):
    """Lanes, windows, the video, a cursor that follows it, click to seek, hover to read."""
    page, frame = report
    video, duration = long_video
    b = browser
    box = _check_real_page(b, page, frame, duration)
    _network_and_errors(b)
    _check_playback(b)
    _check_click_and_hover(b, box, frame)
    shot = b.screenshot()
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 20_000
    (tmp_path / "timeline_report.png").write_bytes(shot)
    if os.environ.get("EMOSET_SCREENSHOTS"):  # make screenshots: the docs' picture
        shutil.copyfile(tmp_path / "timeline_report.png",
                        os.path.join(os.environ["EMOSET_SCREENSHOTS"], "timeline_report.png"))  # fmt: skip
    # a lane per person, abstained windows, the video linked from a page in another folder
    people = synthetic_timeline(40, people=["P1", "P2", None])
    people = people[(people["person"] != "P2") | ~people["start"].between(5.0, 9.6)]
    other = video.parent / "people" / "r.html"
    other.parent.mkdir(exist_ok=True)
    write_timeline_html(people, other, source=video, embed=False)
    _check_people_page(b, other)
    # an hour of windows: drawn, every window in the band, and the view zooms to a minute
    started = time.perf_counter()
    _open(b, write_timeline_html(synthetic_timeline(7200), tmp_path / "hour.html"))
    (lane,) = b.evaluate(_RUNS)
    assert len(_labels(lane)) == 7200
    b.evaluate("document.querySelector('#zoom button[data-span=\"60\"]').click()")
    view = b.evaluate("document.querySelector('.lane svg').getAttribute('viewBox')")
    assert [float(v) for v in view.split()][2] == 60
    _network_and_errors(b)
    print(f"hour page opened and checked in {time.perf_counter() - started:.1f} s")
