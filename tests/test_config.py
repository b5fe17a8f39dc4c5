"""Configuration files: presets validate, the schema documentation is current, bad input
gives one-line errors that name the key, and the loader never fails otherwise (fuzzed)."""

import copy
import string
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mesokinetics as mk
from mesokinetics.io.config import (
    MODEL_KINDS, SCHEMA, ConfigError, list_presets, load_config, parse_override, schema_markdown,
    to_toml, validate,
)

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted(list_presets())

MINIMAL = {
    "model": {"kind": "rashba_ferromagnet", "alpha": 0.1},
    "disorder": {"tau_fs": 100.0},
    "conditions": {"mu": 0.2, "field": [1e-3, 0.0]},
    "geometry": {"kind": "strip", "width": 100.0},
}


def test_presets_cover_the_required_samples():
    assert {"fuchs_sondheimer_film", "rashba_strip", "rashba_ferromagnet_strip",
            "orbital_texture_film"} <= set(PRESETS)
    assert any(load_config(p)["geometry.kind"] == "uniform" for p in PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_validates_and_round_trips_through_toml(name):
    config = load_config(name)
    assert config.description and "\n" not in config.description
    text = to_toml(config.data)
    assert validate(tomllib.loads(text)) == config.data
    assert load_config(config).data == config.data


def test_docs_config_md_matches_the_schema():
    doc = (ROOT / "docs" / "config.md").read_text()
    generated = doc.split("<!-- BEGIN GENERATED -->\n")[1].split("\n<!-- END GENERATED -->")[0]
    assert generated == schema_markdown(), "regenerate docs/config.md from schema_markdown()"
    for section, keys in SCHEMA.items():
        for key in keys:
            assert f"`{section + '.' if section else ''}{key}`" in doc


def test_every_key_has_a_unit_and_a_description():
    for keys in [*SCHEMA.values(), *MODEL_KINDS.values()]:
        for name, key in keys.items():
            assert key.doc, name
            if key.kind in ("float", "floats"):
                assert key.unit != "-", name


def test_defaults_are_filled_in():
    data = validate(MINIMAL)
    assert data["geometry"]["normal"] == "y"
    assert data["geometry"]["specularity"] == 0.0
    assert data["numerics"]["tol"] == 1e-3
    # left to the solvers (their defaults, which the tol check may refine)
    assert "cells" not in data["numerics"] and "energy_points" not in data["numerics"]
    assert data["model"]["mass"] == 1.0
    assert data["observables"]["current"] is True


def test_overrides_switch_between_exclusive_keys():
    c = load_config(MINIMAL, {"disorder.gamma": 0.01, "geometry.roughness": 0.2})
    assert c.data["disorder"] == {"gamma": 0.01}
    assert "specularity" not in c.data["geometry"] and c["geometry.roughness"] == 0.2
    c = load_config(MINIMAL, ["geometry.kind=uniform", "numerics.cells=16"])
    assert c["geometry.kind"] == "uniform" and c["numerics.cells"] == 16


def test_parse_override_reads_toml_values_and_bare_words():
    assert parse_override("a.b=1") == ("a.b", 1)
    assert parse_override("a.b = 1.5e-3") == ("a.b", 1.5e-3)
    assert parse_override("a.b=[1e-3, 0]") == ("a.b", [1e-3, 0])
    assert parse_override("geometry.kind=strip") == ("geometry.kind", "strip")
    assert parse_override('x="two words"') == ("x", "two words")
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("novalue")


WANNIER = {"kind": "wannier90", "hr_file": "model_hr.dat", "a1": [0.3, 0.0], "a2": [0.0, 0.3],
           "spins": ["up", "down"]}


def _bad(**changes):
    data = copy.deepcopy(MINIMAL)
    for dotted, value in changes.items():
        node = data
        *head, last = dotted.split("__")
        for part in head:
            node = node.setdefault(part, {})
        if value is _DELETE:
            node.pop(last)
        else:
            node[last] = value
        if isinstance(value, dict):  # WANNIER-based tables may mark keys to drop
            for k in [k for k, v in value.items() if v is _DELETE]:
                value.pop(k)
    return data


_DELETE = object()

BAD = [
    # wrong types
    ("model.alpha", _bad(model__alpha="0.1"), "expected a finite number"),
    ("numerics.cells", _bad(numerics__cells=16.0), "expected an integer"),
    ("numerics.cells", _bad(numerics__cells=True), "expected an integer"),
    ("observables.spin", _bad(observables__spin=1), "true or false"),
    ("conditions.field", _bad(conditions__field=1e-3), "expected a list of finite numbers"),
    ("conditions.field", _bad(conditions__field=[1e-3, "0"]), "number"),
    ("geometry.kind", _bad(geometry__kind=3), "one of"),
    ("[numerics]", _bad(numerics=5), "expected a table"),
    # unknown keys
    ("colour", _bad(colour="red"), "unknown key"),
    ("numerics.cels", _bad(numerics__cels=16), "unknown key"),
    ("model.texture", _bad(model__texture=0.1), "not a parameter of model kind"),
    ("geometry.bottom.p", _bad(geometry__bottom={"p": 0.5}), "unknown key"),
    # out of range
    ("numerics.cells", _bad(numerics__cells=1), "out of range"),
    ("geometry.specularity", _bad(geometry__specularity=1.5), "out of range"),
    ("geometry.width", _bad(geometry__width=0.0), "out of range"),
    ("disorder.tau_fs", _bad(disorder__tau_fs=-1.0), "out of range"),
    ("conditions.temperature", _bad(conditions__temperature=-3), "out of range"),
    ("model.mass", _bad(model__mass=float("nan")), "> 0"),
    ("conditions.mu", _bad(conditions__mu=float("inf")), "finite"),
    ("model.kind", _bad(model__kind="graphene"), "one of"),
    ("geometry.normal", _bad(geometry__normal="z"), "axis of the 2D model"),
    # inconsistent
    ("conditions.field", _bad(conditions__field=[1e-3, 0.0, 0.0]), "2 entries"),
    ("conditions.field", _bad(conditions__field=[0.0, 1e-3]), "wall normal"),
    ("conditions.field", _bad(conditions__field=[0.0, 0.0], geometry__kind="uniform"), "nonzero"),
    ("[disorder]", _bad(disorder__gamma=0.1), "exactly one of"),
    ("geometry.kind", _bad(geometry__kind="film"), "3D model"),
    ("geometry.width", _bad(geometry__width=_DELETE), "required"),
    ("geometry.roughness", _bad(geometry__roughness=0.1, geometry__specularity=0.5), "not both"),
    ("observables.orbital", _bad(observables__orbital=True), "no orbital"),
    ("observables.spin_current", _bad(observables__spin_current=["zy"]), "'a_b'"),
    ("observables.torque", _bad(model__kind="massive_dirac", model__alpha=_DELETE, observables__torque=True), "torque"),
    ("model.magnetization", _bad(model__magnetization=[0, 0, 0]), "nonzero"),
    ("[conditions]", _bad(conditions=_DELETE), "missing section"),
    ("conditions.mu", _bad(conditions__mu=_DELETE), "required"),
    ("description", _bad(description="two\nlines"), "one line"),
    # lattice models
    ("model.hr_file", _bad(model=dict(WANNIER, hr_file=_DELETE)), "required"),
    ("model.a3", _bad(model=dict(WANNIER, a3=[0.0, 0.0, 1.0])), "only for model.dim = 3"),
    ("model.a3", _bad(model=dict(WANNIER, dim=3)), "required for model.dim = 3"),
    ("model.a1", _bad(model=dict(WANNIER, a1=[1.0, 0.0, 0.0])), "expected 2 entries"),
    ("model.spins", _bad(model=dict(WANNIER, spins=["up", "sideways"])), "'up', 'down'"),
    ("observables.spin", _bad(model=dict(WANNIER, spins=[]), observables__spin=True), "no spin"),
    ("observables.spin", _bad(model={"kind": "qi_wu_zhang"}, observables__spin=True), "no spin"),
    ("observables.torque", _bad(model={"kind": "haldane"}, observables__torque=True), "torque"),
    ("model.lattice_constant", _bad(model={"kind": "rashba_lattice", "lattice_constant": 0}), "out of range"),
    ("model.convention", _bad(model={"kind": "haldane", "convention": "wannier"}), "one of"),
]


@pytest.mark.parametrize("key, data, reason", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_config_gives_one_line_error_naming_the_key(key, data, reason):
    with pytest.raises(ConfigError) as err:
        load_config(data)
    message = str(err.value)
    assert "\n" not in message
    assert key in message
    assert reason in message


def test_malformed_toml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[model]\nkind = "rashba_ferromagnet\n')
    with pytest.raises(ConfigError, match=r"broken\.toml: malformed TOML: .*line 2") as err:
        load_config(path)
    assert "\n" not in str(err.value)


def test_missing_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="no such preset or file.*rashba_strip"):
        load_config("no_such_preset")
    with pytest.raises(ConfigError, match="no such file"):
        load_config("missing/file.toml")


def test_config_file_is_data_not_code(tmp_path):
    path = tmp_path / "evil.toml"
    path.write_text('name = "__import__(\'os\').system(\'touch pwned\')"\n' + to_toml(
        {k: v for k, v in MINIMAL.items()}))
    config = load_config(path)
    assert config.name.startswith("__import__")
    assert not (tmp_path / "pwned").exists()


# -- fuzzing -------------------------------------------------------------------------

scalars = st.one_of(
    st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.ascii_letters + "_-. ", max_size=12),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=5), scalars, max_size=3))


