"""A pool's workers: they log in the command's format and exit with the process that started them."""

import concurrent.futures as futures
import multiprocessing
import os
import re
import subprocess
import sys
import textwrap
import time

from meint_jax.common import processes

ABSL_LINE = re.compile(r"^W\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+\.py:\d+\] a worker's warning$", re.M)

WORKER = textwrap.dedent("""
    import concurrent.futures as futures, multiprocessing, os
    from absl import logging
    from meint_jax.common import processes

    def warn():
        logging.warning("a worker's warning")
        logging.info("a worker's info")

    if __name__ == "__main__":
        with futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"),
                                         initializer=processes.{initializer}, initargs=(os.getpid(),)) as pool:
            pool.submit(warn).result()
""")


def _worker_stderr(tmp_path, initializer: str) -> str:
    script = tmp_path / "pool.py"
    script.write_text(WORKER.format(initializer=initializer))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_workers_warning_is_printed_in_absls_format_like_the_commands_own_lines(tmp_path):
    err = _worker_stderr(tmp_path, "start_worker")
    assert ABSL_LINE.search(err), err
    assert "WARNING:absl:" not in err and "before flag parsing" not in err
    assert "a worker's info" not in err     # workers print warnings and worse only, as before


def test_without_the_initializer_a_worker_prints_pythons_plain_form(tmp_path):
    # What start_worker fixes: the test above could not fail if a worker logged in absl's format anyway.
    err = _worker_stderr(tmp_path, "exit_with")
    assert "WARNING:absl:a worker's warning" in err and not ABSL_LINE.search(err)


def _pid_of_worker():
    return os.getpid()


def test_a_started_worker_still_exits_soon_after_its_parent_is_gone():
    # The parent here is a short-lived child process; the worker watches that pid, not ours.
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"),
                                     initializer=processes.start_worker, initargs=(parent.pid,)) as pool:
        worker = pool.submit(_pid_of_worker).result()
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10 * processes.POLL_S + 5
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"worker {worker} outlived process {parent.pid} by more than "
                                 f"{10 * processes.POLL_S + 5:.0f} s")
