"""Atomic writes: a reader sees the old file or the new one, never half of one."""

import os

import pytest

from meint_jax.common import files


def test_write_text_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "metrics.json")
    files.write_text(path, "old")
    files.write_text(path, "new")
    assert open(path).read() == "new"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_a_failed_write_keeps_the_old_files_and_removes_its_temporaries(tmp_path):
    paths = [str(tmp_path / "a.csv"), str(tmp_path / "a.json")]
    for path in paths:
        files.write_text(path, "old")
    with pytest.raises(RuntimeError, match="plot failed"):
        with files.atomic_files(paths) as temporaries:
            open(temporaries[0], "w").write("half")
            raise RuntimeError("plot failed")
    assert [open(p).read() for p in paths] == ["old", "old"]
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "a.json"]


def test_write_with_hands_a_path_to_writers_that_take_one(tmp_path):
    path = str(tmp_path / "curves.png")
    files.write_with(path, lambda temporary: open(temporary, "wb").write(b"\x89PNG"))
    assert open(path, "rb").read() == b"\x89PNG"
    assert os.listdir(tmp_path) == ["curves.png"]
