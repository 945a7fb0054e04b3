"""The README's set-up gives a real Linux user the CPU build of torch.

``make`` adds PyTorch's CPU index to pip when that index answers, and leaves
pip alone when it does not (offline machines that supply the wheel themselves).
Checked with ``make -n`` against a local stand-in for the index.
"""

import functools
import http.server
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pip_command(torch_index):
    result = subprocess.run(["make", "-n", "-B", ".venv/.installed", f"TORCH_INDEX={torch_index}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if "pip install" in ln and "requirements.txt" in ln]
    return line


@pytest.fixture
def index(tmp_path):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "index.html").write_text("<a href='torch-2.13.0+cpu-cp311-none-linux_x86_64.whl'>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_pip_uses_the_cpu_index_when_it_answers(index):
    assert f"--extra-index-url {index}" in pip_command(index)


def test_pip_is_left_alone_when_the_index_does_not_answer():
    assert "--extra-index-url" not in pip_command("http://127.0.0.1:9/nothing-here")


def test_the_default_index_is_pytorchs_cpu_index():
    assert "TORCH_INDEX ?= https://download.pytorch.org/whl/cpu" in (ROOT / "Makefile").read_text()
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text().split()
