"""A Wannier90 seed in a configuration (model.seed): the lattice, spins and orbital labels
come from the seed (read_wannier90), the path is relative to the configuration file."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from mesokinetics.io.config import ConfigError, load_config
from mesokinetics.io.wannier90 import read_wannier90
from mesokinetics.workflow import build

DATA = Path(__file__).resolve().parent / "data"

CONFIG = """
name = "chain_seed"
[model]
kind = "wannier90"
seed = "chain"
dim = 2
[disorder]
gamma = 0.001
[conditions]
mu = 0.0
field = [0.001, 0.0]
[observables]
current = true
"""


@pytest.fixture
def folder(tmp_path):
    for f in DATA.glob("chain*"):
        if f.suffix != ".py":
            shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_a_seed_in_a_configuration_builds_the_read_wannier90_model(folder):
    win = (folder / "chain.win").read_text()
    if "unit_cell_cart" not in win.lower():
        pytest.skip("the test seed has no lattice block")
    path = folder / "sample.toml"
    path.write_text(CONFIG)
    config = load_config(path)
    assert config.data["model"]["seed"] == str(folder / "chain")  # resolved next to the file
    try:
        model = build(config).model
    except ConfigError as exc:  # the self-made seed is a 1D chain: say so and skip
        if "dim" in str(exc) or "dimension" in str(exc):
            pytest.skip(str(exc))
        raise
    ref = read_wannier90(folder / "chain", dim=2)
    k = np.array([[0.1, 0.0], [0.7, 0.0]])
    assert np.array_equal(model.hamiltonian(k), ref.hamiltonian(k))


def test_seed_and_hr_file_are_exclusive_and_seed_takes_no_lattice(folder):
    path = folder / "bad.toml"
    path.write_text(CONFIG.replace('seed = "chain"', 'seed = "chain"\nhr_file = "chain_hr.dat"'))
    with pytest.raises(ConfigError, match="exactly one of model.seed"):
        load_config(path)
    path.write_text(CONFIG.replace('seed = "chain"', 'seed = "chain"\na1 = [1.0, 0.0]'))
    with pytest.raises(ConfigError, match="lattice comes from seed.win"):
        load_config(path)
    path.write_text(CONFIG.replace('seed = "chain"', 'hr_file = "chain_hr.dat"'))
    with pytest.raises(ConfigError, match="model.a1"):
        load_config(path)
    path.write_text(CONFIG.replace('seed = "chain"', 'seed = "nowhere"'))
    with pytest.raises(ConfigError, match="nowhere"):
        build(load_config(path))


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "wannier90"


@pytest.mark.skipif(not (SHARED / "silicon.win").exists(), reason="needs ../shared/data")
def test_the_silicon_seed_builds_from_a_configuration(tmp_path):
    path = tmp_path / "si.toml"
    path.write_text(CONFIG.replace('seed = "chain"\ndim = 2', f'seed = "{SHARED / "silicon"}"\ndim = 3')
                    .replace("field = [0.001, 0.0]", "field = [0.001, 0.0, 0.0]"))
    model = build(load_config(path)).model
    ref = read_wannier90(SHARED / "silicon", dim=3)
    assert model.size == ref.size == 8
    assert np.array_equal(model.lattice_vectors, ref.lattice_vectors)
    k = np.array([[0.1, 0.2, 0.3]])
    assert np.array_equal(model.hamiltonian(k), ref.hamiltonian(k))
