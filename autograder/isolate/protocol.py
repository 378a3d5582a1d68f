"""The only format that crosses the trust boundary between student processes and the grader.

Messages are JSON (never pickle, which would execute code while loading). numpy arrays travel as
base64 of their raw bytes in one of four whitelisted dtypes; an `Rng(seed)` argument travels as a
marker that each side turns into `np.random.default_rng(seed)`. This is the one encoding of call
arguments: the grader computes expected values on `decode(encode(args))`, exactly what the child
gets. Frames are an 8-byte big-endian length followed by the payload.

`encode` runs in the child beside student code; `decode`, `read_frame` and `FrameReader` run in
trusted processes on hostile bytes and raise `ProtocolError` for anything unexpected.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import select
import struct
import sys
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_FRAME_BYTES = 256 * 2**20
MAX_DEPTH = 100  # nesting of lists/dicts; far beyond any real message
MAX_NDIM = 32

_HEADER = struct.Struct(">Q")
_ARRAY_KEY = "__ndarray__"
_ARRAY_KEYS = frozenset((_ARRAY_KEY, "dtype", "shape"))
_RNG_KEY = "__rng__"
_GENERATOR_KEY = "__generator__"  # a Generator's PCG64 state: a stand-in's argument, passed on
TEXT_CAP = 4000  # characters of any student-made text (an exception, a traceback) kept
# float32 travels as itself so that a judge can tell a float32 result from a float64 one.
_DTYPES = ("<f8", "<f4", "<i8", "|b1")


class ProtocolError(ValueError):
    """Bytes from the other side of the boundary that do not follow the protocol."""


class FailureKind(Enum):
    """Why a step produced no value; `status` is the word a student reads in the report."""

    NOT_ATTEMPTED = ("not_attempted", "not attempted")
    MISSING_FUNCTION = ("missing_function", "not attempted")
    MISSING_MODULE = ("missing_module", "not attempted")
    TIMEOUT = ("timeout", "timed out")
    EXCEPTION = ("exception", "crashed")
    MEMORY = ("memory", "crashed")
    EXITED = ("exited", "crashed")
    SIGNALLED = ("signalled", "crashed")
    SYNTAX_ERROR = ("syntax_error", "crashed")
    IMPORT_ERROR = ("import_error", "crashed")
    UNAVAILABLE_IMPORT = ("unavailable_import", "crashed")
    PROCESSES = ("processes", "crashed")
    PROTOCOL = ("protocol", "crashed")
    UNSERIALISABLE = ("unserialisable", "failed")

    def __new__(cls, value: str, status: str) -> FailureKind:
        member = object.__new__(cls)
        member._value_ = value
        member.status = status
        return member

    @property
    def at_import(self) -> bool:
        """A failure of the module as a whole, reported without a call."""
        return self in (FailureKind.SYNTAX_ERROR, FailureKind.IMPORT_ERROR, FailureKind.MISSING_MODULE,
                        FailureKind.UNAVAILABLE_IMPORT)


def capped(text: str, cap: int = TEXT_CAP) -> str:
    """Student-made text cut to `cap` characters, saying how much more there was."""
    text = str(text)
    return text if len(text) <= cap else f"{text[:cap]}... ({len(text) - cap} characters more)"


@dataclass(frozen=True)
class Rng:
    """An argument that is `np.random.default_rng(seed)`: each side builds its own."""

    seed: int


def encode(obj: Any) -> bytes:
    """Serialise a message as UTF-8 JSON; raise TypeError for anything the protocol cannot carry."""
    return json.dumps(_plain(obj, 0), allow_nan=True, separators=(",", ":")).encode()


def _plain(obj: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"message nested deeper than {MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_plain(item, depth + 1) for item in obj]
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str) or key in (_ARRAY_KEY, _RNG_KEY, _GENERATOR_KEY):
                raise TypeError(f"message dict keys must be str other than {_ARRAY_KEY!r}: {key!r}")
        return {key: _plain(value, depth + 1) for key, value in obj.items()}
    if isinstance(obj, Rng):
        return {_RNG_KEY: int(obj.seed)}
    # Never import numpy (a tenth of a second: a fork server starts without it) or torch just to
    # find out that an object is not theirs.
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
        if isinstance(obj, np.ndarray):
            return _plain_array(obj)
        if isinstance(obj, np.random.Generator):
            if not isinstance(obj.bit_generator, np.random.PCG64):
                raise TypeError("only a Generator of np.random.default_rng (PCG64) can be passed on")
            return {_GENERATOR_KEY: obj.bit_generator.state}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu()
        # numpy has no bfloat16: every float dtype but float32 goes through float64.
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            tensor = tensor.double()
        return _plain_array(tensor.numpy())
    raise TypeError(f"cannot send an object of type {type(obj).__name__}")


def _plain_array(array: np.ndarray) -> dict[str, Any]:
    import numpy as np

    kind = array.dtype.kind
    if kind == "f":
        dtype = "<f4" if array.dtype.itemsize == 4 else "<f8"
    elif kind in "iu":
        dtype = "<i8"
    elif kind == "b":
        dtype = "|b1"
    else:
        raise TypeError(f"cannot send an array of dtype {array.dtype}")
    data = np.asarray(array, dtype=dtype).tobytes(order="C")
    text = base64.b64encode(data).decode("ascii")
    return {_ARRAY_KEY: text, "dtype": dtype, "shape": list(array.shape)}


def encoded(message: Any) -> bytes:
    """A message's bytes (a message already encoded is passed through)."""
    return message if isinstance(message, bytes) else encode(message)


