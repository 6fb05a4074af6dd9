"""The command-line frame: a user's fault, or a full disk wherever it strikes, is one line and exit status 1."""

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import errno, sys
    from meint_jax.common import cli
    from meint_jax.common.errors import UserError

    def main(argv):
        if sys.argv[-1] == "full":
            raise OSError(errno.ENOSPC, "No space left on device", "/out/timelines.png")
        if sys.argv[-1] == "user":
            raise UserError("/in/clip.mp4: the video has no frames")
        raise OSError(errno.EACCES, "Permission denied", "/out/x")

    cli.run(main, "prog")
""")


@pytest.mark.parametrize("fault, line", [
    ("full", "prog: error: /out/timelines.png: the disk is full; free some space and rerun the same command"),
    ("user", "prog: error: /in/clip.mp4: the video has no frames"),
])
def test_a_users_fault_or_a_full_disk_ends_the_command_in_one_line(fault, line):
    done = subprocess.run([sys.executable, "-c", SCRIPT, fault], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().startswith(line) and len(done.stderr.strip().splitlines()) == 1


def test_any_other_os_error_keeps_its_traceback():
    done = subprocess.run([sys.executable, "-c", SCRIPT, "other"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" in done.stderr and "PermissionError" in done.stderr
