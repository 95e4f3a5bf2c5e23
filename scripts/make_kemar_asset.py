"""Regenerate emulator/assets/hrtf/mit_kemar_48k.npz from the MIT KEMAR data the `slab` package ships.

Why a script and a checked-in copy rather than a runtime dependency on slab: slab stores the set as a
bz2 pickle of its own classes (unpickling ties us to slab's class layout and pulls in matplotlib and
SoundFile), and resampling 710 directions at every start costs time. The copy here loads in
milliseconds, offline, and this script proves where it came from.

The pickle is read with a restricted unpickler that never runs slab's code: slab's two classes are
replaced by plain attribute holders and only numpy's array reconstruction is allowed.

Usage: python scripts/make_kemar_asset.py [--wheel slab-1.8.2-py3-none-any.whl]
Without --wheel it uses an installed slab if there is one, else `pip download slab==1.8.2 --no-deps`.
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import importlib.util
import io
import json
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

SLAB_VERSION = "1.8.2"
MEMBER = "slab/data/mit_kemar_normal_pinna.bz2"
# sha256 of the bz2 file inside slab 1.8.2, so a changed upstream copy is noticed, not silently used.
EXPECTED_SHA256 = "61f562a68284ba40899fd66b9d9e976351a41def04e3e826ae4cb3d5c3a7d975"
OUT = Path(__file__).resolve().parents[1] / "emulator" / "assets" / "hrtf" / "mit_kemar_48k.npz"
TARGET_RATE = 48_000
TAPS = 512  # 10.7 ms at 48 kHz; the measured 512 taps at 44.1 kHz resample to 558, the last are noise
FADE = 32  # half-Hann fade-out so the truncation does not add a step


class _Holder:
    def __setstate__(self, state: Any) -> None:
        self.__dict__.update(state)


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in {("slab.hrtf", "HRTF"), ("slab.filter", "Filter")}:
            return type(name, (_Holder,), {})
        if module.startswith("numpy") and name in {"_reconstruct", "ndarray", "dtype"}:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the KEMAR pickle")


def _raw_from_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(MEMBER)


def read_raw(wheel: Path | None) -> bytes:
    if wheel is not None:
        return _raw_from_wheel(wheel)
    spec = importlib.util.find_spec("slab")  # locates the package without importing it
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / Path(MEMBER).name
        if path.exists():
            return path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, f"slab=={SLAB_VERSION}"],
            check=True,
        )
        return _raw_from_wheel(next(Path(tmp).glob("slab-*.whl")))


def build(raw: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(raw).hexdigest()
    if digest != EXPECTED_SHA256:
        raise SystemExit(f"{MEMBER} has sha256 {digest}, expected {EXPECTED_SHA256}: check it, then update")
    hrtf = _SafeUnpickler(io.BytesIO(bz2.decompress(raw))).load()
    rate = float(hrtf.samplerate)
    sources = np.asarray(hrtf.sources, dtype=np.float64)  # (710, 3): azimuth, elevation (deg), metres
    data = np.stack([np.asarray(f.data, dtype=np.float64) for f in hrtf.data])  # (710, 512, 2)
    if data.shape != (710, 512, 2) or sources.shape != (710, 3) or rate != 44_100.0:
        raise SystemExit(f"unexpected KEMAR layout: data {data.shape}, sources {sources.shape}, rate {rate}")
    hrir = np.transpose(data, (0, 2, 1))  # (direction, ear, tap): ear 0 is the left ear
    hrir = resample_poly(hrir, 160, 147, axis=-1)[..., :TAPS]
    hrir[..., -FADE:] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, FADE))
    # Unit gain straight ahead: the mean energy of the two ears for azimuth 0, elevation 0 is 1.
    front = int(np.argmin(np.abs(sources[:, 0]) + np.abs(sources[:, 1])))
    scale = 1.0 / float(np.sqrt(np.mean(np.sum(hrir[front] ** 2, axis=-1))))
    hrir *= scale
    meta = {
        "name": "MIT KEMAR (normal pinna)",
        "credit": "Bill Gardner and Keith Martin, MIT Media Lab, 1994 (Perceptual Computing Technical "
        "Report #280); free to use with this credit",
        "via": f"slab {SLAB_VERSION} ({MEMBER}), sha256 {digest}",
        "processing": f"resampled 44.1 -> 48 kHz (scipy resample_poly 160/147), first {TAPS} taps, "
        f"{FADE}-tap half-Hann fade-out, scaled by {scale:.6g} for unit gain straight ahead",
        "azimuth": "degrees counterclockwise from straight ahead (90 = left), as in SOFA",
    }
    return {
        "hrir": hrir.astype(np.float32),
        "azimuth_deg": sources[:, 0].astype(np.float32),
        "elevation_deg": sources[:, 1].astype(np.float32),
        "distance_m": sources[:, 2].astype(np.float32),
        "sample_rate": np.int32(TARGET_RATE),
        "meta": np.array(json.dumps(meta, indent=1)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded slab wheel to read the data from")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    arrays = build(read_raw(args.wheel))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    print(json.loads(str(arrays["meta"]))["via"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