def _paths(data, prefix=()):
    for k, v in data.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


BASE = load_config("rashba_strip").data
PATHS = list(_paths(BASE)) + [("extra",), ("model", "extra"), ("geometry", "bottom")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3))
def test_fuzzed_configs_either_validate_or_fail_with_one_line_config_error(changes):
    data = copy.deepcopy(BASE)
    for path, value in changes:
        node = data
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
    try:
        resolved = validate(data, "fuzz")
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz: ")
    else:  # what validates is complete and writes back to TOML unchanged
        assert validate(tomllib.loads(to_toml(resolved))) == resolved


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_fuzzed_toml_text_gives_config_error_or_a_config(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "f.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_fuzzed_overrides_give_config_error_or_a_config(text):
    try:
        load_config("rashba_strip", [text])
    except ConfigError as exc:
        assert "\n" not in str(exc)


#: documented public solvers and their physical (positional) arguments; every argument
#: after these is an option and must be keyword-only (docs/user_guide.md, slab.md,
#: cross_section.md, kubo.md: ``solver(model, disorder, [geometry,] mu, field, *, ...)``)
PUBLIC_SOLVERS = {
    "solve_uniform": ("model", "disorder", "mu", "field"),
    "solve_slab": ("model", "disorder", "slab", "mu", "field"),
    "solve_cross_section": ("model", "disorder", "section", "mu", "field"),
    "solve_periodic_strip": ("model", "disorder", "strip", "mu", "field"),
    "kubo.solve_uniform_kubo": ("model", "disorder", "mu", "field"),
}


def test_api_exports():
    """Every name in mesokinetics.__all__ resolves (and ``import *`` gives exactly those), the
    workflow entry points are the io/workflow objects, __version__ is the packaged version,
    and each documented solver has the documented signature: the physical arguments,
    required and positional, then keyword-only options only."""
    import inspect
    import types

    assert len(set(mk.__all__)) == len(mk.__all__), "duplicate names in __all__"
    missing = [name for name in mk.__all__ if getattr(mk, name, None) is None]
    assert not missing, f"__all__ names that do not resolve: {missing}"
    namespace = {}
    exec("from mesokinetics import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(mk.__all__)
    for name in ("kubo", "models", "operators", "reference", "units"):
        assert isinstance(getattr(mk, name), types.ModuleType), name

    assert mk.load_config is load_config
    from mesokinetics.io.results import load_result
    from mesokinetics.workflow import run
    assert mk.run is run and mk.load_result is load_result
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert mk.__version__ == version

    wrong = {}
    for dotted, physical in PUBLIC_SOLVERS.items():
        solver = mk
        for part in dotted.split("."):
            solver = getattr(solver, part)
        assert callable(solver), dotted
        params = list(inspect.signature(solver).parameters.values())
        head, rest = params[: len(physical)], params[len(physical):]
        if tuple(p.name for p in head) != physical or any(
                p.kind is not p.POSITIONAL_OR_KEYWORD or p.default is not p.empty for p in head):
            wrong[dotted] = f"physical arguments {[(p.name, p.kind.name) for p in head]}"
            continue
        # options: keyword-only (or **numerics); none may be passed by position
        positional = [p.name for p in rest if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]
        if positional:
            wrong[dotted] = f"options that are not keyword-only: {positional}"
    assert not wrong, wrong


def test_lattice_model_kinds(tmp_path):
    """Lattice kinds validate with their Brillouin-zone numerics; a wannier90 hr_file is
    relative to the configuration file and recorded absolute; a missing file is a one-line
    ConfigError when the model is built."""
    from mesokinetics.io.wannier90 import write_hr
    from mesokinetics.models import RashbaLattice
    from mesokinetics.workflow import build

    ok = load_config(_bad(model={"kind": "rashba_lattice", "alpha": 0.1, "exchange": 0.05},
                          observables={"torque": True, "spin": True}, numerics={"bz_grid": 48}))
    assert ok["model.lattice_constant"] == 0.1 and ok["numerics.bz_refine"] == 3
    assert build(ok).model.dim == 2

    lat = RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=0.3)
    write_hr(tmp_path / "model_hr.dat", lat)
    data = _bad(model=dict(WANNIER), observables={"spin": True})
    (tmp_path / "w.toml").write_text(to_toml(data))
    config = load_config(tmp_path / "w.toml")
    assert config["model.hr_file"] == str((tmp_path / "model_hr.dat").resolve())
    model = build(config).model
    k = np.array([[0.3, -0.2]])
    assert np.allclose(model.hamiltonian(k), lat.hamiltonian(k), atol=1e-12)
    assert model.spin_matrices is not None
    (tmp_path / "model_hr.dat").unlink()
    with pytest.raises(ConfigError, match="model_hr.dat") as err:
        build(load_config(tmp_path / "w.toml"))
    assert "\n" not in str(err.value)
