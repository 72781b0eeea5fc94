"""A run as one zip file, to download and to upload again, and its checked unpacking.

A run zip holds all the run files (``config.json``, ``model.safetensors``, ``metrics.json``,
``predictions.csv``, ``history.csv``) flat, or in one folder. Unpacking refuses anything
else in one sentence: a zip file over :data:`MAX_ZIP_BYTES` (from its size on disk, before it is read), a file
that is not a zip, an empty zip, an entry outside those names (which covers a path that would escape the folder,
"zip slip", and links), a repeated or missing name, an entry over its file's limit
(:data:`~bnn_core.limits.MAX_RUN_FILE_BYTES`), and more than :data:`MAX_UNPACKED_BYTES` once unpacked; sizes
are counted as the bytes are read, so an entry that understates its size is caught too. The files are then
checked as any run is, and a refusal names them inside the zip, never in the temporary folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from ..errors import BNNInputError
from ..experiment import TrainedRun
from ..limits import MAX_RUN_FILE_BYTES, MAX_UNPACKED_BYTES, MAX_ZIP_BYTES
from .restore import restore_run
from .store import RUN_FILES, write_run_files

_READ_BLOCK = 2**20


def run_zip(run: TrainedRun) -> bytes:
    """``run``'s files as a zip (bytes), the same files ``save_run`` writes."""
    with tempfile.TemporaryDirectory(prefix="bnn-zip-") as folder:
        write_run_files(run, Path(folder))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in RUN_FILES:
                archive.write(Path(folder) / name, arcname=name)
    return buffer.getvalue()


@contextlib.contextmanager
def unpacked_run(data: bytes | Path, shown: str = "the zip") -> Iterator[Path]:
    """Unpack a run zip (its bytes, or a zip file, whose size is checked before it is opened) into a temporary
    folder, checked; yield the folder (deleted afterwards).

    Raises:
        BNNInputError: the bytes are not a run zip (see the module's docstring).
    """
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if size > MAX_ZIP_BYTES:
        raise BNNInputError(f"{shown} is {size:,} bytes, more than the {MAX_ZIP_BYTES >> 20} MB a run zip may be.")
    try:
        archive = zipfile.ZipFile(data if isinstance(data, Path) else io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        raise BNNInputError(f"{shown} is not a zip file.") from None
    with archive, tempfile.TemporaryDirectory(prefix="bnn-unzip-") as folder:
        entries = _run_entries(archive, shown)
        budget = MAX_UNPACKED_BYTES
        for name, info in entries.items():
            budget = _extract(archive, info, Path(folder) / name, budget, shown)
        try:
            yield Path(folder)
        except BNNInputError as err:  # the run files' checks name them in the temporary folder
            inside = str(err).replace(f"{folder}{os.sep}", "")
            raise BNNInputError(f"{shown} does not hold a valid run: {inside}") from None


def open_run_zip(data: bytes, shown: str = "the zip") -> TrainedRun:
    """The whole run inside a run zip (see :func:`~bnn_core.runs.restore.restore_run`)."""
    with unpacked_run(data, shown) as folder:
        return restore_run(folder)


def _run_entries(archive: zipfile.ZipFile, shown: str) -> dict[str, zipfile.ZipInfo]:
    """The zip's run files by name; everything else is refused."""
    files = [info for info in archive.infolist() if not info.is_dir()]
    if not files:
        raise BNNInputError(f"{shown} is empty; a run zip holds {_listed(RUN_FILES)}.")
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in files:
        path = PurePosixPath(info.filename)
        is_link = stat.S_ISLNK(info.external_attr >> 16)
        if path.name not in RUN_FILES or path.is_absolute() or ".." in path.parts or "\\" in info.filename or is_link:
            raise BNNInputError(
                f"{shown} holds {info.filename!r}, which is not a run file; a run zip holds only {_listed(RUN_FILES)}."
            )
        if path.name in entries:
            raise BNNInputError(f"{shown} holds {path.name} twice.")
        entries[path.name] = info
    folders = {PurePosixPath(info.filename).parent for info in files}
    if len(folders) != 1 or len(next(iter(folders)).parts) > 1:
        raise BNNInputError(f"{shown} must hold the run files side by side, in at most one folder.")
    missing = [name for name in RUN_FILES if name not in entries]
    if missing:
        raise BNNInputError(f"{shown} lacks {_listed(missing)}; a run zip holds {_listed(RUN_FILES)}.")
    return entries


def _listed(names: Sequence[str]) -> str:
    """File names in words: "a", "a and b", "a, b and c"."""
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, shown: str) -> int:
    """Copy one entry to ``target`` while counting its bytes against its file's limit and ``budget``; return what
    is left of the budget."""
    limit = MAX_RUN_FILE_BYTES[target.name]
    if info.file_size > limit:  # what the zip says; the count below catches an entry that understates it
        raise _too_large(shown, target.name, limit)
    written = 0
    try:
        with archive.open(info) as source, open(target, "wb") as sink:
            while block := source.read(_READ_BLOCK):
                written += len(block)
                budget -= len(block)
                if budget < 0:
                    raise BNNInputError(f"{shown} unpacks to more than {MAX_UNPACKED_BYTES >> 20} MB.")
                if written > limit:
                    raise _too_large(shown, target.name, limit)
                sink.write(block)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as err:
        raise BNNInputError(f"{shown} is damaged: {info.filename} cannot be read ({err}).") from None
    return budget


def _too_large(shown: str, name: str, limit: int) -> BNNInputError:
    return BNNInputError(f"{shown} unpacks to more than {limit >> 20} MB in {name}; a run's {name} is at most that.")
