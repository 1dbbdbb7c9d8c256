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
# each byte's two lower-case hex digits in the low half of a little-endian uint32; then each pair of bytes' four,
# indexed by the pair read as a little-endian uint16, so the digits' bytes lie in reading order (a lookup per two
# bytes, not per byte)
_HEX_PAIRS = np.array([int.from_bytes(f"{b:02x}".encode("ascii"), "little") for b in range(256)], dtype="<u4")
_HEX_QUADS = _HEX_PAIRS[np.arange(65536) & 0xFF] | _HEX_PAIRS[np.arange(65536) >> 8] << np.uint32(16)
# the canonical form's 8-4-4-4-12 groups: (first digit, last digit + 1, where the group starts in the text)
_GROUPS = ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24))
_DASHES = [8, 13, 18, 23]
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
    # the 128 bits as two big-endian words: bytes 0-5 the top 48 bits of high, the version nibble, the next
    # 12 bits of high; the variant (binary 10), the last 4 bits of high, the top 2 bits of low, its low 56 bits
    words = np.empty((len(index), 2), dtype=">u8")
    words[:, 0] = ((high & np.uint64(0xFFFF_FFFF_FFFF_0000)) | np.uint64(_VERSION_BITS[ids.layout] << 8)
                   | (((high >> np.uint64(12)) & np.uint64(0x0F)) << np.uint64(8))
                   | ((high >> np.uint64(4)) & np.uint64(0xFF)))
    words[:, 1] = (((np.uint64(0x80) | ((high & np.uint64(0x0F)) << np.uint64(2)) | (low >> np.uint64(62)))
                    << np.uint64(56)) | (low & np.uint64(0x00FF_FFFF_FFFF_FFFF)))
    return words.view(np.uint8).reshape(len(index), 16)


def format_uuids(raw: np.ndarray) -> pa.StringArray:
    """(n, 16) bytes to canonical lower-case UUID text, built straight into an Arrow buffer."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    digits = _HEX_QUADS[raw.view("<u2")].view(np.uint8)  # (n, 32): each byte's two hex digits, in order
    text = np.empty((len(raw), 36), dtype=np.uint8)
    for first, stop, target in _GROUPS:
        text[:, target:target + stop - first] = digits[:, first:stop]
    text[:, _DASHES] = ord("-")
    offsets = np.arange(0, 36 * (len(raw) + 1), 36, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(raw), [None, pa.py_buffer(offsets), pa.py_buffer(text)])


def derive_uuids(ids: IdScheme, entity: str, start: int, stop: int) -> pa.StringArray:
    """UUIDs of ``entity`` rows ``start``..``stop-1``, each a function of (seed, layout, entity, index) alone."""
    return format_uuids(uuid_bytes(ids, entity, np.arange(start, stop, dtype=np.uint64)))


_MIN_ROWS_TO_SHARE = 256  # below it, looking for repeats costs more than it saves


def uuids_at(ids: IdScheme, entity: str, indices: np.ndarray) -> pa.StringArray:
    """UUIDs of ``entity`` at arbitrary row indices (for references: derive, don't look up)."""
    indices = np.asarray(indices)
    if len(indices) >= _MIN_ROWS_TO_SHARE:
        low, high = int(indices.min()), int(indices.max())
        if low >= 0 and high - low < len(indices) // 2:  # repeated references (a block's 10 k contacts name ~2 k
            # accounts): each UUID derived once, then taken
            return derive_uuids(ids, entity, low, high + 1).take(np.subtract(indices, low, dtype=np.int64))
    return format_uuids(uuid_bytes(ids, entity, indices.astype(np.uint64)))
