"""meint_jax.allocator: finding tcmalloc and re-running a command on it."""

import os
import subprocess
import sys

import pytest

from meint_jax.common import allocator


def test_find_tcmalloc_searches_the_directories_in_order(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "libtcmalloc.so.4").write_bytes(b"")
    assert allocator.find_tcmalloc({}, dirs=(str(first), str(second))) == str(second / "libtcmalloc.so.4")
    (first / "libtcmalloc_minimal.so.4").write_bytes(b"")
    assert allocator.find_tcmalloc({}, dirs=(str(first), str(second))) == str(first / "libtcmalloc_minimal.so.4")
    assert allocator.find_tcmalloc({}, dirs=(str(tmp_path),)) is None


def test_find_tcmalloc_takes_the_named_library_and_rejects_a_missing_one(tmp_path):
    library = tmp_path / "my_tcmalloc.so"
    library.write_bytes(b"")
    assert allocator.find_tcmalloc({"MEINT_JAX_TCMALLOC": str(library)}, dirs=()) == str(library)
    with pytest.raises(FileNotFoundError, match="MEINT_JAX_TCMALLOC=.*missing.so"):
        allocator.find_tcmalloc({"MEINT_JAX_TCMALLOC": str(tmp_path / "missing.so")}, dirs=())


def test_current_reads_the_mapped_libraries(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n")
    assert allocator.current(str(maps)) == "glibc"
    maps.write_text(maps.read_text() + "7f02-7f03 r-xp 0 08:01 2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4\n")
    assert allocator.current(str(maps)) == "tcmalloc"
    assert allocator.current(str(tmp_path / "no_such_file")) == "system"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD is Linux's")
def test_preload_tcmalloc_reexecutes_with_the_library_first_in_ld_preload(tmp_path, monkeypatch):
    library = tmp_path / "libtcmalloc_minimal.so.4"
    library.write_bytes(b"")
    monkeypatch.setattr(allocator, "current", lambda: "glibc")
    calls = []
    environ = {"MEINT_JAX_TCMALLOC": str(library), "LD_PRELOAD": "/opt/other.so", "HOME": "/home/x"}
    outcome = allocator.preload_tcmalloc(environ, argv=["python", "-m", "meint_jax.main", "--workdir=w"],
                                         execve=lambda *call: calls.append(call))
    assert outcome == "re-executed"
    (path, argv, env), = calls
    assert path == sys.executable and argv == ["python", "-m", "meint_jax.main", "--workdir=w"]
    assert env["LD_PRELOAD"] == f"{library}:/opt/other.so" and env["HOME"] == "/home/x"
    assert environ["LD_PRELOAD"] == "/opt/other.so"         # the caller's environment is not changed

    # The re-executed process must not exec again, even if the preload did not take.
    assert "did not load" in allocator.preload_tcmalloc(env, argv=["python"], execve=lambda *call: calls.append(call))
    assert "system" in allocator.preload_tcmalloc({**environ, "MEINT_JAX_ALLOCATOR": "system"}, argv=["python"],
                                                  execve=lambda *call: calls.append(call))
    monkeypatch.setattr(allocator, "current", lambda: "jemalloc")
    assert "jemalloc" in allocator.preload_tcmalloc(environ, argv=["python"], execve=lambda *call: calls.append(call))
    assert len(calls) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD is Linux's")
def test_a_command_restarts_on_tcmalloc_when_the_machine_has_it():
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "_MEINT_JAX_PRELOADED")}
    env.pop("MEINT_JAX_ALLOCATOR", None)
    if allocator.find_tcmalloc(env) is None:
        pytest.skip("no tcmalloc on this machine (apt install libtcmalloc-minimal4)")
    code = ("import os; from meint_jax.common import allocator; print('pid', os.getpid(), flush=True); "
            "allocator.preload_tcmalloc(); print('pid', os.getpid(), allocator.current())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    before, rerun, after = out.splitlines()                   # the command runs again from its start
    assert before == rerun and after == f"{before} tcmalloc"  # in the same process, now on tcmalloc
