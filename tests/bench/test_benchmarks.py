"""Tiny smoke runs of the benchmark scripts: they must run and print their tables (timings are not checked)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bnn_core.runs.gallery import PRESETS
from tests.support.browser import chromium_path

pytestmark = pytest.mark.slow  # the inner loop (-m "not slow") leaves the benchmarks to CI

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return result.stdout


def test_train_speed_benchmark_runs() -> None:
    out = _run("train_speed.py", "--smoke")
    for heading in ("1. The article's settings", "2. Scaling", "3. Posterior sampling", "4. Threads"):
        assert heading in out
    assert "project, engine='fast' (default)" in out


def test_map_speed_benchmark_runs() -> None:
    out = _run("map_speed.py", "--repeats", "1", "--epochs", "5")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines() if "×" in line]
    assert [(row[0], row[1]) for row in rows] == [
        ("50×50", "100"),
        ("100×100", "30"),
        ("100×100", "100"),
        ("200×200", "100"),
    ]
    assert all(float(row[2]) > 0 and float(row[3]) > 0 for row in rows)


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
def test_resample_latency_benchmark_runs() -> None:
    out = _run("resample_latency.py", "--clicks", "1")
    assert "| app: Resample" in out and "| bare page" in out


def test_truck_benchmark_runs() -> None:
    out = _run("truck.py", "--seeds", "1", "--epochs", "30")
    assert "| article (mean, 0.01, σ₀ 0.1) | 0 |" in out and "| textbook (sum, 0.01, σ₀ 1) | 0 |" in out
    assert sum(line.startswith("- ") and "epistemic" in line for line in out.splitlines()) == 2  # a range each
    # The iris figures of the two presets off the data, as docs/guide.md (the Truck page) gives them.
    assert "| every feature in range, unlike the data | 5.38 | 3.17 | 6.90 | 0.32 | 15.4 |" in out
    assert "| off the chart (the truck) | 3.64 | 3.59 | 18.13 | -2.82 | 70.6 |" in out
    assert "| up to 3.6 |" in out


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
def test_first_chart_benchmark_runs() -> None:
    out = _run("first_chart.py", "--repeats", "1")
    first, switching = out.split("Switching to the next gallery preset")
    rows = {line.split("|")[1].strip(): line.split("|")[2:5] for line in first.splitlines() if line.startswith("| ")}
    for name in ("app, cold numba cache", "app, warm", "floor page (imports + 2 charts)"):
        assert all(float(cell) > 0 for cell in rows[name][:2])  # timed (not n/a): the loading caption was seen
    presets = len(PRESETS)
    assert f"| app, cold numba cache | {presets} |" in switching and f"| app, warm | {presets} |" in switching
    assert "| article |" in switching and "| breast-cancer |" in switching  # the reading times


def test_server_side_benchmark_runs() -> None:
    out = _run("server_side.py", "--sessions", "1,2", "--repeats", "1", "--long-seconds", "1")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines() if line[:2] == "| "]
    trainings = {(row[0], row[1]): int(row[3]) for row in rows if len(row) == 9 and row[3] != "n"}
    assert trainings == {("1", "iris"): 1, ("2", "iris"): 2, ("1", "breast_cancer"): 1, ("2", "breast_cancer"): 2}
    beside = {row[0]: int(row[1]) for row in rows if len(row) == 6 and row[1] != "n"}
    assert beside["nothing else"] == 40 and beside["1 other thread trains breast_cancer"] >= 1
    assert any(name.startswith("100,000 epochs") and n >= 1 for name, n in beside.items())


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
def test_load_benchmark_runs() -> None:
    out = _run("load.py", "--sessions", "2", "--trainings", "1", "--quick")  # exit code 0: no exception, no stuck run
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines() if line[:2] == "| "]
    first = {row[0]: row for row in rows}  # the tables keyed by their first cell
    timed = {(row[0], row[1]): int(row[2]) for row in rows if len(row) == 8 and row[2] != "n"}  # table 1: n
    together = {row[1]: int(row[3]) for row in rows if len(row) == 11 and row[3] != "n"}  # table 2: n
    for operation in ("Train iris", "Train breast_cancer", "Resample", "Uncertainty map (twin + map)", "Page switch"):
        assert timed[("1 (alone)", operation)] >= 1 and timed[("2", operation)] >= 2
    assert timed[("1 (alone)", "Open the app")] == 1 and timed[("2", "Open the app")] == 2
    assert together == {"iris": 2, "breast_cancer": 2}  # the trainings at once, against the same alone
    assert int(first["1 other session train"][1]) >= 1  # Resample while the other session trains
    assert int(first["100,000 epochs × 1,000 units train elsewhere"][1]) >= 1
    assert first["Stop → 'Training stopped'"][1] == "1"
    assert "2 s after they closed" in first  # the memory table


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed (apt-get install -y haproxy)")
def test_room_benchmark_trains_every_link_over_the_protocol() -> None:
    """Exit code 0 means every protocol session's link trained its model (a progress bar was streamed) with no
    exception or error, every run ended, and the browser lost no click. Through two replicas behind HAProxy
    (deploy/run.sh): the one-process server is what every other browser test runs."""
    out = _run("room.py", "--sessions", "1,2", "--quick", "--replicas", "2")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines() if line[:2] == "| "]
    trainings = {(row[0], row[1]): int(row[2]) for row in rows if len(row) == 13 and row[2] != "n"}
    assert trainings == {("1", "iris"): 2, ("1", "breast_cancer"): 2, ("2", "iris"): 2, ("2", "breast_cancer"): 2}
    first = {row[0]: row for row in rows}
    assert int(first["nobody else busy"][1]) == 4  # before the crowded rounds and after them
    assert int(first["1 other session trains breast_cancer"][1]) >= 1
    assert int(first["100,000 epochs × 1,000 units train elsewhere"][1]) >= 1
    assert first["Stop → the long run's script ends"][1] == "1"
    assert "1 s later" in first  # the memory table
    assert int(first["iris"][1]) == int(first["breast_cancer"][1]) == 4  # ready pages: 2 visits, before and after
    spread = re.search(r"sessions \(the browser's too\) per replica: r1 (\d+), r2 (\d+)", out)
    assert spread and all(int(count) >= 1 for count in spread.groups())  # both replicas served sessions
    throughput = {(row[0], row[1], row[2]) for row in rows if len(row) == 8}
    assert {("2", "2", "iris"), ("2", "2", "breast_cancer")} <= throughput


_RENICE_CHECK = """
import os, subprocess, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import load
def group(pid):  # empty when the process is in a cgroup of its own (a container), where autogroups do not apply
    return (Path(f"/proc/{pid}/autogroup").read_text().split() or ["-"])[-1]
