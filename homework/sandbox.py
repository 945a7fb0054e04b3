"""Run untrusted code in a bubblewrap sandbox, as root, without Docker.

Every process that runs a student's code is started through :func:`spawn`, which
wraps the command in

    bwrap [a minimal read-only root] -- setpriv [a throw-away uid] -- prlimit [limits] -- CMD

What the sandbox gives the code inside:

* a root file system made only of read-only binds: ``/usr``, the Python
  installation and the course's virtual environment, the ``cnnlib`` package,
  and the few files the caller lists (``ro_files``). The grading folders, the
  autograders (hidden tests), the other submissions, ``/root``, ``/home`` and
  the rest of ``/etc`` are simply not there;
* one writable place, a private ``tmpfs`` of bounded size at ``/tmp`` (also the
  working directory and ``HOME``), which vanishes with the sandbox: nothing it
  writes outlives it, whichever way it ends;
* no network (``--unshare-net``: not even the host's loopback), its own PID,
  IPC and UTS namespaces, a new session (no terminal to inject into) and
  ``--die-with-parent`` (if the grader dies, so does the sandbox);
* a uid of its own, picked at random among ids that own no file (``setpriv``
  drops root and every capability), so the kernel enforces ``RLIMIT_NPROC`` and
  the code cannot signal the grader or another sandbox;
* ``prlimit`` limits: address space (memory), processes, size of any file it
  writes, open files, no core dumps; and, when the machine offers a writable
  ``pids`` / ``memory`` cgroup, a cgroup of its own with ``pids.max`` and a memory
  limit for the whole sandbox;
* one share of the CPU for all its processes together, so a fork bomb's
  sixty-odd spinning processes slow the other submissions no more than one
  busy process would: its new session is a scheduler autogroup of its own
  (measured: a loop next to a fork bomb kept most of its speed), and a
  ``cpu`` cgroup of its own, where the machine has one, holds where
  autogroup is off;
* a wall-clock limit enforced by the caller (:meth:`Sandboxed.kill` kills the
  whole PID namespace at once).

Measured on this course's machines (root, kernel 6.x): ``RLIMIT_NPROC`` alone
does not stop a fork bomb run as root (the kernel exempts uid 0), which is why
the code runs under a throw-away uid; with it, and with the ``pids`` cgroup,
``fork`` fails with ``EAGAIN`` at the limit.

What it does not protect against: kernel exploits (the sandbox shares the host
kernel), CPU time stolen from other jobs within the wall-clock limit, and
anything the code is *given* (its inputs, the public ``hwcheck.py``).
"""

import contextlib
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
PRLIMIT = "/usr/bin/prlimit"
ROOT = Path(__file__).resolve().parent.parent
WORKDIR = "/tmp"
# uids handed to sandboxes: high, so that no file on the machine belongs to them
UID_RANGE = (200_000, 260_000)
CGROUP_PARENT = "homework-sandbox"


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or setpriv, prlimit) is missing: grading untrusted code is refused."""


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use."""

    memory_bytes: int = 4 << 30      # address space per process (torch needs about 1.5 GiB)
    processes: int = 64              # RLIMIT_NPROC of its uid, and pids.max of its cgroup
    file_bytes: int = 64 << 20       # the largest file it may write
    tmp_bytes: int = 256 << 20       # the size of its private /tmp
    open_files: int = 256


def check_available():
    """Raise :class:`SandboxUnavailable` with the fix when a tool is missing or we are not root."""
    missing = [tool for tool in (BWRAP, SETPRIV, PRLIMIT) if not os.access(tool, os.X_OK)]
    if missing:
        raise SandboxUnavailable(
            f"missing {', '.join(missing)}: install bubblewrap and util-linux "
            "(`make sandbox`, that is `apt-get install -y bubblewrap`) before grading"
        )
    if os.geteuid() != 0:
        raise SandboxUnavailable(
            "grading must run as root (for example `sudo make grade ...`): each sandbox drops to a "
            "throw-away user id, which only root can hand out, so that the process limit holds"
        )


