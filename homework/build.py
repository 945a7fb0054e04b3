"""Build every homework: a student notebook and an autograder per assignment.

    python -m homework.build [--out dist/homework] [--no-check] [hw01_locality ...]

For each master ``homework/hwNN_topic.md`` this writes

    dist/homework/hwNN_topic/student/hwNN_topic.ipynb    hand this out (with hwcheck.py)
    dist/homework/hwNN_topic/student/hwcheck.py
    dist/homework/hwNN_topic/autograder/hwNN_topic.ipynb  the notebook with solutions
    dist/homework/hwNN_topic/autograder/hwNN_topic-autograder.zip
                                                          every test, hidden ones included
    dist/homework/hwNN_topic/questions.json               questions and points, for the grader

with otter-grader's ``otter assign``. The master is turned into a notebook first
(jupytext), with the settings every assignment shares (``COMMON_CONFIG``) merged
into its ``# ASSIGNMENT CONFIG`` cell. Unless ``--no-check`` is given, otter runs
the reference solutions against all tests and the build fails unless they score
full marks.
"""

import argparse
import atexit
import functools
import json
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import jupytext
import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homework import catalog

ROOT = catalog.HOMEWORK.parent
SUPPORT_FILES = ["hwcheck.py"]

# Settings shared by every assignment (a master's own config cell wins).
COMMON_CONFIG = {
    "init_cell": True,
    "check_all_cell": True,
    "show_question_points": True,
    "export_cell": {
        "pdf": False,
        "run_tests": True,
        "instructions": "Or hand in this notebook file itself, as your instructor asks.",
    },
    "files": SUPPORT_FILES,
    "tests": {"ok_format": False},
    "generate": {"show_stdout": False, "show_hidden": False},
    "requirements": "requirements.txt",
}

# What the autograder needs besides otter, for graders that build their own
# environment (Gradescope). Local grading (`make grade`) uses the course's venv.
GRADING_PACKAGES = ("numpy", "scipy", "torch")


def grading_requirements():
    """Pinned numpy/scipy/torch (from the course's requirements.txt) and cnnlib from its repository."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(0)
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    lines = ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    lines += [pins[name] for name in GRADING_PACKAGES if name in pins]
    lines.append(f"cnnlib @ git+{url}")
    return "\n".join(lines) + "\n"


def merged(config):
    """The master's config without our own keys, over the common settings."""
    out = {key: value for key, value in COMMON_CONFIG.items()}
    for key, value in config.items():
        if key in catalog.OUR_KEYS:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def master_notebook(assignment):
    """The otter master notebook (nbformat) for an assignment, with stable cell ids."""
    notebook = jupytext.read(assignment.path)
    for index, cell in enumerate(notebook.cells):
        if catalog.config_of(cell) is not None:
            body = yaml.safe_dump(merged(assignment.config), sort_keys=False)
            cell.source = "# ASSIGNMENT CONFIG\n" + body.strip()
        cell.id = f"{assignment.name}-{index:03d}"
    notebook.metadata.pop("jupytext", None)
    return notebook


def _skip_slow_imports(folder):
    """Make ``import rfc3987_syntax`` fail fast here and in the kernels this process starts.

    jsonschema (imported by otter, through nbformat) loads that optional package when
    it is installed, only to validate IRIs; building its grammar costs seconds of CPU
    per import. A stub that raises ImportError, first on the kernels' PYTHONPATH,
    makes jsonschema skip it as if it were not installed.
    """
    stubs = Path(folder) / "import-stubs"
    stubs.mkdir(exist_ok=True)
    (stubs / "rfc3987_syntax.py").write_text('raise ImportError("not needed here")\n')
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(stubs), os.environ.get("PYTHONPATH")]))
    sys.modules.setdefault("rfc3987_syntax", None)


def _kernel_config(folder):
    """traitlets Config for otter's kernels: Unix sockets in ``folder`` (no TCP ports to collide)."""
    from traitlets.config import Config

    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(Path(folder) / "kernel")
    return config


@functools.cache
def _fast_kernels():
    """Let otter check the solutions with faster, quieter kernels (once per process)."""
    import otter.execute

    folder = tempfile.mkdtemp(prefix="homework-build-")
    atexit.register(shutil.rmtree, folder, True)
    _skip_slow_imports(folder)
    otter.execute.Config = lambda: _kernel_config(folder)


def build_one(assignment, out, check=True):
    """Run ``otter assign`` for one assignment into ``out/<name>``; returns that folder."""
    from otter.assign import main as otter_assign

    target = Path(out) / assignment.name
    if target.exists():
        shutil.rmtree(target)
    with tempfile.TemporaryDirectory(prefix=f"{assignment.name}-") as staging:
        staging = Path(staging)
        master = staging / f"{assignment.name}.ipynb"
        jupytext.write(master_notebook(assignment), master, fmt="ipynb")
        for name in SUPPORT_FILES:
            shutil.copy(catalog.HOMEWORK / name, staging / name)
        (staging / "requirements.txt").write_text(grading_requirements())
        log = StringIO()
        if check:
            _fast_kernels()
        try:
            with redirect_stdout(log):
                otter_assign(str(master), str(target), no_pdfs=True, no_run_tests=not check)
        except Exception as error:
            raise RuntimeError(f"otter assign failed for {assignment.name}:\n{log.getvalue()}") from error
    zips = sorted((target / "autograder").glob(f"{assignment.name}-autograder*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"expected one autograder zip for {assignment.name}, found {zips}")
    zips[0].rename(target / "autograder" / f"{assignment.name}-autograder.zip")
    (target / "questions.json").write_text(json.dumps(assignment.manifest(), indent=2) + "\n")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="assignments to build (default: all)")
    parser.add_argument("--out", default=str(ROOT / "dist" / "homework"), help="output folder")
    parser.add_argument("--no-check", action="store_true",
                        help="do not grade the reference solutions while building")
    args = parser.parse_args(argv)

    assignments = catalog.load()
    if args.names:
        unknown = set(args.names) - {a.name for a in assignments}
        if unknown:
            parser.error(f"unknown assignment(s): {', '.join(sorted(unknown))}")
        assignments = [a for a in assignments if a.name in args.names]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for assignment in assignments:
        start = time.perf_counter()
        target = build_one(assignment, args.out, check=not args.no_check)
        checked = "" if args.no_check else ", solutions checked"
        print(f"{assignment.name}: {assignment.auto_points:g} autograded + {assignment.manual_points:g} "
              f"written points -> {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}"
              f" ({time.perf_counter() - start:.0f} s{checked})")


if __name__ == "__main__":
    main()