def decode(data: bytes) -> Any:
    """Parse one message from untrusted bytes into plain Python objects, writable np.ndarrays and
    numpy Generators (for Rng markers and generator states)."""
    try:
        obj = json.loads(data.decode("utf-8"), object_hook=_object_hook)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as error:  # includes JSONDecodeError, UnicodeDecodeError
        raise ProtocolError(f"malformed message: {error}") from None
    _check_depth(obj)
    return obj


def _object_hook(obj: dict[str, Any]) -> Any:
    if _RNG_KEY in obj:
        if obj.keys() != {_RNG_KEY} or type(obj[_RNG_KEY]) is not int:
            raise ProtocolError(f"generator marker with keys {sorted(obj)}")
        import numpy as np

        return np.random.default_rng(obj[_RNG_KEY])
    if _GENERATOR_KEY in obj:
        return _generator(obj)
    if _ARRAY_KEY not in obj:
        return obj
    if obj.keys() != _ARRAY_KEYS:
        raise ProtocolError(f"array object with keys {sorted(obj)}")
    import numpy as np

    dtype, shape, text = obj["dtype"], obj["shape"], obj[_ARRAY_KEY]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise ProtocolError(f"array dtype {dtype!r} is not one of {sorted(_DTYPES)}")
    dtype = np.dtype(dtype)
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise ProtocolError(f"bad array shape {shape!r}")
    if not isinstance(text, str):
        raise ProtocolError("array data is not a string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("array data is not valid base64") from None
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ProtocolError(f"array data has {len(raw)} bytes, shape {shape} needs {expected}")
    if dtype.kind == "b" and raw.translate(None, b"\x00\x01"):
        raise ProtocolError("bool array holds bytes other than 0 and 1")
    try:
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()  # copy: writable, owns its data
    except ValueError as error:  # e.g. a zero-size shape with an absurd dimension
        raise ProtocolError(f"bad array shape {shape!r}: {error}") from None


def _generator(obj: dict[str, Any]) -> np.random.Generator:
    if obj.keys() != {_GENERATOR_KEY} or not isinstance(obj[_GENERATOR_KEY], dict):
        raise ProtocolError(f"generator state with keys {sorted(obj)}")
    import numpy as np

    generator = np.random.Generator(np.random.PCG64())
    try:
        generator.bit_generator.state = obj[_GENERATOR_KEY]
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise ProtocolError(f"bad generator state: {error}") from None
    return generator


def _check_depth(obj: Any) -> None:
    stack = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ProtocolError(f"message nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, (list, dict)))
        elif isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, (list, dict)))


def write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed frame, looping over partial writes."""
    if len(payload) > MAX_FRAME_BYTES:
        raise ValueError(f"message of {len(payload)} bytes is over the {MAX_FRAME_BYTES} byte limit")
    for chunk in (_HEADER.pack(len(payload)), payload):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


def read_frame(fd: int, timeout: float | None = None, limit: int = MAX_FRAME_BYTES) -> bytes | None:
    """Read one frame from a blocking fd; None on EOF between frames.

    `timeout` bounds each wait for more bytes (TimeoutError when it passes); a frame longer than
    `limit`, or EOF inside a frame, raises ProtocolError.
    """
    header = _read_exact(fd, _HEADER.size, timeout)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise ProtocolError("stream ended inside a frame header")
    (length,) = _HEADER.unpack(header)
    if length > limit:
        raise ProtocolError(f"frame of {length} bytes is over the {limit} byte limit")
    payload = _read_exact(fd, length, timeout)
    if len(payload) < length:
        raise ProtocolError("stream ended inside a frame")
    return payload


def _read_exact(fd: int, size: int, timeout: float | None) -> bytes:
    """Up to `size` bytes; fewer only at EOF."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    filled = 0
    while filled < size:
        if timeout is not None and not select.select([fd], [], [], timeout)[0]:
            raise TimeoutError(f"no data for {timeout:g} s")
        count = os.readv(fd, [view[filled:]])
        if count == 0:
            break
        filled += count
    return bytes(view[:filled])


class FrameReader:
    """Splits a byte stream that arrives in arbitrary chunks into frames (for select loops)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes, limit: int = MAX_FRAME_BYTES) -> list[bytes]:
        """Add bytes; return the frames they complete. Raises ProtocolError for a frame longer
        than `limit`, as soon as its header says so (before any of it is buffered)."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buffer)
            if length > min(limit, MAX_FRAME_BYTES):
                raise ProtocolError(f"frame of {length} bytes is over the {limit} byte limit")
            end = _HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append(bytes(self._buffer[_HEADER.size : end]))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return len(self._buffer)
