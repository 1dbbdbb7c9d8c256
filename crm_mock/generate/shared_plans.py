"""Plans shared through files by the processes of a run (a multiprocess step, a Celery worker, the shards of
one table), so each plan is built once per run instead of once per step.

A plan is a pure function of the tier's plan and of the code and libraries that build it, so its file is named
by a digest of both: another scenario, tier, reference date, crm_mock source or Faker/numpy/pyarrow release is
another file, never a stale one. One version of each (tier, plan) is kept; writing a new one removes the old.

Files are written aside and renamed (a reader never sees half a plan); a lock per (tier, plan) makes a process
that needs a plan another is building wait for it instead of building it too. Plans are read back with an
unpickler that only admits numpy's array constructors and crm_mock's own plan classes, so a file in the store
cannot run code. Any failure to read or write falls back to building in memory: sharing is never a reason for a
step to fail.

A file holds the plan's pickle with its arrays' bytes out of band, each aligned after it; a reader maps the file
and the arrays it gets back are read-only views of the mapping, not copies. So a step holds in memory only the
pages of a plan it reads (a ticket's build reads a few of the account plan's columns, not all of them), and a
plan let go costs no copy to read again: the pages stay in the system's file cache, not in the process.

While a plan is built for its file, the arrays of it the build has finished can go ahead to disk (``spill``): the
build goes on with a read-only view of them, which holds no memory until read, instead of carrying every finished
field through the rest of the build (the funnel's quotes, 236 MB at the stress tier, while its opportunities are
drawn).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import importlib
import logging
import mmap
import os
import pickle
import platform
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

from crm_mock.generate.allocator import return_freed_memory

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no lock, two processes may build the same plan
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
log = logging.getLogger(__name__)
SUFFIX = ".plan"
_MAGIC = b"crmplan2"  # 2: arrays out of band (1 was one pickle stream)
_FOOTER = 16 + len(_MAGIC)
_ALIGN = 64
# every mapping of a plan file still alive in this process, by "<tier>.<name>" (see drop_pages)
_MAPPINGS: dict[str, weakref.WeakSet] = {}
_UNREADABLE = (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError)
_PACKAGE = Path(__file__).resolve().parent.parent  # crm_mock/
# the libraries whose release changes what a plan holds (Faker's pools, numpy's and Arrow's arithmetic)
_LIBRARIES = ("faker", "numpy", "pyarrow")
# what a plan file may construct: numpy and Arrow arrays, dates, and crm_mock's own classes (checked in find_class)
_ALLOWED_GLOBALS = {
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    # the Arrow copies of pools a plan keeps: an array rebuilt from its type and buffers
    ("pyarrow.lib", "_restore_array"), ("pyarrow.lib", "type_for_alias"), ("pyarrow.lib", "py_buffer"),
    ("pyarrow.lib", "chunked_array"),  # a plan's strings kept a chunk per block (the product names)
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "timedelta"),
    ("crm_mock.generate.shared_plans", "_viewed_as"),  # dates and durations written as int64 (_PlanPickler)
}
_BUILTINS = {"frozenset", "set", "slice", "complex", "range"}
_PLAN_MODULES = ("crm_mock.generate.", "crm_mock.scenario.", "crm_mock.model.")


@cache
def code_fingerprint() -> str:
    """A digest of crm_mock's sources and data files and of the releases of the libraries plans depend on."""
    digest = hashlib.sha256(f"{sys.version_info[:2]} {platform.machine()}".encode())
    for library in _LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}".encode())
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in {".py", ".yaml", ".yml", ".json", ".txt"} and path.is_file():
            digest.update(str(path.relative_to(_PACKAGE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def plan_file(directory: Path, tier: str, name: str, cache_key: str) -> Path:
    key = hashlib.sha256(f"{code_fingerprint()}\n{name}\n{cache_key}".encode()).hexdigest()[:32]
    return directory / f"{tier}.{name}.{key}{SUFFIX}"


def _versions_of(path: Path) -> str:
    """"<tier>.<name>": what every version of one plan's file (and its lock) is named after."""
    return path.name.rsplit(".", 2)[0]


def _viewed_as(array: np.ndarray, dtype: str) -> np.ndarray:
    """Dates and durations back from their int64 bytes; a file may ask for nothing else."""
    wanted = np.dtype(dtype)
    if wanted.kind not in "mM" or array.dtype != np.int64:
        raise pickle.UnpicklingError(f"a plan file may not view {array.dtype} as {wanted}")
    return array.view(wanted)


class _PlanPickler(pickle.Pickler):
    def reducer_override(self, obj: object) -> object:
        # numpy pickles dates and durations in band (their dtype carries metadata): as int64 they map like the rest
        if type(obj) is np.ndarray and obj.dtype.kind in "mM":
            return _viewed_as, (obj.view(np.int64), obj.dtype.str)
        return NotImplemented


class _PlanUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _ALLOWED_GLOBALS or (module == "builtins" and name in _BUILTINS):
            return super().find_class(module, name)
        if module.startswith(_PLAN_MODULES):
            found = getattr(importlib.import_module(module), name, None)
            # a plan's dataclass or an enum: constructing one only assigns its fields, never runs other code
            if isinstance(found, type) and (dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)):
                return found
        raise pickle.UnpicklingError(f"a plan file may not construct {module}.{name}")


def read_plan(path: Path) -> object:
    """The plan in ``path``, its arrays read-only views of the file mapped into memory."""
    with path.open("rb") as file:
        if file.read(len(_MAGIC)) != _MAGIC:
            raise pickle.UnpicklingError(f"{path.name} is not a plan file of this version")
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)  # outlives the file handle
    view = memoryview(mapped)
    if len(view) < 2 * len(_MAGIC) + 16 or view[-len(_MAGIC):] != _MAGIC:
        raise pickle.UnpicklingError(f"{path.name} is truncated")
    pickle_end, count = (int(n) for n in np.frombuffer(view, np.uint64, 2, len(view) - _FOOTER))
    table = len(view) - _FOOTER - 16 * count
    spans = np.frombuffer(view, np.uint64, 2 * count, table).reshape(count, 2).tolist() if count else []
    if any(offset + size > table for offset, size in spans) or pickle_end > table:
        raise pickle.UnpicklingError(f"{path.name} is damaged")
    mapped.seek(len(_MAGIC))  # the pickle is read from the mapping; its frames are copied as read, then dropped
    value = _PlanUnpickler(mapped, buffers=[view[offset:offset + size] for offset, size in spans]).load()
    _MAPPINGS.setdefault(_versions_of(path), weakref.WeakSet()).add(mapped)
    return value


def drop_pages(tier: str, name: str) -> None:
    """The pages of the tier's plan ``name``, wherever it is mapped, leave this process's memory; the plan stays
    valid, and what is read again comes back from the system's file cache. For a build done with most of an input
    it still holds (the invoices copy the order plan's lines, then read a few of its columns)."""
    _let_pages_go(list(_MAPPINGS.get(f"{tier}.{name}", ())))


def drop_all_pages() -> None:
    """The pages of every plan mapped in this process leave its memory (the plans stay valid). For a table's
    blocks, read from its plans a slice at a time: the pages read so far would otherwise stay resident until the
    step ends (the stock movements' 490 MB at the stress tier, on top of the step's own memory)."""
    _let_pages_go([mapped for mappings in list(_MAPPINGS.values()) for mapped in list(mappings)])


def _let_pages_go(mappings: list[mmap.mmap]) -> None:
    """The resident pages of ``mappings`` leave this process; the data stays readable from the file."""
    if not hasattr(mmap, "MADV_DONTNEED"):  # Windows: the pages stay
        return
    for mapped in mappings:
        if not mapped.closed:
            mapped.madvise(mmap.MADV_DONTNEED)


class _Spill:
    """An unlinked file beside the plans, into which one build writes the arrays it has finished."""

    def __init__(self, directory: Path) -> None:
        self.file = tempfile.TemporaryFile(dir=directory, prefix=".spill.")
        self.mappings: list[mmap.mmap] = []

    def put(self, array: np.ndarray) -> np.ndarray:
        start = -(-self.file.seek(0, os.SEEK_END) // mmap.ALLOCATIONGRANULARITY) * mmap.ALLOCATIONGRANULARITY
        self.file.seek(start)
        self.file.write(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
        self.file.flush()
        mapped = mmap.mmap(self.file.fileno(), array.nbytes, access=mmap.ACCESS_READ, offset=start)
        self.mappings.append(mapped)
        return np.frombuffer(mapped, array.dtype).reshape(array.shape)


# the spill files of the builds under way in this process, innermost last (a build asks for the plans it is drawn
# from, which may be built in turn)
_SPILLS: list[_Spill] = []


def spill(array: T) -> T:
    """``array`` (or each array field of a dataclass), finished, as a read-only view of the file the plan under
    construction spills into: the caller lets its copy go, and the pages come back only where read. Unchanged
    outside such a build (a plan not shared through files), for arrays of objects (pickled in band) and when the
    file cannot be written."""
    if not _SPILLS:
        return array
    if dataclasses.is_dataclass(array) and not isinstance(array, type):  # a plan's part (document numbers, …)
        return dataclasses.replace(array, **{field.name: spill(getattr(array, field.name))
                                             for field in dataclasses.fields(array) if field.init})
    if not isinstance(array, np.ndarray) or array.dtype.hasobject or array.nbytes == 0 or _spilled(array):
        return array
    try:
        return _SPILLS[-1].put(array)
    except (OSError, ValueError) as error:
        log.warning("could not spill a finished plan array (%s): kept in memory", error)
        return array


def _spilled(array: np.ndarray) -> bool:
    """Already a view of what the build under way spilled (a field two parts of a plan share is written once)."""
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer's
        base = base.obj
    return any(base is mapped for mapped in _SPILLS[-1].mappings)


def drop_spilled_pages() -> None:
    """What the build under way has read back of the arrays it spilled leaves this process's memory again."""
    if _SPILLS:
        _let_pages_go(_SPILLS[-1].mappings)


@contextlib.contextmanager
def _spilling(directory: Path) -> Iterator[None]:
    try:
        spill_file = _Spill(directory)
    except OSError:
        yield
        return
    _SPILLS.append(spill_file)
    try:
        yield
    finally:
        _SPILLS.remove(spill_file)
        spill_file.file.close()  # its mappings, if the plan built is still held, keep the data


def _write_plan_file(file: BinaryIO, value: object) -> None:
    """Magic, the pickle with its arrays out of band, then each array's bytes at a multiple of ``_ALIGN`` (so every
    view of one is aligned for its type), then each one's (offset, size), where the pickle ends, their count, and
    the magic again (a file cut short lacks it). The pickle streams into the file; the arrays are not copied."""
    buffers: list[pickle.PickleBuffer] = []
    file.write(_MAGIC)
    _PlanPickler(file, protocol=5, buffer_callback=buffers.append).dump(value)
    pickle_end = file.tell()
    spans = []
    for buffer in buffers:
        raw = buffer.raw()
        file.write(bytes(-file.tell() % _ALIGN))
        spans.append((file.tell(), raw.nbytes))
        file.write(raw)
        buffer.release()
        drop_spilled_pages()  # what was read of the build's spilled arrays to write them leaves again
    file.write(np.array(spans, np.uint64).reshape(-1, 2).tobytes())
    file.write(np.array([pickle_end, len(spans)], np.uint64).tobytes() + _MAGIC)


def write_plan(path: Path, value: object) -> None:
    """Write aside and rename; then remove the other versions of the same (tier, plan)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as file:
            _write_plan_file(file, value)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    for other in path.parent.glob(f"{_versions_of(path)}.*{SUFFIX}"):
        if other != path and _versions_of(other) == _versions_of(path):
            other.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Held while one process reads or builds the plan: the others wait, then read what it wrote."""
    if fcntl is None:
        yield
        return
    lock = path.parent / f"{_versions_of(path)}.lock"
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # a file system without locks: build it here as well
            pass
        yield  # closing the handle releases the lock


def shared(directory: Path, tier: str, name: str, cache_key: str, build: Callable[[], T]) -> T:
    """The plan from its file when another process (or an earlier step) wrote it, else built and written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = plan_file(directory, tier, name, cache_key)
    except OSError as error:
        log.warning("plans are not shared (%s): building %s here", error.strerror or error, name)
        return build()
    with _locked(path):
        if path.is_file():
            try:
                return read_plan(path)  # type: ignore[return-value]
            except _UNREADABLE as error:
                log.warning("could not read the shared %s plan (%s): building it again", name, error)
        _start_light()
        with _spilling(directory):
            value = build()
            try:
                write_plan(path, value)
            except (OSError, pickle.PicklingError) as error:
                log.warning("could not share the %s plan (%s)", name, error)
                return value
    # the builder too keeps the mapped copy and lets its own go: what the plan's readers leave untouched then
    # costs this process nothing (the order plan's 221 MB while the invoices are drawn from a few of its columns)
    try:
        value = read_plan(path)  # type: ignore[assignment]
    except _UNREADABLE:
        pass
    _start_light()  # what asked for this plan goes on from here (the invoices after building the orders)
    return value


def _start_light() -> None:
    """Before and after a build (builds nest: the invoices ask for the orders), the pages of the plans read so far
    leave this process, what is read of them again coming back from the file cache, and what the build freed goes
    back to the system. In the stress tier's first step, which builds most plans one inside another, this took
    60-100 MiB off every build after the first."""
    drop_all_pages()
    return_freed_memory()
