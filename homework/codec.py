"""Answers as plain data: what crosses between a sandbox and the grader.

Values are encoded as JSON with a few tagged forms (NumPy arrays as raw bytes,
tuples, dicts, ``...``, complex numbers). Decoding never runs code and never
unpickles: a forged message can at worst describe other *values*, which is no
more than a student can do by writing other answers. Anything else (a torch
tensor, an object of the student's class) becomes an :class:`Unsupported`
placeholder that fails the tests that look at it. Callables the grader passes
to a student's function (a test's ``predict``) travel as ``{"$f": id}``: the
other side calls them back through the caller's ``callback`` hook.

This file is bound into the sandboxes: it imports nothing outside the standard
library and NumPy.
"""

import base64
import json

import numpy as np

MAX_LINE = 64 << 20          # the largest message read from a sandbox, in bytes
_ARRAY_KINDS = "biufcUS"     # dtypes whose bytes are plain data


class ProtocolError(RuntimeError):
    """A message from a sandbox that is not what the protocol allows."""


class Unsupported:
    """Stands for a value that cannot be handed over as data."""

    def __init__(self, type_name):
        self.type_name = str(type_name)[:200]

    def __repr__(self):
        return f"<a {self.type_name}, which the grader cannot hand over: use NumPy arrays and numbers>"


def _type_name(value):
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def encode(value, callback=None, _depth=0):
    """A JSON-ready form of ``value``; ``callback(func) -> id`` handles callables, if given."""
    if _depth > 50:
        return {"$u": "deeply nested value"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if value is Ellipsis:
        return {"$e": 1}
    if isinstance(value, complex):
        return {"$c": [value.real, value.imag]}
    if isinstance(value, np.ndarray) and value.dtype.kind in _ARRAY_KINDS:
        return {"$a": [value.dtype.str, list(value.shape), base64.b64encode(value.tobytes(order="C")).decode()]}
    if isinstance(value, np.generic) and value.dtype.kind in _ARRAY_KINDS:
        return {"$s": encode(np.asarray(value), callback, _depth + 1)}
    if isinstance(value, (list, tuple)):
        items = [encode(item, callback, _depth + 1) for item in value]
        return items if isinstance(value, list) else {"$t": items}
    if isinstance(value, dict):
        return {"$d": [[encode(k, callback, _depth + 1), encode(v, callback, _depth + 1)] for k, v in value.items()]}
    if callable(value) and callback is not None:
        return {"$f": callback(value)}
    return {"$u": _type_name(value)}


def _array(dtype, shape, data):
    dtype = np.dtype(dtype)
    if dtype.kind not in _ARRAY_KINDS or dtype.hasobject:
        raise ProtocolError(f"array of dtype {dtype}")
    raw = base64.b64decode(data, validate=True)
    return np.frombuffer(raw, dtype=dtype).reshape([int(n) for n in shape]).copy()


def decode(obj, callback=None):
    """The value that :func:`encode` encoded; ``callback(id)`` rebuilds a callable, if given."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [decode(item, callback) for item in obj]
    if not isinstance(obj, dict) or len(obj) != 1:
        raise ProtocolError("unexpected JSON object")
    (tag, body), = obj.items()
    try:
        if tag == "$e":
            return Ellipsis
        if tag == "$c":
            return complex(float(body[0]), float(body[1]))
        if tag == "$a":
            return _array(*body)
        if tag == "$s":
            return decode(body, callback)[()]
        if tag == "$t":
            return tuple(decode(item, callback) for item in body)
        if tag == "$d":
            return {_hashable(decode(k, callback)): decode(v, callback) for k, v in body}
        if tag == "$u":
            return Unsupported(body)
        if tag == "$f" and callback is not None:
            return callback(body)
    except ProtocolError:
        raise
    except (TypeError, ValueError, IndexError, KeyError) as error:
        raise ProtocolError(f"malformed {tag} value: {error}") from None
    raise ProtocolError(f"unknown tag {tag!r}")


def _hashable(key):
    try:
        hash(key)
    except TypeError:
        raise ProtocolError("unhashable dict key") from None
    return key


def dumps(message):
    """One protocol line (JSON, newline-terminated, NaN allowed)."""
    return json.dumps(message, separators=(",", ":")) + "\n"


def read_message(stream, limit=MAX_LINE):
    """The next JSON message of a binary ``stream``; ``None`` at the end of the stream."""
    line = stream.readline(limit + 1)
    if not line:
        return None
    if len(line) > limit:
        raise ProtocolError(f"a message larger than {limit} bytes")
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"unreadable message: {str(error)[:100]}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message that is not a JSON object")
    return message
