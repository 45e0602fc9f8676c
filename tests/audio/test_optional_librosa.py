"""librosa is optional: what works without it, and what says it needs it (and when)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from emoset.audio import _descriptors as d

SR, N_FFT, HOP, FMIN, FMAX = 16000, 512, 160, 65.0, 600.0

#: The start of a subprocess's script: librosa as if it were not installed.
NO_LIBROSA = "import sys\nsys.modules['librosa'] = None  # as if it were not installed\n"

#: Every ImportError about librosa ends with this.
HINT = "pip install 'emoset[librosa]'"


def _run(script, *args):
    """The lines a Python subprocess prints (it must exit 0)."""
    res = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip().splitlines()


def _tone(path, seconds=1.0):
    import soundfile as sf

    t = np.arange(int(SR * seconds)) / SR
    sf.write(path, 0.3 * np.sin(2 * np.pi * 150 * t), SR)
    return path


def test_yin_finds_the_pitch_of_a_tone_and_silence_is_quiet():
    t = np.arange(SR) / SR
    for f in (110.0, 220.0, 330.0):
        y = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)
        f0 = d.yin(y, fmin=FMIN, fmax=FMAX, sampling_rate=SR, frame_length=1024, hop_length=HOP)
        assert np.median(f0) == pytest.approx(f, rel=0.005)
    silence = np.zeros(SR, np.float32)
    levels = d.amplitude_to_db(d.rms_of_signal(silence, 1024, HOP))
    np.testing.assert_allclose(levels, -100.0, atol=1e-3)
    assert np.all(d.zero_crossing_rate(silence, N_FFT, HOP) == 0)


def test_librosa_features_compile_nothing():
    """The YIN descriptors import neither librosa nor numba (nothing compiles on first use)."""
    script = (
        "import sys, numpy as np\n"
        "from emoset.audio.speech import librosa_functionals\n"
        "t = np.arange(16000) / 16000\n"
        "v, names = librosa_functionals((0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32))\n"
        "assert np.isfinite(v).all() and len(v) == len(names) == 371\n"
        "print(sorted(m for m in ('librosa', 'numba', 'llvmlite') if m in sys.modules))\n"
    )
    assert _run(script) == ["[]"]


def test_without_librosa_only_pyin_and_pitch_copies_need_it(tmp_path):
    """The default descriptors work without librosa; pYIN, pitch-shifted copies and a
    recognizer with either say how to install it, the recognizer before any clip is read."""
    script = NO_LIBROSA + (
        "import numpy as np\n"
        "from emoset.audio.augment import augment_signal\n"
        "from emoset.audio.features import LibrosaFeatures, OpenSmileFeatures\n"
        "from emoset.recognizer import AudioVisualEmotionRecognizer\n"
        "from emoset.recognizer.subsystems import make_audio_pipeline\n"
        "X = LibrosaFeatures(cache_dir=None).fit().transform([sys.argv[1]])\n"
        "print(X.shape, bool(np.isfinite(X).all()))\n"
        "pyin = {'speech': [make_audio_pipeline(LibrosaFeatures(pitch='pyin'))]}\n"
        "tries = [\n"
        "    lambda: LibrosaFeatures(pitch='pyin').fit(),\n"
        "    lambda: OpenSmileFeatures(augmentation='pitch').fit(),\n"
        "    lambda: augment_signal(np.zeros(1600, np.float32), 16000, 'pitch', seed=0),\n"
        "    lambda: AudioVisualEmotionRecognizer(video={}, augment=['pitch']).fit(\n"
        "        [sys.argv[2]], ['x']),\n"
        "    lambda: AudioVisualEmotionRecognizer(video={}, audio=pyin).fit([sys.argv[2]], ['x']),\n"
        "]\n"
        "for make in tries:\n"
        "    try:\n"
        "        make()\n"
        "        print('no error')\n"
        "    except ImportError as e:\n"
        "        print(str(e))\n"
    )
    lines = _run(script, _tone(tmp_path / "tone.wav"), tmp_path / "never-read.wav")
    assert lines[0] == "(1, 371) True"
    needs = (
        'LibrosaFeatures(pitch="pyin")',
        "augmentation='pitch'",
        "shift_pitch",
        "augment=['pitch']",
        'LibrosaFeatures(pitch="pyin")',  # the missing clip would be a different error
    )
    assert len(lines) == 1 + len(needs), lines
    for line, what in zip(lines[1:], needs, strict=True):
        assert what in line and HINT in line, line


def test_a_fitted_pyin_step_without_librosa_fails_once_not_per_clip(tmp_path):
    """A pYIN step fitted where librosa is installed, used where it is not: one ImportError
    for the call (not every clip abstaining with it as the reason)."""
    pytest.importorskip("librosa", reason="fitting a pYIN step needs the librosa extra")
    script = (
        "import sys, numpy as np\n"
        "from emoset.audio.features import LibrosaFeatures\n"
        "step = LibrosaFeatures(pitch='pyin', cache_dir=None).fit()\n"
        "sys.modules['librosa'] = None  # now as if it were not installed\n"
        "y = np.zeros(16000, np.float32)\n"
        "for call in (lambda: step.extract(sys.argv[1:]),\n"
        "             lambda: step.extract_signal(y, 16000),\n"
        "             lambda: step.extract_windows(y, 16000, [(0.0, 1.0)])):\n"
        "    try:\n"
        "        call()\n"
        "        print('no error')\n"
        "    except ImportError as e:\n"
        "        print(str(e))\n"
    )
    clips = [_tone(tmp_path / f"t{i}.wav") for i in range(3)]
    lines = _run(script, *clips)
    assert len(lines) == 3 and all(HINT in line for line in lines), lines


def test_a_broken_librosa_is_not_called_missing():
    """librosa installed but failing to import: its own error, not the install hint."""
    script = (
        "import sys, types\n"
        "broken = types.ModuleType('librosa')\n"
        "sys.meta_path.insert(0, type('F', (), {'find_spec': staticmethod(\n"
        "    lambda name, *a: (_ for _ in ()).throw(ModuleNotFoundError(\n"
        "        \"No module named 'numba'\", name='numba')) if name == 'librosa' else None)}))\n"
        "from emoset.audio.speech import require_librosa\n"
        "try:\n"
        "    require_librosa('pYIN')\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e.name, str(e))\n"
    )
    (line,) = _run(script)
    assert line.startswith("ModuleNotFoundError numba") and HINT not in line