def _python_paths():
    """Folders the interpreter of this process needs: its installation, the venv, cnnlib."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    cnnlib = ROOT / "cnnlib"
    if cnnlib.is_dir():
        paths.add(cnnlib)
    return sorted(paths)


def _parents(path):
    """``--dir`` arguments creating every parent of ``path`` world-readable (bwrap makes them 0700)."""
    args = []
    for parent in reversed(Path(path).parents):
        if str(parent) != "/":
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_args(ro_files=(), limits=Limits()):
    """The bwrap options: a minimal read-only root, a private /tmp, new namespaces."""
    args = [
        BWRAP, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent", "--new-session", "--tmpfs", "/",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--perms", "0755", "--dir", "/etc",
        "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(limits.tmp_bytes), "--perms", "1777", "--tmpfs", WORKDIR,
    ]
    for path in _python_paths():
        if not str(path).startswith("/usr/"):
            args += _parents(path) + ["--ro-bind", str(path), str(path)]
    made = set()
    for source, target in ro_files:
        parents = [] if str(target).startswith(WORKDIR + "/") or str(Path(target).parent) in made else _parents(target)
        made.add(str(Path(target).parent))
        args += parents + ["--ro-bind", str(source), str(target)]
    return args + ["--chdir", WORKDIR]


def _limit_args(limits, uid):
    return [
        SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all",
        PRLIMIT, f"--as={limits.memory_bytes}", f"--nproc={limits.processes}",
        f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}", "--core=0", "--",
    ]


def environment(extra=None):
    """The environment inside: nothing of the grader's but a PATH and a few settings."""
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin",
        "HOME": WORKDIR, "TMPDIR": WORKDIR, "MPLCONFIGDIR": WORKDIR, "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    }
    env.update(extra or {})
    return env


# ----------------------------------------------------------------------------
# cgroups (optional: pids.max and a memory limit for the whole sandbox)
# ----------------------------------------------------------------------------

def _cgroup_roots():
    """{controller: folder} of writable cgroup hierarchies (v1 per controller, or v2, where a
    cgroup of its own already gives a sandbox one share of the CPU)."""
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():   # cgroup v2 only
        return {"v2": base} if os.access(base, os.W_OK) else {}
    roots = {}
    for controller in ("pids", "memory", "cpu"):
        folder = base / controller
        if (folder / "cgroup.procs").exists() and os.access(folder, os.W_OK):
            roots[controller] = folder
    return roots


def cleanup_stale_cgroups():
    """Remove the cgroups that sandboxes of an earlier, killed, grader left (empty ones only)."""
    for root in _cgroup_roots().values():
        parent = root / CGROUP_PARENT
        for child in parent.glob("*") if parent.is_dir() else []:
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()


class _Cgroup:
    """A cgroup per sandbox (pids, memory, cpu), where the machine allows it; a no-op elsewhere."""

    def __init__(self, name, limits):
        self.folders = []
        for kind, root in _cgroup_roots().items():
            folder = root / CGROUP_PARENT / name
            try:
                folder.mkdir(parents=True, exist_ok=True)
                if kind in ("v2", "pids"):
                    (folder / "pids.max").write_text(str(limits.processes))
                if kind == "memory":
                    (folder / "memory.limit_in_bytes").write_text(str(2 * limits.memory_bytes))
                if kind == "v2":
                    (folder / "memory.max").write_text(str(2 * limits.memory_bytes))
                self.folders.append(folder)
            except OSError:
                with contextlib.suppress(OSError):
                    folder.rmdir()

    def procs_files(self):
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def remove(self):
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:   # processes still exiting
                    subprocess.run(["sleep", "0.05"], check=False)


# ----------------------------------------------------------------------------
# Starting and stopping
# ----------------------------------------------------------------------------

class Sandboxed:
    """A running sandbox: ``process`` is the ``subprocess.Popen`` of bwrap."""

    def __init__(self, argv, ro_files=(), limits=Limits(), env=None, **popen):
        check_available()
        self.limits = limits
        uid = random.SystemRandom().randrange(*UID_RANGE)
        self.cgroup = _Cgroup(f"{os.getpid()}-{uid}", limits)
        command = bwrap_args(ro_files, limits) + ["--"] + _limit_args(limits, uid) + list(argv)
        join = "".join(f'echo $$ > "{path}" && ' for path in self.cgroup.procs_files())
        # a shell joins the cgroup first, then becomes bwrap (exec: same pid)
        shell = ["/bin/sh", "-c", join + 'exec "$@"', "sandbox"] + command
        self.process = subprocess.Popen(shell, env=environment(env), start_new_session=True, **popen)

    def kill(self):
        """Kill the sandbox and everything in it (bwrap's PID namespace dies with it)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.cgroup.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def spawn(argv, ro_files=(), limits=Limits(), env=None, **popen):
    """Start ``argv`` in a new sandbox (see the module's docstring); returns a :class:`Sandboxed`."""
    return Sandboxed(argv, ro_files, limits, env, **popen)


GRADER_DIR = "/opt/grader"


def script_argv(script, *args):
    """argv and binds that run one of this package's sandbox-side scripts (with ``codec.py``) inside.

    Only those files are bound, under ``/opt/grader``: the rest of ``homework/``
    (the masters, with their solutions and hidden tests) is not in the sandbox.
    """
    here = Path(__file__).resolve().parent
    binds = [(here / name, f"{GRADER_DIR}/{name}") for name in sorted({"codec.py", script})]
    return [sys.executable, "-I", f"{GRADER_DIR}/{script}", *args], binds
