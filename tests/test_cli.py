"""The command line: every preset runs (reduced numerics through --set) and its result
folder loads back; user errors exit with status 2 and one line, without a traceback."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.cli import main
from mesokinetics.io.config import LATTICE_KINDS, list_presets

#: reduced numerics: the presets' production values take seconds to minutes
REDUCED = {
    2: ["numerics.angles=16", "numerics.cells=12"],
    3: ["numerics.polar=8", "numerics.azimuth=8", "numerics.cells=8"],
}
#: figures cost ~0.2 s per panel: drawn for one strip, one film and one uniform preset
WITH_PLOTS = {"rashba_ferromagnet_strip", "fuchs_sondheimer_film", "massive_dirac_bulk"}


#: lattice models: coarse Brillouin-zone grid, no Fermi-sea refinement
#: (wannier_ferromagnet_film: 0.1 s per run, G/G0 = 0.802 against 0.808 at the preset's numerics)
REDUCED_LATTICE = ["numerics.bz_grid=12", "numerics.bz_refine=0"]


def reduced(name):
    config = mk.load_config(name)
    dim = config.get("model.dim", 2)
    lattice = REDUCED_LATTICE if config.get("model.kind") in LATTICE_KINDS else []
    return REDUCED[dim] + lattice + ([] if name in WITH_PLOTS else ["output.png=false"])


@pytest.mark.parametrize("name", sorted(list_presets()))
def test_every_preset_runs_from_the_command_line_and_loads_back(name, tmp_path, capsys):
    out = tmp_path / "out"
    start = time.perf_counter()
    assert main(["run", name, "--out", str(out), "--set", *reduced(name)]) == 0
    wall = time.perf_counter() - start
    printed = capsys.readouterr().out
    assert printed.startswith(name) and f"wrote {out}/" in printed

    loaded = mk.load_result(out)
    fresh = mk.run(mk.load_config(name, reduced(name)))
    assert loaded.config == fresh.config
    assert set(loaded.arrays) == set(fresh.arrays)
    for key, array in fresh.arrays.items():
        np.testing.assert_allclose(loaded.arrays[key], array, rtol=1e-12, atol=0, err_msg=key)
    assert loaded.summary == pytest.approx(fresh.summary, rel=1e-12, abs=1e-300)
    assert loaded.info["version"] == mk.__version__

    files = set(os.listdir(out))
    # timings: one entry per stage that ran (VTK only for slabs, plots only when drawn),
    # each a finite duration; the run stages add up to run_s (one perf_counter chain:
    # exact up to rounding) and, with the saving stages, fit inside the wall time of the
    # command measured around main()
    timings = loaded.info["timings"]
    expected = {"build_s", "solve_s", "observables_s", "run_s", "save_arrays_s"}
    expected |= {"save_vtk_s"} if "result.vtu" in files else set()
    expected |= {"save_plots_s"} if name in WITH_PLOTS else set()
    assert set(timings) == expected
    assert all(np.isfinite(t) and t >= 0 for t in timings.values()), timings
    stages = timings["build_s"] + timings["solve_s"] + timings["observables_s"]
    assert stages == pytest.approx(timings["run_s"], rel=1e-9, abs=1e-12)
    assert timings["solve_s"] > 0
    saving = sum(t for k, t in timings.items() if k.startswith("save_"))
    assert timings["run_s"] + saving <= wall, (timings, wall)
    assert {"result.npz", "result.json", "config.toml"} <= files
    assert ("result.vtu" in files) == (loaded.is_slab or loaded.is_section)
    if name in WITH_PLOTS:
        assert "distribution.png" in files
        assert any(f.startswith("profile_" if loaded.is_slab else "contributions") for f in files)
    # the saved configuration repeats the run
    again = mk.load_config(out / "config.toml")
    assert again.data == loaded.config

    assert main(["show", str(out)]) == 0
    assert name in capsys.readouterr().out


def test_rerun_into_the_same_folder_replaces_the_previous_files(tmp_path):
    out = tmp_path / "out"
    args = ["run", "rashba_strip", "--out", str(out), "-q", "--no-plots", "--set", *REDUCED[2]]
    assert main(args) == 0
    assert (out / "result.vtu").exists()
    assert main(args + ["geometry.kind=uniform"]) == 0
    assert not (out / "result.vtu").exists()  # stale files of the strip run are gone
    assert mk.load_result(out).geometry["kind"] == "uniform"


def test_api_and_command_line_write_the_same_result(tmp_path):
    config = mk.load_config("rashba_ferromagnet_bulk", ["numerics.angles=16"])
    result = mk.run(config)
    result.save(tmp_path / "api", png=False)
    assert main(["run", "rashba_ferromagnet_bulk", "--out", str(tmp_path / "cli"), "-q",
                 "--no-plots", "--set", "numerics.angles=16"]) == 0
    a, b = mk.load_result(tmp_path / "api"), mk.load_result(tmp_path / "cli")
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    # physics check through the files: the damping-like torque cancels in the bulk
    pauli_x = a.bulk("torque", "intrinsic")[1] + a.bulk("torque", "disorder")[1]
    assert abs(pauli_x) < 1e-12 * abs(a.bulk("torque", "intrinsic")[1])


def test_presets_lists_every_preset_with_its_description(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name, path in list_presets().items():
        line = next(line for line in out if line.startswith(name + " "))
        assert mk.load_config(path).description in line


def test_config_prints_a_file_that_loads_back(tmp_path, capsys):
    assert main(["config", "orbital_texture_film", "--set", "numerics.cells=9"]) == 0
    path = tmp_path / "c.toml"
    path.write_text(capsys.readouterr().out)
    assert mk.load_config(path)["numerics.cells"] == 9


USER_ERRORS = [
    (["run", "no_such_preset"], "no such preset"),
    (["run", "rashba_strip", "--set", "model.alpha=abc"], "model.alpha"),
    (["run", "rashba_strip", "--set", "numerics.celss=3"], "numerics.celss"),
    (["run", "rashba_strip", "--set", "numerics.cells=1"], "numerics.cells = 1: out of range"),
    (["run", "rashba_strip", "--set", "conditions.mu=-0.5", "numerics.angles=16"], "no Fermi surface"),
    (["run", "BROKEN"], "malformed TOML"),
    (["run", "rashba_strip", "--out", "FILE/sub"], "cannot write to"),
    (["sweep", "rashba_strip", "--vary", "geometry.width=1:2"], "start:stop:num"),
    (["sweep", "rashba_strip", "--vary", "geometry.width=-1,2"], "sweep point 0"),
    (["show", "NOWHERE"], "no such folder"),
]


@pytest.mark.parametrize("argv, text", USER_ERRORS, ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _) in enumerate(USER_ERRORS)])
def test_user_errors_exit_2_with_one_line(argv, text, tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text("[model\n")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    argv = [a.replace("BROKEN", str(broken)).replace("FILE", str(blocker))
             .replace("NOWHERE", str(tmp_path / "nowhere")) for a in argv]
    if argv[0] in ("run", "sweep") and "--out" not in argv:  # never write into the repository
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mesokinetics: error: ")
    assert text in err
    assert "Traceback" not in err


def test_console_script_reports_user_errors_without_traceback(tmp_path):
    exe = [sys.executable, "-c", "from mesokinetics.cli import entry_point; entry_point()"]
    ok = subprocess.run(exe + ["--help"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "run" in ok.stdout and "sweep" in ok.stdout
    bad = subprocess.run(exe + ["run", "rashba_strip", "--set", "geometry.specularity=2",
                                "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "mesokinetics: error: rashba_strip: geometry.specularity = 2: out of range: "
        "expected a number >= 0 and <= 1"]
    assert not list(Path(tmp_path).iterdir())  # nothing written before validation passed


def test_wannier_film_preset_reads_its_hr_file_relative_to_the_preset(tmp_path, monkeypatch):
    """The hr.dat path is resolved against the preset's folder (not the working directory)
    and recorded absolute, so the saved config.toml repeats the run from anywhere."""
    monkeypatch.chdir(tmp_path)
    config = mk.load_config("wannier_ferromagnet_film", reduced("wannier_ferromagnet_film"))
    hr = Path(config["model.hr_file"])
    assert hr.is_absolute() and hr.is_file() and hr.stat().st_size < 50_000
    built = mk.workflow.build(config)
    assert built.model.dim == 3 and built.model.spin_matrices is not None
    result = mk.run(config)
    assert 0.7 < result.summary["conductance_ratio"] < 0.9  # d = 2 l, diffuse walls
    # the majority (down) electrons carry most of the current; electrons flow against j
    # (e = -1), so the s_z flux (1/2)(N_up - N_down) has the sign of j: polarization
    # 2 js / j = 0.31 measured
    pol = 2 * result.summary["spin_current_z_x.mean"] / result.summary["current_x.mean"]
    assert 0.2 < pol < 0.45
