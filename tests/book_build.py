"""Building the book as CI does: every page executed (inline mode), warnings as errors."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JB = str(Path(sys.executable).with_name("jupyter-book"))
BUILD_FLAGS = ["-W", "-n", "--keep-going"]

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def build(source, output=None):
    """Run ``jupyter-book build`` on ``source``; returns the CompletedProcess."""
    cmd = [JB, "build", str(source), *BUILD_FLAGS]
    if output is not None:
        cmd += ["--path-output", str(output)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