server = subprocess.Popen(["sleep", "30"])
driver = subprocess.Popen(["sleep", "30"])  # as Playwright's driver: a child in this script's own session
browser = subprocess.Popen(["sleep", "30"], start_new_session=True)  # as Chromium: a session of its own
print("before", group("self"), os.getpriority(os.PRIO_PROCESS, 0))
print("browser_before", group(browser.pid), os.getpriority(os.PRIO_PROCESS, browser.pid))
load.renice_browsers(server.pid, None, 19)
for name, pid in (("self", os.getpid()), ("server", server.pid), ("driver", driver.pid), ("browser", browser.pid)):
    print(name, group(pid), os.getpriority(os.PRIO_PROCESS, pid))
for child in (server, driver, browser):
    child.kill()
"""


def test_load_benchmark_lowers_the_browsers_and_never_the_server() -> None:
    """Chromium's session is a scheduling group of its own; the server shares the script's session with
    Playwright's driver, and that group must keep its priority (setting it through the driver once left the server
    as low as the browsers). Run in a child process, so that nothing this test session started is reniced."""
    if not Path("/proc/self/autogroup").exists():
        pytest.skip("this kernel has no autogroup scheduling")
    result = subprocess.run(
        [sys.executable, "-c", _RENICE_CHECK, str(ROOT / "benchmarks")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    seen = {name: (group, int(nice)) for name, group, nice in (line.split() for line in result.stdout.splitlines())}
    own_group = seen["before"][0]
    assert seen["self"] == seen["before"]
    assert seen["server"] == (own_group, 0)
    assert seen["driver"] == (own_group, 19)  # its threads lowered, its group (the server's) not
    # a new session gets an autogroup of its own even where this one has none (a container's cgroup)
    assert seen["browser"] == ("19" if seen["browser_before"][0] != "-" else "-", 19)


def test_warm_start_benchmark_shows_a_warm_start_lands_where_a_fresh_run_does() -> None:
    """Why a clicked-in point retrains afresh (docs/guide.md): with σ trained to the posterior, a warm start of 3000
    more steps ends within 25% of the fresh run's bands far out (x = −6 and 6), and a shorter one further off:
    warm-starting would only make the picture depend on the order of the clicks."""
    out = _run("warm_start.py", "--seeds", "0-0")
    rows = {line.split("|")[2].strip(): [float(v) for v in line.split("|")[3].split("·")] for line in
            out.splitlines() if line.startswith("| 0 |")}  # fmt: skip
    assert len(rows) == 6
    fresh, warm, short = (
        rows["afresh on 21 points"],
        rows["warm start, 3000 more steps"],
        rows["warm start, 100 more steps"],
    )
    for far in (0, 3):
        assert abs(warm[far] / fresh[far] - 1) < 0.25
        assert abs(short[far] / fresh[far] - 1) > abs(warm[far] / fresh[far] - 1)


def test_regression_speed_benchmark_runs_both_engines_for_every_noise_model() -> None:
    out = _run("regression_speed.py", "--seeds", "0-0", "--epochs", "50")
    rows = [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ") and "×" in line]
    assert rows == ["learned", "fixed", "heteroscedastic"]


def test_article_benchmark_runs() -> None:
    out = _run("article.py", "--seeds", "0-1", "--engines", "fast")
    assert "| fast | 0 |" in out and "| fast | 1 |" in out
    assert any(line.startswith("- fast: train accuracy") for line in out.splitlines())


def test_methods_benchmark_prints_a_table_per_seed_and_the_ranges() -> None:
    out = _run("methods.py", "--seeds", "0-1", "--epochs", "40", "--hmc", "none")
    assert "Seed 0:" in out and "Seed 1:" in out
    ranges = out.split("Ranges over seeds 0–1")[1]
    for method in ("BNN (torchbnn) (2 seeds)", "plain network (2 seeds)", "MC dropout (2 seeds)", "deep ensemble",
                   "Laplace (2 seeds)"):
        assert f"| {method}" in ranges


def test_methods_speed_benchmark_times_the_four_methods_and_their_ratios() -> None:
    out = _run("methods.py", "--speed", "--seeds", "0-1", "--epochs", "30", "--repeats", "1")
    ranges = out.split("Ranges over seeds 0–1:")[1]
    for network in ("two_moons, 16 units (textbook)", "two-moons preset (100 units)"):
        assert f"| {network} | 0 |" in out and f"| {network} | 1 |" in out and f"| {network} |" in ranges
    assert "| MC dropout / BNN | ensemble / (M × plain) |" in ranges


def test_prior_speed_benchmark_runs() -> None:
    out = _run("prior_speed.py", "--repeats", "1")
    assert "iris" in out and "cubic" in out


def test_sweep_speed_benchmark_runs_every_way() -> None:
    out = _run("sweep_speed.py", "--cells", "4", "--epochs", "50", "--no-neighbour")
    for way in ("1 worker (in process)", "2 local workers", "Ray local, 2 CPUs", "Ray's overhead per cell vs the pool"):
        assert f"| quiet | {way} |" in out


def test_uci_benchmark_prints_the_protocol_beside_the_published_rows() -> None:
    out = _run("uci.py", "--quick", "--sets", "boston", "--ways", "defaults,tune,article", "--workers", "1")
    for way in ("defaults", "tune", "article", "published VI", "published PBP", "published MC dropout"):
        assert f"| boston | {way} |" in out


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
def test_talk_benchmark_runs() -> None:
    """One preset, one page and the two clicks: the table and the clicks' lines (not their times)."""
    out = _run("talk.py", "--presets", "cubic", "--pages", "2")
    assert "| preset | → | r | p | 2 | slowest |" in out and "| cubic | " in out
    assert "- add a point (1): " in out and "- sweep cell: " in out


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
def test_memory_benchmark_runs() -> None:
    out = _run("memory.py", "--rooms", "1", "--sessions", "2", "--trainings", "1", "--epochs", "300", "--ttl", "5",
               "--settle", "5", "--allowed", "2000")  # fmt: skip
    assert "| before the room (the warm-up's session released) |" in out and "| after room 1 closed" in out


