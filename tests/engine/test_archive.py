"""Run zips: the round trip, `show` on a zip, and every bad zip refused in one sentence."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from bnn_core import BNNInputError, TrainedRun
from bnn_core.runs.archive import MAX_UNPACKED_BYTES, open_run_zip, run_zip, unpacked_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def good_zip(quick_run: TrainedRun) -> bytes:
    return run_zip(quick_run)


def _zip(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            if name in links:
                info.external_attr = 0o120777 << 16  # a symbolic link
            archive.writestr(info, content)
    return buffer.getvalue()


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_run_zip_opens_as_the_same_run(good_zip: bytes, quick_run: TrainedRun) -> None:
    restored = open_run_zip(good_zip)
    assert restored.config == quick_run.config
    assert torch.equal(restored.evaluation.uncertainty.mean_probs, quick_run.evaluation.uncertainty.mean_probs)
    assert set(_files(good_zip)) == {
        "config.json",
        "model.safetensors",
        "metrics.json",
        "predictions.csv",
        "history.csv",
    }


def test_a_zip_with_the_files_in_one_folder_opens_too(good_zip: bytes, quick_run: TrainedRun) -> None:
    nested = _zip({f"iris-run/{name}": content for name, content in _files(good_zip).items()})
    assert open_run_zip(nested).config == quick_run.config


@pytest.mark.slow  # a real process: 3 s
def test_show_reads_a_run_zip(tmp_path: Path, good_zip: bytes) -> None:
    path = tmp_path / "iris.zip"
    path.write_bytes(good_zip)
    shown = subprocess.run(
        [sys.executable, "-m", "bnn_core", "show", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"{path} is a valid run: 4 → 100 → 3 BNN on iris")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"../config.json": b"{}"}, r"'\.\./config\.json', which is not a run file"),
        ({"/etc/config.json": b"{}"}, r"'/etc/config\.json', which is not a run file"),
        ({"a/b/config.json": b"{}"}, "side by side, in at most one folder"),
        ({"config.json": b"{}", "evil.sh": b"rm -rf /"}, "'evil.sh', which is not a run file"),
        ({"a\\..\\..\\config.json": b"{}"}, "which is not a run file"),
    ],
)
def test_a_zip_slip_or_a_stray_file_is_refused(entries: dict[str, bytes], message: str) -> None:
    with pytest.raises(BNNInputError, match=message):
        open_run_zip(_zip(entries))


def test_a_link_inside_the_zip_is_refused() -> None:
    with pytest.raises(BNNInputError, match=r"'config\.json', which is not a run file"):
        open_run_zip(_zip({"config.json": b"/etc/passwd"}, links=("config.json",)))


def test_a_file_that_is_not_a_zip_is_refused() -> None:
    with pytest.raises(BNNInputError, match=r"^my\.zip is not a zip file\.$"):
        open_run_zip(b"PK\x03\x04 but not really", "my.zip")


def test_a_zip_bomb_is_stopped_while_unpacking(good_zip: bytes) -> None:
    """An entry far larger unpacked than packed is stopped as its bytes are counted."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in _files(good_zip).items():
            archive.writestr(name, b"0" * (MAX_UNPACKED_BYTES + 1) if name == "predictions.csv" else content)
    assert len(buffer.getvalue()) < 2**20  # a megabyte that would unpack to 256 MB
    with pytest.raises(BNNInputError, match="unpacks to more than 256 MB"), unpacked_run(buffer.getvalue()):
        pass


def test_a_zip_with_wrong_run_files_names_the_problem(good_zip: bytes) -> None:
    files = _files(good_zip)
    files["config.json"] = b'{"format_version": 1, "epochs": -5}'
    with pytest.raises(BNNInputError, match=r"^the zip does not hold a valid run: .*config\.json is invalid"):
        open_run_zip(_zip(files))


@pytest.mark.slow  # writes a file past the limit: 5 s
def test_show_refuses_a_huge_file_from_its_size_before_reading_it(tmp_path: Path, good_zip: bytes) -> None:
    """A 1 GB file that ends in a valid run zip (sparse here: it takes no disk) was read whole, 1.5 GB of memory,
    before the 50 MB limit refused it; now its size refuses it at once."""
    path, small = tmp_path / "huge.zip", tmp_path / "small.zip"
    with open(path, "wb") as handle:
        handle.seek(2**30)
        handle.write(good_zip)
    small.write_bytes(good_zip)
    shown, read = (
        subprocess.run([sys.executable, "-c", SHOW_WITH_PEAK, str(zipped)], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
        for zipped in (path, small)
    )  # fmt: skip
    size = path.stat().st_size
    assert shown.stderr == f"error: {path} is {size:,} bytes, more than the 50 MB a run zip may be.\n"
    assert shown.returncode == 2 and read.returncode == 0, read.stderr
    peak, peak_small = (int(done.stdout.splitlines()[-1]) for done in (shown, read))  # bytes
    assert peak < peak_small + 200 * 2**20  # reading the file whole would add a gigabyte


# ``python -m bnn_core show FILE``, then the process's peak resident memory on stdout.
SHOW_WITH_PEAK = """
import resource, sys
from bnn_core.cli import main
code = main(["show", sys.argv[1]])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
sys.exit(code)
"""


def test_each_member_is_bounded_by_its_file_limit_while_it_unpacks(good_zip: bytes) -> None:
    """A metrics.json that claims a small size but unpacks to 9 MB is stopped at its file's 8 MB, counted."""
    files = _files(good_zip)
    files["metrics.json"] = b" " * (9 * 2**20)
    with pytest.raises(BNNInputError, match=r"^the zip unpacks to more than 8 MB in metrics\.json"):
        open_run_zip(_zip(files))
