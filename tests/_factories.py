"""Small synthetic inputs for tests: image sets and media files (shared by the test modules)."""

from pathlib import Path

import numpy as np


def generate_sets(
    n_sets=30,
    n_features=6,
    *,
    n_classes=3,
    min_frames=4,
    max_frames=16,
    latent_dim=2,
    noise=0.3,
    separation=1.0,
    class_seed=0,
    random_state=0,
):
    """Ragged class-separable image sets and labels.

    Each class ``c`` has its own mean, a ``latent_dim``-dimensional subspace and spread
    (drawn from ``class_seed``, so train and test sets made with different ``random_state``
    share the classes).  A set of class ``c`` has a random number of frames in
    ``[min_frames, max_frames]`` drawn around its class's structure.

    Returns
    -------
    sets : list of ndarray of shape (n_frames_i, n_features)
    y : ndarray of shape (n_sets,)
    """
    crng = np.random.default_rng(class_seed)
    means = separation * crng.normal(size=(n_classes, n_features))
    bases = [np.linalg.qr(crng.normal(size=(n_features, latent_dim)))[0] for _ in range(n_classes)]
    spreads = 1.0 + 2.0 * separation * crng.random((n_classes, latent_dim))
    rng = np.random.default_rng(random_state)
    y = np.arange(n_sets) % n_classes
    rng.shuffle(y)
    sets = []
    for c in y:
        m = int(rng.integers(min_frames, max_frames + 1))
        Z = rng.normal(size=(m, latent_dim)) * spreads[c]
        sets.append(Z @ bases[c].T + means[c] + noise * rng.normal(size=(m, n_features)))
    return sets, y


def random_spd(n_matrices, size, *, random_state=0, cond=10.0):
    """Stack of random SPD matrices with eigenvalues in ``[1, cond]``."""
    rng = np.random.default_rng(random_state)
    Q = np.linalg.qr(rng.normal(size=(n_matrices, size, size)))[0]
    lam = np.exp(rng.uniform(0.0, np.log(cond), size=(n_matrices, size)))
    return (Q * lam[:, None, :]) @ np.swapaxes(Q, 1, 2)


def random_bases(n_matrices, d, r, *, random_state=0):
    """Stack of random orthonormal ``(d, r)`` bases."""
    rng = np.random.default_rng(random_state)
    return np.linalg.qr(rng.normal(size=(n_matrices, d, r)))[0]


def _encode_audio(out, stream, audio, sample_rate):
    import av

    samples = np.ascontiguousarray(np.asarray(audio, dtype=np.float32)[None, :])
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
    frame.sample_rate = sample_rate
    for packet in stream.encode(frame):  # PyAV converts and re-chunks for the codec
        out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def write_video(
    path,
    frames,
    *,
    fps=25,
    audio=None,
    sample_rate=16000,
    codec="libx264",
    audio_codec="aac",
    faststart=False,
    options=None,
    start_frame=0,
):
    """Encode RGB ``frames`` (n, h, w, 3) uint8 as a video, with an optional audio track.

    The container follows ``path``'s extension (mp4, mkv, avi, ...). ``audio`` is a mono float
    signal in [-1, 1] at ``sample_rate``; ``None`` writes a file with no audio stream at all (a
    real "video without audio" case). ``faststart=True`` writes the mp4 index before the media
    data (``movflags=faststart``, as streaming sites do), so a file cut short still opens;
    ``options`` are further muxer options. ``start_frame > 0`` makes the video start that
    many frames late (its first timestamp), as in a recording whose picture starts after its
    sound.
    """
    from fractions import Fraction

    import av

    frames = np.asarray(frames, dtype=np.uint8)
    options = dict(options or {})
    if faststart:
        options["movflags"] = "faststart"
    with av.open(str(path), mode="w", options=options) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        astream = out.add_stream(audio_codec, rate=sample_rate) if audio is not None else None
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if start_frame:
                frame.pts, frame.time_base = start_frame + i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            _encode_audio(out, astream, audio, sample_rate)
    return path


_AUDIO_CODECS = {".mp3": "libmp3lame", ".m4a": "aac", ".flac": "flac", ".wav": "pcm_s16le"}


def write_audio(path, signal, *, sample_rate=16000, cover_art=False, options=None):
    """Write a mono float ``signal`` as an audio file; the format follows ``path``'s extension.

    WAV, FLAC, Ogg and AIFF are written by libsndfile (16-bit PCM or the format's default);
    mp3 and m4a, and any file with ``cover_art=True`` (a 32x32 picture attached the way music
    files carry album art: mp3 and flac only), by FFmpeg with ``options`` for the muxer (e.g.
    ``{"write_xing": "0"}`` for an mp3 without a Xing header).
    """
    import av
    import soundfile as sf

    suffix = str(path).rsplit(".", 1)[-1].lower()
    if not cover_art and suffix in ("wav", "flac", "ogg", "aiff", "aif"):
        sf.write(str(path), np.asarray(signal, dtype=np.float32), sample_rate)
        return path
    with av.open(str(path), mode="w", options=dict(options or {})) as out:
        astream = out.add_stream(_AUDIO_CODECS["." + suffix], rate=sample_rate, layout="mono")
        if cover_art:
            from av.stream import Disposition

            codec, pix_fmt = ("png", "rgb24") if suffix == "flac" else ("mjpeg", "yuvj420p")
            picture = out.add_stream(codec, rate=1)
            picture.width = picture.height = 32
            picture.pix_fmt = pix_fmt
            picture.disposition = Disposition.attached_pic
            img = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 200, np.uint8), format="rgb24")
            for packet in [*picture.encode(img.reformat(format=pix_fmt)), *picture.encode()]:
                out.mux(packet)
        _encode_audio(out, astream, signal, sample_rate)
    return path


def truncate_file(src, dst, fraction):
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (an interrupted download)."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)
