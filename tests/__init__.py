"""The test suite; it mirrors the package (tests/<package>/test_<module>.py). REPO: the repository root."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
