"""Small synthetic image sets for tests (shared by the test modules; not a conftest)."""

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


def write_video(path, frames, *, fps=25, audio=None, sample_rate=16000):
    """Encode RGB ``frames`` (n, h, w, 3) uint8 as an H.264 mp4, with an optional AAC track.

    ``audio`` is a mono float signal in [-1, 1] at ``sample_rate``; ``None`` writes a file with
    no audio stream at all (a real "video without audio" case).
    """
    import av

    frames = np.asarray(frames, dtype=np.uint8)
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        astream = out.add_stream("aac", rate=sample_rate) if audio is not None else None
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            samples = np.asarray(audio, dtype=np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = sample_rate
            for packet in astream.encode(frame):
                out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path
