"""bnn_core as a real package: `pip install .` gives a working `bnn` command, and a read-only install imports,
compiles and trains for a user who can write neither the package folder nor their home."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
TRAIN_A_LITTLE = (
    "import numba, bnn_core\n"
    "from bnn_core import RunConfig, TrainConfig, load_builtin, train_run\n"
    "run = train_run(load_builtin('iris'), RunConfig(train=TrainConfig(epochs=20), samples=5))\n"
    "print(bnn_core.__file__, numba.config.CACHE_DIR, run.metrics['engine'], run.metrics['steps'])\n"
)


@pytest.mark.slow
def test_pip_install_gives_bnn_core_and_a_bnn_command_equal_to_python_m(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "site"  # built from a copy: setuptools writes build/ there
    shutil.copytree(ROOT / "bnn_core", source / "bnn_core", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--target", str(target)]
    installed = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(target)}
    bnn = str(target / "bin" / "bnn")
    trained = subprocess.run(
        [bnn, "train", "--out", str(tmp_path / "run"), "--epochs", "20", "--samples", "5"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    shown = subprocess.run([bnn, "show", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=300)
    assert shown.returncode == 0 and "is a valid run: 4 → 100 → 3 BNN on iris" in shown.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import bnn_core; print(bnn_core.__file__, bnn_core.__version__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    path, version = where.stdout.split()
    assert Path(path).is_relative_to(target)  # the installed copy, not this checkout
    assert version == re.search(r'__version__ = "(.+)"', (ROOT / "bnn_core" / "version.py").read_text()).group(1)
    helps = [
        subprocess.run([*command, "train", "--help"], capture_output=True, text=True, env=env, cwd=tmp_path).stdout
        for command in ([bnn], [sys.executable, "-m", "bnn_core"])
    ]
    assert helps[0].startswith("usage: bnn train")
    assert helps[0].split("\n\n", 1)[1] == helps[1].split("\n\n", 1)[1]  # all but the usage lines' wrapping
    bad = subprocess.run([bnn, "train", "--out", "x", "--epochs", "0"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: Epochs must be from 1 to 100,000")


ENGINE = ("bnn_core",)  # its imports are the package's dependencies (or, for an optional feature, an extra's)
DASHBOARD = ("app.py", "app_pages", "ui")  # its imports beyond the engine's are the [app] extra
FIRST_PARTY = {"bnn_core", "ui", "app_pages", "app", "tests"}
ENGINE_EXTRAS = ("ray",)  # optional engine features: pinned in requirements-dev.txt, which CI installs


def _imported_modules(*paths: str) -> dict[str, str]:
    """Every top-level third-party module imported in these files or folders, with one file that imports it.

    Read from the syntax tree, so an import inside a function (a lazy one) counts too; the standard library
    (``sys.stdlib_module_names``) and this project's own packages do not."""
    found: dict[str, str] = {}
    for path in paths:
        files = [ROOT / path] if path.endswith(".py") else sorted((ROOT / path).rglob("*.py"))
        for file in files:
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.partition(".")[0], str(file.relative_to(ROOT)))
    return {name: file for name, file in found.items() if name not in sys.stdlib_module_names | FIRST_PARTY}


def _distributions(modules: dict[str, str]) -> dict[str, str]:
    """The installed distribution that provides each imported module, by canonical name, with the importing file."""
    providers = metadata.packages_distributions()
    unknown = sorted(f"{name} (in {file})" for name, file in modules.items() if name not in providers)
    assert not unknown, f"imported, but no installed distribution provides them: {unknown}"
    return {canonicalize_name(dist): file for name, file in modules.items() for dist in providers[name]}


def _pins(name: str) -> dict[str, Version]:
    """The exact pins of a requirements file, by canonical name; every requirement in it must be one."""
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith(("#", "-r ")):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{name}: {line!r} is not an exact pin"
            pins[canonicalize_name(requirement.name)] = Version(spec.version)
    return pins


def _ranges(requirements: list[str]) -> dict[str, SpecifierSet]:
    return {canonicalize_name(r.name): r.specifier for r in map(Requirement, requirements)}


def test_every_third_party_import_is_declared_in_pyproject_and_pinned_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dependencies = _ranges(project["dependencies"])
    extras = {extra: _ranges(requirements) for extra, requirements in project["optional-dependencies"].items()}
    optional = {dist: spec for extra in ENGINE_EXTRAS for dist, spec in extras[extra].items()}
    engine = _distributions(_imported_modules(*ENGINE))
    dashboard = _distributions(_imported_modules(*DASHBOARD))

    undeclared = {dist: file for dist, file in engine.items() if dist not in dependencies | optional}
    assert not undeclared, f"the engine imports these, not in pyproject's dependencies: {undeclared}"
    undeclared = {dist: file for dist, file in dashboard.items() if dist not in dependencies | extras["app"]}
    assert not undeclared, f"the dashboard imports these, not in pyproject's dependencies or [app]: {undeclared}"
    assert set(dependencies) == set(engine) - set(optional)  # nothing declared that nothing imports
    assert set(extras["app"]) == set(dashboard) - set(dependencies)
    assert set(optional) <= set(engine)

    lock, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    for dist, spec in (dependencies | extras["app"]).items():
        assert dist in lock and lock[dist] in spec, f"requirements.txt: {dist} pinned in {spec}"
    for dist, spec in optional.items():
        assert dist not in lock, f"{dist} is optional: requirements-dev.txt pins it, not requirements.txt"
        assert dist in dev and dev[dist] in spec, f"requirements-dev.txt: {dist} pinned in {spec}"


