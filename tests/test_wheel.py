"""Packaging and first contact: the presets are package data found with importlib.resources
(editable and normal installs alike), the preset folders are searched in the documented
order ($MESOKINETICS_PRESETS, the user folder, the shipped presets), a preset's data file
is found next to it, and the wheel installed in a fresh environment runs the README's
first command.

The install tests work offline: the wheel is built without build isolation from a copy of
the source tree (nothing is written into the checkout) and installed with --no-deps
--no-index into a venv that sees this environment's packages (--system-site-packages).
"""

import importlib.resources
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import mesokinetics as mk
from mesokinetics.cli import main
from mesokinetics.io.config import (
    ConfigError, find_preset, list_presets, preset_dirs, shipped_preset_dir, user_preset_dir,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "geometries"  # the single source of the shipped presets
needs_source = pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file() or not SOURCE.is_dir(),
                                  reason="needs the source tree")


@pytest.fixture
def no_user_presets(tmp_path, monkeypatch):
    """No $MESOKINETICS_PRESETS and an empty user folder: only the shipped presets."""
    monkeypatch.delenv("MESOKINETICS_PRESETS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "config"))
    return tmp_path / "config" / "mesokinetics" / "presets"


# --------------------------------------------------------------------------------------
# Fast: where presets are found
# --------------------------------------------------------------------------------------


@needs_source
def test_importlib_resources_finds_every_preset_and_data_file(no_user_presets):
    shipped = importlib.resources.files("mesokinetics.geometries")
    names = {p.name for p in shipped.iterdir()}
    expected = {p.name for p in SOURCE.iterdir() if p.suffix in (".toml", ".dat")}
    assert expected and expected <= names
    assert {Path(n).stem for n in expected if n.endswith(".toml")} == set(list_presets())
    assert shipped_preset_dir() is not None
    assert preset_dirs() == [shipped_preset_dir()]
    for name, path in list_presets().items():
        assert path.parent == shipped_preset_dir(), name
        assert (shipped / path.name).read_bytes() == (SOURCE / path.name).read_bytes()
        config = mk.load_config(name)
        if config["model.kind"] == "wannier90":  # its data file, resolved next to the preset
            hr = Path(config["model.hr_file"])
            assert hr.is_file() and hr.parent == shipped_preset_dir()


@needs_source
def test_pyproject_ships_every_package_and_maps_the_presets_folder():
    """The package list of pyproject.toml (needed because mesokinetics.geometries lives
    outside mesokinetics/) holds every package of the source tree."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "mesokinetics").rglob("__init__.py")}
    assert set(tool["packages"]) == found | {"mesokinetics.geometries"}
    assert tool["package-dir"] == {"mesokinetics.geometries": "geometries"}
    assert {"*.toml", "*.dat"} <= set(tool["package-data"]["mesokinetics.geometries"])


def _preset(folder: Path, name: str, description: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (SOURCE / "rashba_strip.toml").read_text()
    path = folder / f"{name}.toml"
    path.write_text(f"description = {description!r}\n" + "\n".join(
        line for line in text.splitlines() if not line.startswith("description")) + "\n")
    return path


@needs_source
def test_preset_folders_env_then_user_then_shipped(tmp_path, monkeypatch, no_user_presets):
    user, env_a, env_b = no_user_presets, tmp_path / "a", tmp_path / "b"
    assert user_preset_dir() == user
    shipped = find_preset("rashba_strip")
    assert shipped.parent == shipped_preset_dir()

    mine = _preset(user, "rashba_strip", "user copy")
    only_user = _preset(user, "my_sample", "only in the user folder")
    assert find_preset("rashba_strip") == mine
    assert find_preset("my_sample") == only_user
    assert mk.load_config("rashba_strip").description == "user copy"

    first, second = _preset(env_a, "rashba_strip", "env a"), _preset(env_b, "rashba_strip", "env b")
    _preset(env_b, "my_sample", "env b")
    monkeypatch.setenv("MESOKINETICS_PRESETS", os.pathsep.join([str(env_a), str(tmp_path / "missing"), str(env_b)]))
    assert preset_dirs() == [env_a, env_b, user, shipped_preset_dir()]
    assert find_preset("rashba_strip") == first
    assert find_preset("my_sample") == env_b / "my_sample.toml"
    assert find_preset("fuchs_sondheimer_film").parent == shipped_preset_dir()  # shipped still listed
    first.unlink()
    assert find_preset("rashba_strip") == second

    monkeypatch.delenv("MESOKINETICS_PRESETS")
    mine.unlink()
    assert find_preset("rashba_strip") == shipped


@pytest.mark.skipif(os.name == "nt", reason="POSIX default")
def test_user_folder_defaults_to_home_config(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_preset_dir() == tmp_path / ".config" / "mesokinetics" / "presets"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_preset_dir() == tmp_path / "xdg" / "mesokinetics" / "presets"


@needs_source
def test_user_preset_finds_its_data_file_next_to_it(no_user_presets):
    user = no_user_presets
    user.mkdir(parents=True)
    for name in ("wannier_ferromagnet_film.toml", "wannier_ferromagnet_film_hr.dat"):
        shutil.copy(SOURCE / name, user / name)
    from mesokinetics.workflow import build

    config = mk.load_config("wannier_ferromagnet_film")
    assert Path(config["model.hr_file"]) == (user / "wannier_ferromagnet_film_hr.dat").resolve()
    assert build(config).model is not None  # read from the user's copy
    (user / "wannier_ferromagnet_film_hr.dat").unlink()  # not taken from the shipped folder
    with pytest.raises(ConfigError, match="wannier_ferromagnet_film_hr.dat"):
        build(mk.load_config("wannier_ferromagnet_film"))


@needs_source
def test_presets_command_shows_user_presets_and_missing_preset_names_the_user_folder(no_user_presets, capsys):
    _preset(no_user_presets, "my_sample", "only in the user folder")
    assert main(["presets", "-v"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("my_sample "))
    assert "only in the user folder" in line and str(no_user_presets) in line
    assert "rashba_strip" in out
    with pytest.raises(ConfigError, match="no such preset or file.*my_sample"):
        find_preset("no_such_preset")


def test_no_presets_anywhere_is_a_one_line_error_naming_the_folders(tmp_path, monkeypatch, capsys):
    import mesokinetics.io.config as config

    monkeypatch.delenv("MESOKINETICS_PRESETS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(config, "shipped_preset_dir", lambda: None)
    with pytest.raises(ConfigError, match=r"none found; set MESOKINETICS_PRESETS or add files to .*mesokinetics"):
        find_preset("rashba_strip")
    assert main(["presets"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no presets found" in err


# --------------------------------------------------------------------------------------
# Install tests: the wheel (normal install) and an editable install, in fresh venvs
# --------------------------------------------------------------------------------------


def _can_build_wheels() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    try:
        import wheel  # noqa: F401  (setuptools < 70.1 needs it for bdist_wheel)
        return True
    except ImportError:
        return tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (70, 1)


needs_builder = pytest.mark.skipif(not _can_build_wheels(),
                                   reason="building a wheel offline needs setuptools >= 70.1 or the "
                                          "wheel package (pip install -e '.[test]')")


def _copy_source(dest: Path) -> Path:
    """The files a build reads, copied so that the build leaves the checkout untouched."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    for name in ("mesokinetics", "geometries"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def _run(args, **kwargs):
    proc = subprocess.run([os.fspath(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _venv(path: Path) -> Path:
    """A fresh venv that sees this environment's packages (no download); its python."""
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", path])
    return path / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")


def _user_env(tmp_path: Path) -> dict:
    """A new user's environment: no preset folders of ours, an empty home."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MESOKINETICS_PRESETS", "PYTHONPATH", "XDG_CONFIG_HOME", "APPDATA")}
    home = tmp_path / "home"
    home.mkdir()
    env.update(HOME=str(home), USERPROFILE=str(home), MPLBACKEND="Agg")
    return env


def _pip_install(python: Path, *args):
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--no-build-isolation", "--disable-pip-version-check", "-q", *args])


@needs_source
@needs_builder
def test_wheel_installs_and_runs_the_readme_first_command(tmp_path):
    src = _copy_source(tmp_path / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-q", "-w", tmp_path / "dist", src])
    (wheel,) = (tmp_path / "dist").glob("mesokinetics-*.whl")
    python = _venv(tmp_path / "venv")
    _pip_install(python, wheel)
    shutil.rmtree(src)  # the installed package must not need the source tree

    env, work = _user_env(tmp_path), tmp_path / "work"
    work.mkdir()
    where = _run([python, "-c", "import importlib.resources as r, mesokinetics as m; "
                  "print(m.__file__); print(r.files('mesokinetics.geometries'))"],
                 cwd=work, env=env).stdout.splitlines()
    site = (tmp_path / "venv").resolve()
    assert all(Path(p).resolve().is_relative_to(site) for p in where), where
    shipped = {p.name for p in Path(where[1]).iterdir()}
    missing = {p.name for p in SOURCE.iterdir() if p.is_file() and p.suffix != ".pyc"} - shipped
    assert not missing, f"files of geometries/ not in the wheel (add them to package-data): {missing}"

    cli = python.parent / ("mesokinetics.exe" if os.name == "nt" else "mesokinetics")
    listed = _run([cli, "presets"], cwd=work, env=env).stdout
    for name in (p.stem for p in SOURCE.glob("*.toml")):
        assert f"{name} " in listed
    config = _run([cli, "config", "wannier_ferromagnet_film"], cwd=work, env=env).stdout
    hr = next(line for line in config.splitlines() if line.startswith("hr_file"))
    hr = Path(tomllib.loads(hr)["hr_file"])
    assert hr.is_file() and hr.resolve().is_relative_to(site)

    out = tmp_path / "out"  # the README's first command, as a registry user runs it
    _run([cli, "run", "rashba_strip", "--out", out], cwd=work, env=env)
    assert (out / "result.json").is_file()
    assert list(work.iterdir()) == []


@needs_source
@needs_builder
def test_editable_install_finds_the_presets_in_the_source_folder(tmp_path):
    src = _copy_source(tmp_path / "src")
    python = _venv(tmp_path / "venv")
    _pip_install(python, "-e", src)
    env, work = _user_env(tmp_path), tmp_path / "work"
    work.mkdir()
    where = _run([python, "-c", "import importlib.resources as r; print(r.files('mesokinetics.geometries'))"],
                 cwd=work, env=env).stdout.strip()
    assert Path(where).resolve() == (src / "geometries").resolve()
    cli = python.parent / ("mesokinetics.exe" if os.name == "nt" else "mesokinetics")
    listed = _run([cli, "presets", "-v"], cwd=work, env=env).stdout
    assert f"[{src / 'geometries' / 'rashba_strip.toml'}]" in listed
