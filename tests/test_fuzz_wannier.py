"""Fuzzing the Wannier90 readers (issue 16): every corrupted hr.dat, tb.dat or .win either
reads as a model or raises a one-line Wannier90FormatError / ValueError naming the file;
never another exception, a hang or an unbounded allocation."""

import shutil
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mesokinetics.io.wannier90 import (Wannier90FormatError, read_hr, read_wannier90,  # noqa: E402
                                       write_hr)
from mesokinetics.models import QiWuZhang  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
LATTICE = np.eye(2)

TOKENS = st.sampled_from(["", "0", "-1", "1e308", "nan", "inf", "99999999999999999999",
                          "x", "1.0e", "2_6", "\u0663", "  ", "\t", "-0", "1e-400"])


def _mutate(text: str, data) -> str:
    """Replace, delete or duplicate a few whitespace-separated tokens or lines."""
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["token", "drop", "dup", "truncate"]))
        if action == "token":
            words = lines[i].split() or [""]
            j = data.draw(st.integers(0, len(words) - 1))
            words[j] = data.draw(TOKENS)
            lines[i] = " ".join(words)
        elif action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        else:
            lines = lines[:i]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hr_text(tmp_path_factory):
    path = tmp_path_factory.mktemp("hr") / "qwz_hr.dat"
    write_hr(path, QiWuZhang())
    return path.read_text()


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_hr_files_read_or_fail_with_a_format_error(hr_text, tmp_path, data):
    path = tmp_path / "f_hr.dat"
    path.write_text(_mutate(hr_text, data))
    try:
        model = read_hr(path, LATTICE, dim=2)
    except (Wannier90FormatError, ValueError) as exc:
        assert "\n" not in str(exc).strip()
    else:
        assert np.all(np.isfinite(model.hamiltonian(np.zeros((1, 2)))))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(["chain.win", "chain_hr.dat", "chain_wsvec.dat",
                                               "chain_centres.xyz"]))
def test_corrupted_seeds_read_or_fail_with_a_format_error(tmp_path, data, which):
    seed = tmp_path / "chain"
    for f in DATA.glob("chain*"):
        if f.suffix != ".py":
            shutil.copy(f, tmp_path / f.name)
    target = tmp_path / which
    target.write_text(_mutate(target.read_text(), data))
    try:
        read_wannier90(seed, dim=1)
    except (Wannier90FormatError, ValueError, FileNotFoundError) as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()