def test_hmc_speed_benchmark_times_pyro_and_the_compiled_sampler_on_the_same_model() -> None:
    out = _run("hmc_speed.py", "--quick")
    lines = [line for line in out.splitlines() if line.startswith("| 16 |")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert [row[1] for row in rows] == ["pyro", "compiled"]
    assert all(float(row[3]) > 0 and float(row[6]) > 0.9 for row in rows)  # ms per kept draw; R-hat max
    assert rows[0][4] == "—" and int(rows[1][4]) >= 1  # pyro does not report its leapfrog steps
    assert "- 16: the compiled sampler takes 1/" in out


def test_laplace_oracle_agrees_with_laplace_torch_or_says_how_to_install_it() -> None:
    """laplace-torch is the oracle, not a dependency, and CI does not install it: there the script exits with 2 and
    one sentence naming the pip command; where it is importable, one short seed must agree on every case."""
    script = [sys.executable, str(ROOT / "benchmarks" / "laplace_oracle.py"), "--seeds", "0-0", "--epochs", "300"]
    result = subprocess.run(script, capture_output=True, text=True, timeout=900)
    if importlib.util.find_spec("laplace") is None:
        assert result.returncode == 2 and result.stdout == ""
        sentence = result.stderr.strip()
        assert "\n" not in sentence and sentence.endswith(".")
        assert "pip install --target /tmp/laplace-torch --no-deps laplace-torch==0.5.1" in sentence
        return
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    for case in ("two_moons, full", "two_moons, last layer", "iris (3 classes), full", "sine_gap, last layer"):
        assert f"| {case} | 0 |" in result.stdout
