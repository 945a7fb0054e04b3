"""Serve a student's functions, rebuilt from their source, to the checker (inside a sandbox).

Runs inside :mod:`homework.sandbox` in a fresh interpreter that never ran the
student's notebook, with no test file in reach. Protocol (JSON lines,
:mod:`codec`), on stdin and the original stdout:

* first ``{"answers": {name: entry}}`` (what :mod:`runner` exported); the
  server imports the modules, decodes the data and executes the function
  sources in one clean namespace, and answers ``{"ready": {name: error}}``;
* then, any number of times, ``{"call": name, "args": [...], "kwargs": {...}}``,
  answered by ``{"return": value}`` or ``{"raise": "Type: message"}``. While a
  function runs, it may call back a callable the checker passed
  (``{"callback": id, "args": ..., "kwargs": ...}``, answered by the checker
  with ``{"return": ...}`` or ``{"raise": ...}``).

Whatever the student's code does here, the checker only ever reads values.
"""

import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import codec  # noqa: E402


class CallbackError(Exception):
    """A callable of the checker raised."""


class _Channel:
    def __init__(self):
        self.inp = os.fdopen(os.dup(0), "rb")
        self.out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        sys.stdout = sys.stderr = open(os.devnull, "w")

    def send(self, message):
        self.out.write(codec.dumps(message))
        self.out.flush()

    def receive(self):
        message = codec.read_message(self.inp)
        if message is None:
            raise SystemExit(0)
        return message


def _foreign(module, qualname):
    value = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def build_namespace(answers):
    """A clean namespace with the answers rebuilt; returns it and {name: error} for those that failed."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    errors = {}
    ordered = sorted(answers.items(), key=lambda item: "source" in item[1])   # data and modules first
    for name, entry in ordered:
        try:
            if "module" in entry:
                namespace[name] = importlib.import_module(entry["module"])
            elif "foreign" in entry:
                namespace[name] = _foreign(*entry["foreign"])
            elif "data" in entry:
                namespace[name] = codec.decode(entry["data"])
            elif "source" in entry:
                exec(compile(entry["source"], f"<{name}>", "exec"), namespace)   # noqa: S102 - sandboxed
                if entry.get("defines", name) != name:
                    namespace[name] = namespace[entry["defines"]]
        except Exception as error:  # noqa: BLE001 - reported to the checker
            errors[name] = f"{type(error).__name__}: {str(error)[:200]}"
    return namespace, errors


def _callback_stub(channel, ident):
    def call_back(*args, **kwargs):
        channel.send({"callback": ident, "args": codec.encode(list(args)), "kwargs": codec.encode(kwargs)})
        reply = channel.receive()
        if "raise" in reply:
            raise CallbackError(str(reply["raise"]))
        return codec.decode(reply.get("return"))
    return call_back


def serve(channel):
    answers = channel.receive().get("answers", {})
    namespace, errors = build_namespace(answers)
    channel.send({"ready": errors})
    while True:
        request = channel.receive()
        stub = lambda ident: _callback_stub(channel, ident)  # noqa: E731
        try:
            func = namespace[request["call"]]
            args = codec.decode(request.get("args", []), stub)
            kwargs = codec.decode(request.get("kwargs", {"$d": []}), stub)
            reply = {"return": codec.encode(func(*args, **kwargs))}
        except Exception as error:  # noqa: BLE001 - the student's error goes back as text
            reply = {"raise": f"{type(error).__name__}: {str(error)[:500]}"}
        channel.send(reply)


if __name__ == "__main__":
    serve(_Channel())
