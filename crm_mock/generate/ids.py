"""Deterministic UUIDs derived from (seed, entity, index), never from uuid4.

The first 64 bits of each UUID's random part are a bijective mix of the index, so UUIDs of one entity
never collide; the rest comes from a second, independently keyed mix. The RFC 9562 variant bits and a
version are set, so every value is a valid UUID in canonical lower-case text form. The version is 4 by
default, because services validate ids as UUID4 (pydantic ``UUID4``, Django REST framework); a scenario
may ask for 8 ("custom"), the layout crm_mock used first. Both layouts keep every bit of the index mix,
so a v8 id and its v4 twin differ only in the version digit.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from crm_mock.generate.random import stream_key
from crm_mock.scenario import IdScheme

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# byte positions of the 32 hex digits inside the 36-character canonical form
_DIGIT_POSITIONS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
# the version nibble, in the high half of byte 6
_VERSION_BITS = {"v4": 0x40, "v8": 0x80}


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on 64-bit words."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uuid_bytes(ids: IdScheme, entity: str, indices: np.ndarray) -> np.ndarray:
    k1, k2 = stream_key(ids.seed, "uuid", entity)
    index = np.asarray(indices, dtype=np.uint64)
    with np.errstate(over="ignore"):
        high = _mix(index + k1)
        low = _mix(index ^ k2)
    out = np.empty((len(index), 16), dtype=np.uint8)
    for i in range(6):  # bytes 0-5: top 48 bits of high
        out[:, i] = (high >> np.uint64(56 - 8 * i)) & np.uint64(0xFF)
    out[:, 6] = _VERSION_BITS[ids.layout] | ((high >> np.uint64(12)) & np.uint64(0x0F)).astype(np.uint8)
    out[:, 7] = ((high >> np.uint64(4)) & np.uint64(0xFF)).astype(np.uint8)
    # the variant (binary 10) and the last 4 bits of high
    out[:, 8] = (0x80 | ((high & np.uint64(0x0F)) << np.uint64(2)) | (low >> np.uint64(62))).astype(np.uint8)
    for i in range(9, 16):  # bytes 9-15: low 56 bits of low
        out[:, i] = (low >> np.uint64(8 * (15 - i))) & np.uint64(0xFF)
    return out


def format_uuids(raw: np.ndarray) -> pa.StringArray:
    """(n, 16) bytes to canonical lower-case UUID text, built straight into an Arrow buffer."""
    digits = np.empty((len(raw), 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    text = np.full((len(raw), 36), ord("-"), dtype=np.uint8)
    text[:, _DIGIT_POSITIONS] = digits
    offsets = np.arange(0, 36 * (len(raw) + 1), 36, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(raw), [None, pa.py_buffer(offsets), pa.py_buffer(text)])


def derive_uuids(ids: IdScheme, entity: str, start: int, stop: int) -> pa.StringArray:
    """UUIDs of ``entity`` rows ``start``..``stop-1``, each a function of (seed, layout, entity, index) alone."""
    return format_uuids(uuid_bytes(ids, entity, np.arange(start, stop, dtype=np.uint64)))


def uuids_at(ids: IdScheme, entity: str, indices: np.ndarray) -> pa.StringArray:
    """UUIDs of ``entity`` at arbitrary row indices (for references: derive, don't look up)."""
    return format_uuids(uuid_bytes(ids, entity, np.asarray(indices, dtype=np.uint64)))
