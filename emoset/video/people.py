"""Every face of every frame, tracked and grouped into people.

:class:`PeopleTracker` follows each face of a video with its own
:class:`~emoset.video.faces.FaceTrack` (landmarks inside the last box, checked, re-detected near
the box on a schedule), finds new faces with a full-frame detection every ``discover_every``
frames, ends every track at a shot cut (:class:`ShotCuts`, from the frames themselves) and a
track after ``max_missed`` frames without its face, and gives each track a person: ``P1``,
``P2``, ... in order of first appearance. A new track is the person whose face it shows when
dlib's 128-d face descriptor (:class:`~emoset.video.cnn_features.FaceDescriptor`) is within
``identity_threshold`` of theirs; only people not on screen at that moment are candidates (one
person is never two faces at once), so a person leaving and coming back, or a dialogue cut
between two people, keeps its ids. Descriptors are computed only when that question arises (a
track starting while someone is off screen), on the sharpest faces kept per track (variance of
the Laplacian of the aligned face): a video with one face never computes one.

With a single face the tracker does what :class:`~emoset.video.faces.FaceTrack` does, frame
for frame (the periodic full-frame detection only adds tracks for faces not already held), so a
one-face clip is aligned exactly as before people were tracked.

:func:`track_people` runs it over a clip and returns a :class:`PeopleFaces`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io.errors import MediaError
from ..io.media import iter_frames, load_audio, probe
from ..utils.validation import check_int, check_positive
from ._shapes import _appearance
from .speakers import attribute_speech, mouth_motion, voice_levels
from .tracking import CHIP_SIZE, AlignStats, FaceTrack, _check_frame, _import_dlib

__all__ = [
    "TRACKING_VERSION",
    "PeopleFaces",
    "PeopleTracker",
    "Person",
    "ShotCuts",
    "align_people",
    "small_view",
    "summarise_people",
    "track_people",
]

logger = logging.getLogger(__name__)

#: Side of the thumbnail the shot-cut test compares (pixels).
_THUMB = 32

#: Version of the tracking rules (detection schedule, cuts, when a track ends, identities):
#: part of the cache keys of tracked faces, so a change of rules is never read back as before.
TRACKING_VERSION = 2


def box_iou(a, b):
    """Intersection over union of two ``(left, top, right, bottom)`` boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def small_view(gray):
    """A frame subsampled to about 64x64 pixels (every k-th pixel: no filtering, ~0.01 ms)."""
    sy, sx = max(1, gray.shape[0] // 64), max(1, gray.shape[1] // 64)
    return np.ascontiguousarray(gray[sy // 2 :: sy, sx // 2 :: sx])


class ShotCuts:
    """Shot cuts from the frames themselves: the frame's layout and its tones both jump.

    Two measures of consecutive frames, on a 64x64 subsampled view: the mean absolute
    difference of 32x32 thumbnails normalised to zero mean and unit variance (layout; a change
    of exposure is not a cut), and the total-variation distance of their 32-bin gray-level
    histograms (tones; blind to motion). A cut needs both over their thresholds. Measured on
    the 86 CREMA-D clips here: within a shot the thumbnails move by up to 0.53 (fast head
    motion filling a face crop) and the histograms by at most 0.074 (5,183 frame pairs);
    between two clips' frames by 0.51 and 0.18 or more in 95 % of 224 pairs. With the
    defaults no frame pair within a shot is a cut and 223 of the 224 pairs are.

    Parameters
    ----------
    layout : float, default=0.3
        Thumbnail difference (in standard deviations) a cut exceeds.
    tones : float, default=0.1
        Histogram distance (0 to 1) a cut exceeds.
    """

    def __init__(self, layout=0.3, tones=0.1):
        self.layout = check_positive(layout, "layout", owner="ShotCuts")
        self.tones = check_positive(tones, "tones", owner="ShotCuts")
        self._last = None

    @staticmethod
    def signature(small):
        """``(thumbnail, histogram)`` of a :func:`small_view` of a frame."""
        import cv2

        t = cv2.resize(small, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)
        s = t.std()
        thumb = (t - t.mean()) / s if s > 1e-6 else t - t.mean()
        hist = cv2.calcHist([small], [0], None, [32], [0, 256]).ravel()
        return thumb, hist / max(float(hist.sum()), 1.0)

    def update(self, small):
        """Whether the frame of this :func:`small_view` starts a new shot (never the first)."""
        sig = self.signature(small)
        last, self._last = self._last, sig
        if last is None:
            return False
        layout = float(np.abs(sig[0] - last[0]).mean())
        tones = 0.5 * float(np.abs(sig[1] - last[1]).sum())
        return layout > self.layout and tones > self.tones


@dataclass(eq=False)
class _Track:
    """One face followed from frame to frame (within one shot)."""

    id: int
    face_track: FaceTrack
    first: int
    last: int
    person: int = -1
    last_box: tuple | None = None
    last_ref: tuple | None = None
    missed: int = 0
    n_faces: int = 0
    chips: list = field(default_factory=list)  # [(sharpness, frame, chip)], sharpest first
    descriptor: np.ndarray | None = None
    ended: bool = False


@dataclass
class Person:
    """One person of a video: the tracks of one face identity.

    Attributes
    ----------
    id : str
        ``"P1"``, ``"P2"``, ... in order of first appearance.
    tracks : list of int
        Ids of the tracks grouped into this person.
    first, last : int
        First and last frame index with this person's face.
    n_frames : int
        Frames with this person's face.
    """

    id: str
    tracks: list = field(default_factory=list)
    first: int = -1
    last: int = -1
    n_frames: int = 0


class PeopleTracker:
    """Detect, track, align and identify every face of a video, frame by frame.

    Parameters
    ----------
    aligner : FaceAligner
        Detection, landmark and alignment settings (its ``detect_every``, ``search_margin``
        and tracking checks apply to every track).
    min_face_size : int or None, default=None
        Smallest face (detector box side, pixels) to track. Smaller detections are counted
        (``stats.n_small_faces``), not tracked. Below dlib's native limit of about 80 px the
        frame is upsampled for detection as needed (40 px: once, ~4x the detection time);
        ``None``: whatever the aligner's ``upsample`` finds.
    discover_every : int, default=90
        Run a full-frame detection at least every this many frames to find faces that are not
        tracked yet; also on the first frame, after a cut, while no face is held, and when the
        picture outside the tracked faces changes (more than ``discover_change`` of its pixels
        by more than 20 gray levels since the last full-frame detection), at most every
        ``aligner.detect_every`` frames. A static scene with its people tracked costs no
        full-frame detection in between: with one face at 640x360 a full-frame detection
        (about 17 ms) every 30 frames made tracking 25 % slower than the largest-face path,
        every 90 frames about 8 %; a person walking in is found within a few frames, one who
        was there but not detectable (turned away) within ``discover_every`` frames. A moving
        camera changes the whole picture: it is searched every ``detect_every`` frames.
    discover_change : float, default=0.005
        Share of the pixels outside the tracked faces (on a 64x64 view) that must change.
    max_missed : int, default=5
        Frames a track may go without its face before it ends.
    identity_threshold : float, default=0.5
        Largest distance between two tracks' mean face descriptors for one person. dlib's own
        rule of thumb is 0.6; on the CREMA-D face crops here the same actor's clips are
        within 0.37 of each other and different actors 0.53 apart or more (3 of 66 pairs
        below 0.6), hence 0.5.
    cuts : bool, default=True
        End every track at a shot cut (:class:`ShotCuts`).
    n_chips : int, default=3
        Sharpest faces kept per track for its descriptor (scored every 5th frame).
    source : str or None
        Name of the video, for messages.

    Attributes
    ----------
    stats : AlignStats
        Counts over all tracks, plus ``n_tracks``, ``n_cuts``, ``n_small_faces`` and
        ``n_descriptors`` in ``stats.extra``.
    people : list of Person
        The people so far, in order of first appearance.
    """

    def __init__(
        self,
        aligner,
        *,
        min_face_size=None,
        discover_every=90,
        discover_change=0.005,
        max_missed=5,
        identity_threshold=0.5,
        cuts=True,
        n_chips=3,
        source=None,
    ):
        aligner._check_params()
        self.discover_every = check_int(
            discover_every, "discover_every", min_val=1, owner="PeopleTracker"
        )
        self.max_missed = check_int(max_missed, "max_missed", min_val=0, owner="PeopleTracker")
        self.discover_change = check_positive(
            discover_change, "discover_change", owner="PeopleTracker"
        )
        self.n_chips = check_int(n_chips, "n_chips", min_val=1, owner="PeopleTracker")
        self.identity_threshold = check_positive(
            identity_threshold, "identity_threshold", owner="PeopleTracker"
        )
        self.min_face_size = None
        if min_face_size is not None:
            self.min_face_size = check_int(
                min_face_size, "min_face_size", min_val=1, owner="PeopleTracker"
            )
            need = 0
            while 80 / 2**need > self.min_face_size and need < 3:
                need += 1
            if need > int(aligner.upsample):
                aligner = type(aligner)(**{**aligner.get_params(), "upsample": need})
        self.aligner = aligner
        self.cuts = ShotCuts() if cuts else None
        self.source = source
        self.stats = AlignStats(source=source)
        self.extra = {"n_tracks": 0, "n_cuts": 0, "n_small_faces": 0, "n_descriptors": 0}
        self.people = []
        self._tracks = []  # live tracks, in order of creation
        self._all = {}  # every track by id
        self._n = 0
        self._last_discovery = None
        self._discovery_view = None
        self._descriptor = None

    # ------------------------------------------------------------------ per frame
    def update(self, frame):
        """Every face of the next frame.

        Parameters
        ----------
        frame : ndarray of shape (h, w) or (h, w, 3), uint8

        Returns
        -------
        faces : list of (str, int, TrackedFace)
            ``(person id, track id, face)`` for each face held in this frame, in the order the
            tracks started.
        """
        gray, rgb = _check_frame(frame, self._n, self.source)
        i = self._n
        self._n += 1
        self.stats.n_frames += 1
        small = small_view(gray)
        if self.cuts is not None and self.cuts.update(small) and self._tracks:
            self.extra["n_cuts"] += 1
            for tr in self._tracks:
                tr.ended = True
            self._tracks = []
        frame_dets = _FrameDetections(self, gray)
        found = []
        held = [t for t in self._tracks if t.face_track.box is not None]
        searching = [t for t in self._tracks if t.face_track.box is None]
        for tr in held:  # follow the face, else re-detect near it, else take a detection back
            before = tr.face_track.reference
            face = tr.face_track.step(gray, rgb, lambda tr=tr: frame_dets.best_for(tr, found))
            if face is not None and tr.face_track.reference is not before:
                if not self._same_face(tr, face):
                    continue
            self._record(tr, face, i, found)
        for tr in searching:  # lost on an earlier frame: a detection near where it was
            box = frame_dets.best_for(tr, found)
            face = tr.face_track.start(gray, rgb, box) if box is not None else None
            if face is not None and not self._same_face(tr, face):
                continue
            self._record(tr, face, i, found)
        self._tracks = [t for t in self._tracks if not t.ended]
        held = [t for t in self._tracks if t.face_track.box is not None]
        if not held or self._discovery_due(i, small, gray.shape, found):
            self._last_discovery = i
            self._discovery_view = small
            new = self._discover(gray, rgb, frame_dets, found, i)
            if new:
                self._identify(new, gray)
        self._tracks = [t for t in self._tracks if not t.ended]
        out = []
        for tr, face in found:
            person = self.people[tr.person]
            person.n_frames += 1
            person.last = i
            if person.first < 0:
                person.first = i
            self._keep_chip(tr, face, gray, i)
            out.append((person.id, tr.id, face))
        return out

    def _same_face(self, tr, face):
        """Whether a face a track re-detected is still its own; else the track ends.

        A face found far from where the track last was, or unlike its last face, is someone
        else's (one person leaving as another comes in): it starts a track of its own, whose
        person the face descriptors decide. With one face, the new track starts from the same
        detection: the aligned faces are the same either way.
        """
        unlike = tr.last_ref is not None and (
            float(_appearance(face.face) @ tr.last_ref[4]) < self.aligner.min_appearance_corr
        )
        if unlike or (tr.last_box is not None and not _near(face.box, tr.last_box)):
            tr.ended = True
            return False
        return True

    def _discovery_due(self, i, small, shape, found):
        """Whether to look for new faces on this frame (see ``discover_every``)."""
        if self._last_discovery is None:
            return True
        since = i - self._last_discovery
        if since >= self.discover_every:
            return True
        if since < int(self.aligner.detect_every) or self._discovery_view.shape != small.shape:
            return False
        changed = np.abs(small.astype(np.int16) - self._discovery_view) > 20
        sy, sx = small.shape[0] / shape[0], small.shape[1] / shape[1]
        outside = np.ones_like(changed)
        for _, face in found:  # the tracked faces (and a margin around them) move by themselves
            x0, y0, x1, y1 = face.box
            mx, my = 0.25 * (x1 - x0), 0.25 * (y1 - y0)
            r0, r1 = max(0, int((y0 - my) * sy)), int(np.ceil((y1 + my) * sy))
            c0, c1 = max(0, int((x0 - mx) * sx)), int(np.ceil((x1 + mx) * sx))
            outside[r0:r1, c0:c1] = False
        n = int(outside.sum())
        return n > 0 and float(changed[outside].sum()) / n > self.discover_change

    def _record(self, tr, face, i, found):
        if face is None:
            tr.missed += 1
            if tr.missed > self.max_missed:
                tr.ended = True
            return
        tr.missed = 0
        tr.last = i
        tr.last_box = face.box
        tr.last_ref = tr.face_track.reference
        tr.n_faces += 1
        found.append((tr, face))

    def _discover(self, gray, rgb, frame_dets, found, i):
        """New tracks for the detected faces no track holds."""
        new = []
        for box in frame_dets.all():
            if any(box_iou(box, face.box) > 0.3 for _, face in found):
                continue
            if any(box_iou(box, t.face_track.box) > 0.3 for t in self._tracks if t.face_track.box):
                continue
            if self.min_face_size is not None and min(box[2] - box[0], box[3] - box[1]) < (
                self.min_face_size
            ):
                self.extra["n_small_faces"] += 1
                continue
            tr = _Track(len(self._all), FaceTrack(self.aligner, stats=self.stats), i, i)
            face = tr.face_track.start(gray, rgb, box)
            if face is None:
                continue
            tr.last_box = face.box
            tr.last_ref = tr.face_track.reference
            self._all[tr.id] = tr
            self._tracks.append(tr)
            self.extra["n_tracks"] += 1
            tr.n_faces = 1
            found.append((tr, face))
            new.append((tr, face))
        return new

    # ------------------------------------------------------------------ identities
    def _identify(self, new, gray):
        """A person for each new track: someone off screen whose face it is, else someone new.

        ``new`` holds ``(track, its first face)``.
        """
        faces = dict(new)
        new = [tr for tr, _ in new]
        # people whose face is held now; one whose track lost it may be this new face
        on_screen = {
            t.person for t in self._tracks if t.person >= 0 and t not in new and t.face_track.box
        }
        candidates = [p for p in range(len(self.people)) if p not in on_screen]
        if candidates:
            for tr in new:
                self._keep_chip(tr, faces[tr], gray, tr.first, force=True)
            cost = np.array(
                [[self._distance(tr, p) for p in candidates] for tr in new], dtype=np.float64
            )
            from scipy.optimize import linear_sum_assignment  # (SciPy's optimisers: 0.1 s)

            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] <= self.identity_threshold:
                    new[r].person = candidates[c]
                    self.people[candidates[c]].tracks.append(new[r].id)
                    for old in self._tracks:  # their lost track is over: this is their face
                        if old.person == candidates[c] and old not in new:
                            old.ended = True
        for tr in new:
            if tr.person < 0:
                tr.person = len(self.people)
                self.people.append(Person(f"P{len(self.people) + 1}", [tr.id]))

    def _distance(self, tr, person):
        mine = self._track_descriptor(tr)
        theirs = [self._track_descriptor(self._all[t]) for t in self.people[person].tracks]
        theirs = [d for d in theirs if d is not None]
        if mine is None or not theirs:
            return np.inf
        return float(np.linalg.norm(mine - np.mean(theirs, axis=0)))

    def _track_descriptor(self, tr):
        if tr.descriptor is None and tr.chips:
            if self._descriptor is None:
                # imported here: it imports scikit-learn, which a clip aligned without it
                # (emoset.video.clip_faces) needs only when a track may be someone seen before
                from .cnn_features import FaceDescriptor

                blank = np.zeros((1, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
                self._descriptor = FaceDescriptor().fit(blank)
            chips = np.stack([_chip(patch, points) for _, _, patch, points in tr.chips])
            tr.descriptor = self._descriptor.transform(chips).mean(axis=0)
            self.extra["n_descriptors"] += len(chips)
        return tr.descriptor

    def _keep_chip(self, tr, face, gray, i, *, force=False):
        """Keep the sharpest faces of a track (scored every 5th face) for its descriptor.

        What is kept is the patch of the frame around the face and its landmarks: the chip
        (and the descriptor, ~80 ms) is made only when the track's identity is asked, and made
        again when it is asked after a sharper face was kept (a track asked about on its first
        face is later compared by its sharpest ones).
        """
        import cv2

        if not force and (tr.n_faces - 1) % 5:
            return
        if any(frame == i for _, frame, _, _ in tr.chips):
            return
        box, points = face.box, face.landmarks
        sharp = float(cv2.Laplacian(face.face, cv2.CV_32F).var())
        if len(tr.chips) >= self.n_chips and sharp <= tr.chips[-1][0]:
            return
        h, w = gray.shape
        side = max(box[2] - box[0], box[3] - box[1])
        x0, y0 = max(0, int(box[0] - side)), max(0, int(box[1] - side))
        x1, y1 = min(w, int(box[2] + side) + 1), min(h, int(box[3] + side) + 1)
        patch = np.array(gray[y0:y1, x0:x1])
        tr.chips.append((sharp, i, patch, np.asarray(points) - (x0, y0)))
        tr.chips.sort(key=lambda c: -c[0])
        del tr.chips[self.n_chips :]
        tr.descriptor = None  # made again from the sharpest chips when next asked


def _chip(patch, points):
    """dlib's 150x150 face chip of a face (a gray patch and its landmarks), as RGB."""
    import cv2

    dlib = _import_dlib()
    pts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in points])
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    rect = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
    rgb = cv2.cvtColor(patch, cv2.COLOR_GRAY2RGB)
    return np.asarray(dlib.get_face_chip(rgb, dlib.full_object_detection(rect, pts), CHIP_SIZE))


class _FrameDetections:
    """One frame's full-frame detections, computed once and only if a track or discovery asks."""

    def __init__(self, tracker, gray):
        self.tracker = tracker
        self.gray = gray
        self._boxes = None

    def all(self):
        if self._boxes is None:
            self._boxes = self.tracker.aligner._detect_all(self.gray)
            self.tracker.stats.n_detections += 1
        return self._boxes

    def best_for(self, tr, found):
        """The face a lost track takes back: no other track's, near it unless it is alone."""
        taken = [face.box for other, face in found if other is not tr]
        taken += [
            t.face_track.box for t in self.tracker._tracks if t is not tr and t.face_track.box
        ]
        alone = len(self.tracker._tracks) == 1
        last = tr.face_track.box or tr.last_box
        for box in self.all():  # largest first
            if any(box_iou(box, b) > 0.3 for b in taken):
                continue
            if alone or last is None or _near(box, last):
                return box
        return None


def _near(box, ref):
    """Whether ``box``'s centre is within one face width of ``ref``'s."""
    side = max(ref[2] - ref[0], ref[3] - ref[1])
    dx = (box[0] + box[2]) / 2 - (ref[0] + ref[2]) / 2
    dy = (box[1] + box[3]) / 2 - (ref[1] + ref[3]) / 2
    return (dx * dx + dy * dy) ** 0.5 <= side


@dataclass
class PeopleFaces:
    """Every aligned face of a clip and whose it is (see :func:`track_people`).

    Attributes
    ----------
    faces : ndarray of shape (n_faces, crop_size, crop_size), uint8
        Aligned grayscale faces, in frame order (faces of one frame in track order).
    person : ndarray of shape (n_faces,), int
        Index into ``people`` of each face.
    track : ndarray of shape (n_faces,), int
    frame_indices : ndarray of shape (n_faces,), int
    boxes : ndarray of shape (n_faces, 4)
    landmarks, aligned_landmarks : ndarray of shape (n_faces, n_points, 2)
    chips : ndarray of shape (n_faces, 150, 150, 3) or None
    people : list of Person
    stats : AlignStats
        Over every face; ``n_faces`` counts faces, not frames.
    extra : dict
        ``n_tracks``, ``n_cuts``, ``n_small_faces``, ``n_descriptors``.
    """

    faces: np.ndarray
    person: np.ndarray
    track: np.ndarray
    frame_indices: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray
    aligned_landmarks: np.ndarray
    chips: np.ndarray | None
    people: list
    stats: AlignStats
    extra: dict

    def of(self, k):
        """Boolean mask of person ``k``'s faces."""
        return self.person == k


def track_people(frames, aligner, *, source=None, **params):
    """Every face of every frame of a clip, tracked and grouped into people.

    Parameters
    ----------
    frames : iterable of ndarray
        uint8 grayscale or RGB frames.
    aligner : FaceAligner
    source : str or None
        Name of the clip, for messages.
    **params
        Of :class:`PeopleTracker`.

    Returns
    -------
    result : PeopleFaces
    """
    tracker = PeopleTracker(aligner, source=source, **params)
    size, n_points = int(tracker.aligner.crop_size), int(tracker.aligner.landmarks)
    rows = {k: [] for k in ("face", "person", "track", "frame", "box", "lm", "alm", "chip")}
    for i, frame in enumerate(frames):
        for person, track, face in tracker.update(frame):
            rows["face"].append(face.face)
            rows["person"].append(int(person[1:]) - 1)
            rows["track"].append(track)
            rows["frame"].append(i)
            rows["box"].append(face.box)
            rows["lm"].append(face.landmarks)
            rows["alm"].append(face.aligned_landmarks)
            rows["chip"].append(face.chip)
    stats = tracker.stats
    stats.n_faces = len(rows["face"])
    stats.frame_indices = np.asarray(rows["frame"], dtype=np.int64)
    stats.boxes = np.asarray(rows["box"], dtype=np.float64).reshape(-1, 4)
    stats.landmarks = np.asarray(rows["lm"], dtype=np.float64).reshape(-1, n_points, 2)
    stats.aligned_landmarks = np.asarray(rows["alm"], dtype=np.float64).reshape(-1, n_points, 2)
    chips = None
    if tracker.aligner.chips:
        chips = np.asarray(rows["chip"], dtype=np.uint8).reshape(-1, CHIP_SIZE, CHIP_SIZE, 3)
        stats.chips = chips
    faces = np.asarray(rows["face"], dtype=np.uint8).reshape(-1, size, size)
    return PeopleFaces(
        faces=faces,
        person=np.asarray(rows["person"], dtype=np.int64),
        track=np.asarray(rows["track"], dtype=np.int64),
        frame_indices=stats.frame_indices,
        boxes=stats.boxes,
        landmarks=stats.landmarks,
        aligned_landmarks=stats.aligned_landmarks,
        chips=chips,
        people=list(tracker.people),
        stats=stats,
        extra=dict(tracker.extra),
    )


def align_people(
    path,
    aligner,
    *,
    audio=None,
    fps=None,
    max_frames=None,
    allow_partial=False,
    **params,
):
    """Decode a video, track every face into people, measure their mouths and the voice.

    Parameters
    ----------
    path : str or path-like
        Video file.
    aligner : FaceAligner
    audio : str, path-like or None
        The file whose sound goes with the video (default: the video's own audio track). A
        clip without sound has no speaker.
    fps, max_frames, allow_partial
        Of :func:`emoset.io.media.iter_frames`.
    **params
        Of :class:`PeopleTracker`.

    Returns
    -------
    faces : PeopleFaces
    measures : dict
        ``frame_rate`` (the rate of the frames read), ``motion`` (each face's mouth motion,
        :func:`~emoset.video.speakers.mouth_motion`), ``levels`` (the voice level at every
        frame, :func:`~emoset.video.speakers.voice_levels`; empty without sound): what
        :func:`summarise_people` turns into who speaks.
    """
    color = "rgb" if aligner.chips else "gray"
    frames = iter_frames(
        path, color=color, fps=fps, max_frames=max_frames, allow_partial=allow_partial
    )
    result = track_people(frames, aligner, source=Path(path).name, **params)
    native = probe(path).fps or 25.0
    rate = float(min(fps, native)) if fps else float(native)
    times = np.arange(result.stats.n_frames) / rate
    levels = np.zeros(0)
    if len(times):  # speech with nobody on screen is still speech (a voice off screen)
        signal = _sound(audio if audio is not None else path)
        if signal is not None:
            levels = voice_levels(signal, 16000, times, 1.0 / rate)
    measures = {
        "frame_rate": rate,
        "motion": mouth_motion(result.faces, result.person, result.frame_indices),
        "levels": levels,
    }
    return result, measures


def summarise_people(person, frame_indices, boxes, motion, levels, frame_rate, n_frames):
    """Who the people of a clip are, how long each speaks, and who is the main one.

    Parameters
    ----------
    person, frame_indices : ndarray of shape (n_faces,)
        Whose each face is (an index) and its frame.
    boxes : ndarray of shape (n_faces, 4)
    motion : ndarray of shape (n_faces,)
        Mouth motion of each face.
    levels : ndarray of shape (n_frames,) or (0,)
        The voice level at every frame; empty: no sound.
    frame_rate : float
    n_frames : int

    Returns
    -------
    summary : dict
        ``people`` (a dict per person: ``person``, ``start``, ``end`` (seconds), ``n_frames``,
        ``on_screen`` (seconds), ``speaking`` (seconds of speech given to them), ``box``
        (median ``[x0, y0, x1, y1]`` in source pixels)), ``main`` (index of the main person: the most speaking time, else
        the most frames; -1 without a face), ``speech`` (seconds of speech),
        ``off_screen`` (seconds of speech no visible mouth follows) and ``turns`` (``[start,
        end, whose]``: the stretches of the clip whose voice is a person's (their index) or
        off screen (-1), each a run of whole windows).
    """
    n_people = int(person.max()) + 1 if len(person) else 0
    owner = np.full(n_frames, -2, dtype=np.int64)
    voiced = np.zeros(n_frames, bool)
    if len(levels):  # speech with nobody on screen is a voice off screen too
        times = np.arange(n_frames) / frame_rate
        _, owner, voiced = attribute_speech(
            times, levels, person, frame_indices, motion, n_people=n_people
        )
    speaking = np.array([np.sum(voiced & (owner == k)) / frame_rate for k in range(n_people)])
    off_screen = float(np.sum(voiced & (owner == -1)) / frame_rate)
    turns = []  # runs of frames with one owner: [start s, end s, owner]
    for k in range(n_frames):
        if owner[k] == -2:
            continue
        if turns and turns[-1][2] == owner[k] and turns[-1][1] == round(k / frame_rate, 4):
            turns[-1][1] = round((k + 1) / frame_rate, 4)
        else:
            turns.append([round(k / frame_rate, 4), round((k + 1) / frame_rate, 4), int(owner[k])])
    people = []
    for k in range(n_people):
        mine = person == k
        frames_k = frame_indices[mine]
        people.append(
            {
                "person": f"P{k + 1}",
                "start": round(float(frames_k.min() / frame_rate), 4),
                "end": round(float((frames_k.max() + 1) / frame_rate), 4),
                "n_frames": int(mine.sum()),
                "on_screen": round(float(mine.sum() / frame_rate), 4),
                "speaking": round(float(speaking[k]), 4),
                "box": [round(float(v), 1) for v in np.median(boxes[mine], axis=0)],
            }
        )
    main = -1
    if people:
        counts = np.array([p["n_frames"] for p in people])
        main = int(np.argmax(counts))
        if speaking.max() > 0:
            best = np.flatnonzero(speaking == speaking.max())
            main = int(best[np.argmax(counts[best])])
    return {
        "people": people,
        "main": main,
        "speech": round(float(speaking.sum() + off_screen), 4),
        "off_screen": round(off_screen, 4),
        "turns": turns,
    }


def _sound(path):
    """The 16 kHz sound of a file, or ``None`` when it has none (or it cannot be read)."""
    try:  # a truncated track: what decoded is enough here, without a warning
        return load_audio(path, sr=16000, allow_partial=True, warn=False)
    except MediaError:
        return None
