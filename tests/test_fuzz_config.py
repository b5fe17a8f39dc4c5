"""Fuzzed configurations (issue 16): random overrides of the schema's keys with wrong
types, huge integers, NaN and inf, Unicode digits, names and deep nesting, as a Python
mapping and as ``--set key=value`` text. Every outcome is a valid configuration (that
builds) or a one-line ConfigError, never another exception. Validation and build only:
nothing is solved (the disorder is given as gamma, so build samples no shell)."""

import math

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mesokinetics.io.config import MODEL_KINDS, SCHEMA, WALL_KEYS, WALLS, ConfigError, load_config, parse_override  # noqa: E402
from mesokinetics.workflow import build  # noqa: E402

PRESETS = ["rashba_strip", "fuchs_sondheimer_film", "massive_dirac_bulk",
           "rashba_ferromagnet_bulk", "orbital_texture_film", "wannier_ferromagnet_film",
           "rashba_wire_map", "notched_strip"]

KEYS = sorted({f"{s}.{k}" if s else k for s, keys in SCHEMA.items() for k in keys}
              | {f"model.{k}" for params in MODEL_KINDS.values() for k in params}
              | {f"geometry.{w}.{k}" for w in WALLS for k in WALL_KEYS}
              | {"model", "numerics", "geometry.bottom", "nosuch.key", "model.nosuch", ".x", "a..b"})


def _nested(depth):
    out = inner = []
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return out


def _pick(values):
    """sampled_from without repr() of the values (a 5000-digit int has none)."""
    return st.integers(0, len(values) - 1).map(lambda i: values[i])


UNICODE_DIGITS = st.sampled_from(["\u0662\u0666", "\uff11\uff12", "\u0967\u0966", "2_6", "1e3",
                                  "\u00b2", "\u2163", "0x10", "inf", "nan", "-0", "1\u00a0000"])

SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-10 ** 6, max_value=10 ** 6),
    _pick([10 ** 20, -10 ** 20, 10 ** 400, 10 ** 5000, 2 ** 63, -2 ** 63 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e-300, 1e308, -0.0, 5e-324]),
    st.text(max_size=12), UNICODE_DIGITS,
    st.sampled_from(["parabolic_band", "strip", "film", "uniform", "x", "y", "z", "up", "z_y",
                     "../../etc/passwd", "/dev/zero", "a\nb"]),
)

#: plausible values, so that many examples are valid and get built
PLAUSIBLE = st.one_of(st.integers(2, 40), st.floats(0.001, 50.0), st.booleans(),
                      st.sampled_from([0.0, 0.5, 1.0, [1e-3, 0.0], [1e-3, 0.0, 0.0], [0.0, 1.0, 0.0],
                                       "y", "z", "strip", "film", "uniform", ["z_y"], [],
                                       "wire", "periodic_strip", "circle", "rectangle", [8, 4],
                                       [[10.0, 20.0, 0.0, 10.0]], [[0.0, 100.0, 0.0, 50.0]]]))

VALUES = PLAUSIBLE | PLAUSIBLE | st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["a", "kind", "mass", "specularity"]),
                                            inner, max_size=3)),
    max_leaves=8,
) | _pick([_nested(50), _nested(3000), {"a": {"b": {"c": _nested(40)}}}])

TEXT = st.one_of(
    st.text(max_size=20), UNICODE_DIGITS, st.integers(2, 40).map(str), st.floats(0.001, 50.0).map(repr),
    _pick(["[" * 3000 + "]" * 3000, "9" * 5000, "1e999", "-inf", "nan", "[1e308, 1e308]",
                     "{a = 1}", "[[[[1]]]]", "\"x\"", "'", "true", "[0.001, 0]", "1_000", "+1"]),
)


def _outcome(preset, overrides):
    """load (and build with gamma disorder) or a one-line ConfigError; anything else fails."""
    try:
        config = load_config(preset, overrides)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    raw = config.to_dict()
    raw["disorder"] = {"gamma": 0.01}
    raw["model"].pop("hr_file", None) if raw["model"]["kind"] != "wannier90" else None
    try:
        build(load_config(raw))
    except ConfigError as exc:
        assert "\n" not in str(exc)


SETTINGS = settings(max_examples=140, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(preset=st.sampled_from(PRESETS),
       overrides=st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=3))
def test_mapping_overrides_give_a_config_or_a_config_error(preset, overrides):
    _outcome(preset, overrides)


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(preset=st.sampled_from(PRESETS),
       pairs=st.lists(st.tuples(st.sampled_from(KEYS) | st.text(max_size=8), TEXT),
                      min_size=1, max_size=3))
def test_set_text_gives_a_config_or_a_config_error(preset, pairs):
    try:
        overrides = dict(parse_override(f"{k}={v}") for k, v in pairs)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    _outcome(preset, overrides)


def _own_keys(preset):
    data = load_config(preset).data
    return sorted(f"{s}.{k}" for s, sec in data.items() if isinstance(sec, dict)
                  for k, v in sec.items() if not isinstance(v, dict))


OWN = {p: _own_keys(p) for p in PRESETS}


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), preset=st.sampled_from(PRESETS))
def test_one_override_of_an_existing_key(data, preset):
    key = data.draw(st.sampled_from(OWN[preset]))
    _outcome(preset, {key: data.draw(PLAUSIBLE | SCALARS)})