def test_the_optional_packages_requirements_are_pinned_too() -> None:
    """Each requirement of an engine extra's package (ray's own, without its extras) has an exact pin."""
    pinned = _pins("requirements.txt") | _pins("requirements-dev.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for extra in ENGINE_EXTRAS:
        for dist in _ranges(project["optional-dependencies"][extra]):
            needed = [Requirement(r) for r in metadata.requires(dist) or []]
            names = {canonicalize_name(r.name) for r in needed if r.marker is None}
            assert names and names <= set(pinned), f"{dist} needs {sorted(names - set(pinned))} unpinned"


def _as_unprivileged_user(command: list[str]) -> list[str]:
    """Run ``command`` without privileges. As root: uid 1000 in a new user namespace, with no capabilities,
    so only mode bits decide what it may write (a read-only folder stays read-only, as for any user)."""
    if os.geteuid() != 0:
        return command
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is needed to drop root's privileges")
    return [unshare, "--user", "--map-user=1000", "--map-group=1000", *command]


def _read_only_copy() -> tuple[Path, Path]:
    """A read-only copy of bnn_core and a read-only home folder, under the system temp folder."""
    root = Path(tempfile.mkdtemp(prefix="bnn-readonly-"))
    shutil.copytree(ROOT / "bnn_core", root / "site" / "bnn_core", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "home").mkdir()
    for folder, _, files in os.walk(root / "site"):
        for name in files:
            os.chmod(Path(folder) / name, 0o444)
        os.chmod(folder, 0o555)
    os.chmod(root / "home", 0o555)
    return root, root / "site"


@pytest.mark.slow
def test_a_read_only_install_imports_and_trains_for_a_user_without_a_writable_home() -> None:
    from bnn_core.compiled import jit

    root, site = _read_only_copy()
    temp = root / "tmp"
    temp.mkdir(mode=0o777)
    os.chmod(temp, 0o777)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root / "home"),
        "PYTHONPATH": str(site),
        "TMPDIR": str(temp),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    try:
        result = subprocess.run(
            _as_unprivileged_user([sys.executable, "-c", TRAIN_A_LITTLE]),
            capture_output=True, text=True, env=env, cwd=root, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        package, cache, engine, steps = result.stdout.split()
        assert Path(package).is_relative_to(site) and (engine, steps) == ("fast", "20")
        assert not (site / "bnn_core" / "__pycache__").exists()
        assert Path(cache).parent.parent == temp and list(Path(cache).rglob("*.nbi"))  # numba's cache index files
        assert Path(cache).name == f"numba-{jit.source_fingerprint()}"
    finally:
        for folder, _, _ in os.walk(root):
            os.chmod(folder, 0o755)
        shutil.rmtree(root)


def test_with_no_writable_folder_at_all_kernels_compile_uncached(monkeypatch, capsys) -> None:
    from bnn_core.compiled import jit

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(jit, "_can_write", lambda folder: False)
    elsewhere = tempfile.mkdtemp()
    monkeypatch.setattr(jit.tempfile, "gettempdir", lambda: elsewhere)
    assert jit._configure_cache() is False
    assert "compiled kernels are rebuilt in every process" in capsys.readouterr().err


def test_a_change_to_any_compiled_source_gives_a_fresh_cache_folder(tmp_path: Path, monkeypatch) -> None:
    """numba checks only a function's own file; a kernel inlining code from another file must not go stale."""
    from bnn_core.compiled import jit

    original = jit.source_fingerprint()
    for name in jit.COMPILED_SOURCES:
        shutil.copy(ROOT / "bnn_core" / "compiled" / name, tmp_path / name)
    monkeypatch.setattr(jit, "__file__", str(tmp_path / "jit.py"))
    assert jit.source_fingerprint() == original
    seen = {original}
    for name in jit.COMPILED_SOURCES:
        text = (tmp_path / name).read_text()
        (tmp_path / name).write_text(text + "\n# one more line\n")
        seen.add(jit.source_fingerprint())
        (tmp_path / name).write_text(text)
    assert len(seen) == 1 + len(jit.COMPILED_SOURCES)


@pytest.mark.slow  # fresh interpreters: 3 s
def test_names_load_on_first_use_and_the_noise_generator_needs_no_torch() -> None:
    script = (
        "import sys, bnn_core.compiled.noise\n"
        "light = sorted(m for m in ('torch', 'sklearn', 'pandas', 'torchbnn') if m in sys.modules)\n"
        "import bnn_core, bnn_core.posterior.probing\n"
        "from bnn_core import probe, RunConfig\n"
        "print(light, callable(probe) and not isinstance(probe, type(sys)), RunConfig().model.hidden)\n"
        "print(sorted(name for name in bnn_core.__all__ if not hasattr(bnn_core, name)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == ["[] True (100,)", "[]"]


def test_no_public_name_is_also_a_submodule_name() -> None:
    import bnn_core

    modules = {path.stem for path in (ROOT / "bnn_core").glob("*.py")} | {
        path.parent.name for path in (ROOT / "bnn_core").glob("*/__init__.py")
    }
    assert not modules & set(bnn_core.__all__)  # an imported submodule would shadow the lazy name
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        bnn_core.no_such_name  # noqa: B018
