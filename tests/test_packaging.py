"""The project builds an sdist and a wheel that carry everything it needs at run time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION_CHECK = """
import importlib.resources as res, sys
import autoscalebot, autoscalebot.cli, autoscalebot.config
from autoscalebot.tui.app import AutoscaleApp
assert autoscalebot.__file__.startswith(sys.argv[1]), autoscalebot.__file__
assert res.files("autoscalebot.tui").joinpath("app.tcss").is_file()
assert res.files("autoscalebot").joinpath("py.typed").is_file()
print(autoscalebot.__version__)
"""


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel), built from a copy of the source (the wheel from the sdist)."""
    pytest.importorskip("build", reason="the 'build' package is in the test extras")
    work = tmp_path_factory.mktemp("packaging")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "autoscalebot",
        src / "autoscalebot",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    out = work / "dist"
    # No isolation: the build backend comes from this environment, never the network.
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "deprecated" not in (done.stdout + done.stderr).lower(), "a build warning to fix"
    (sdist,) = out.glob("autoscalebot-*.tar.gz")
    (wheel,) = out.glob("autoscalebot-*-py3-none-any.whl")
    return sdist, wheel


def test_the_wheel_carries_the_stylesheet_the_types_marker_and_every_package(dists):
    _, wheel = dists
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert {"autoscalebot/tui/app.tcss", "autoscalebot/py.typed"} <= names
    packages = {
        str(p.parent.relative_to(ROOT)) for p in (ROOT / "autoscalebot").rglob("__init__.py")
    }
    assert {f"{p}/__init__.py" for p in packages} <= names
    assert not any(n.startswith("tests/") or "__pycache__" in n for n in names)


def test_the_wheel_declares_its_scripts_and_dependencies(dists):
    _, wheel = dists
    with zipfile.ZipFile(wheel) as z:
        info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode()
        scripts = z.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "autoscalebot = autoscalebot.cli:main" in scripts
    assert "autoscalebot-tui = autoscalebot.tui.cli:main" in scripts
    assert "License-Expression: BSD-3-Clause" in metadata
    for requirement in ("httpx", "platformdirs", "tomlkit", "textual", "rich"):
        assert f"Requires-Dist: {requirement}" in metadata
    assert 'Requires-Dist: Django>=4.2; extra == "django"' in metadata


def test_the_sdist_carries_the_readme_and_the_stylesheet(dists):
    sdist, _ = dists
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[-1] for n in tar.getnames()}
    assert {"README.md", "pyproject.toml", "autoscalebot/tui/app.tcss"} <= names


def test_the_installed_wheel_finds_its_stylesheet(dists, tmp_path):
    _, wheel = dists
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)  # what an installer puts in site-packages
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", VERSION_CHECK, str(site)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the checkout, so the source tree cannot be imported instead
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert done.stdout.strip() == project["version"]
