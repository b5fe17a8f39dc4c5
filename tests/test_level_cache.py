"""Work shared between the energy nodes and the levels of an adaptive solve
(:class:`mesokinetics.sampling.RayMemo`, :class:`mesokinetics.response.uniform.LevelCache`)
gives the numbers of the computation without it, bit for bit; the keys cover every input
the cached functions read (a wrong key would be a silent wrong answer); a
:class:`UniformResponse` pickles after ``conductivity()`` with the same numbers.
"""

from __future__ import annotations

import pickle
from dataclasses import fields, replace

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics import sampling
from mesokinetics.models import ParabolicBand, RashbaFerromagnet
from mesokinetics.numerics import Numerics
from mesokinetics.response.drivers import bulk_reference
from mesokinetics.response.uniform import LevelCache, UniformResponse
from mesokinetics.sampling import RayMemo, find_ray_roots, ray_directions, ray_memo, rays

# the 100 K window's bottom nodes and the ferromagnet's gap x tau = 6 warn; not the subject
pytestmark = pytest.mark.filterwarnings("ignore::mesokinetics.ValidityWarning")

RASHBA = RashbaFerromagnet(mass=1.0, alpha=0.1)
RASHBA_DIS = mk.PointDisorder.from_tau(RASHBA, 0.05, 100.0)
FM = RashbaFerromagnet(mass=1.0, alpha=0.05, exchange=0.1, magnetization=(1, 0, 0))
FM_DIS = mk.PointDisorder.from_mean_free_path(FM, 0.3, 20.0)

#: another valid value of every Numerics field (the test below fails when a field is
#: added without an entry here: its effect on the caches must then be decided)
OTHER = {"angles": 24, "polar": 12, "azimuth": 8, "scan_points": 200, "radial_order": 6,
         "radial_panels": 2, "grazing_panels": 3, "sea_angles": 20, "bz_grid": 16,
         "bz_refine": 2, "bz_contour_points": 32, "bz_chunk": 4096, "bz_cell_points": 1}
#: the only field find_ray_roots reads (RayMemo.roots keys on it)
ROOT_FIELDS = {"scan_points"}


def bitwise(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def same_roots(a, b) -> bool:
    return (bitwise(a.ray, b.ray) and bitwise(a.band, b.band) and bitwise(a.radius, b.radius)
            and a.k_scan == b.k_scan)


def test_other_values_cover_every_numerics_field():
    assert set(OTHER) == {f.name for f in fields(Numerics)}
    base = Numerics(angles=16)
    for name, value in OTHER.items():
        assert getattr(replace(base, **{name: value}), name) != getattr(base, name)


@pytest.mark.parametrize("name", sorted(OTHER))
def test_root_memo_key_covers_the_numerics(name):
    """Primed at one numerics, the memo answers a call at numerics with one field changed
    exactly as a computation without memo does; only ``scan_points`` is a new key."""
    base = Numerics(angles=16)
    changed = replace(base, **{name: OTHER[name]})
    dirs, _ = ray_directions(2, base)
    memo = RayMemo(FM)
    with ray_memo(memo):
        first = find_ray_roots(FM, dirs, 0.3, base)
        misses = memo.stats["roots"][1]
        got = find_ray_roots(FM, dirs, 0.3, changed)
    assert same_roots(first, find_ray_roots(FM, dirs, 0.3, base))  # no memo active here
    assert same_roots(got, find_ray_roots(FM, dirs, 0.3, changed))
    assert (memo.stats["roots"][1] > misses) == (name in ROOT_FIELDS)


def test_root_memo_keys_on_rays_and_energy_bytes():
    num = Numerics(angles=16)
    dirs, _ = ray_directions(2, num)
    memo = RayMemo(FM)
    with ray_memo(memo):
        a = find_ray_roots(FM, dirs, 0.3, num)
        assert find_ray_roots(FM, dirs, np.float64(0.3), num) is a  # same bytes: a hit
        b = find_ray_roots(FM, dirs, 0.3 + 1e-15, num)
        c = find_ray_roots(FM, dirs[::-1].copy(), 0.3, num)
    assert memo.stats["roots"] == [1, 3]
    assert same_roots(b, find_ray_roots(FM, dirs, 0.3 + 1e-15, num))
    assert same_roots(c, find_ray_roots(FM, dirs[::-1].copy(), 0.3, num))
    # shared results are read-only: a caller writing into one would raise, not corrupt
    assert not a.radius.flags.writeable and not a.ray.flags.writeable


def test_energy_grid_memo_is_keyed_by_rays_and_radii():
    dirs, _ = ray_directions(2, Numerics(angles=16))
    radii = np.linspace(0.0, 2.0, 50)
    memo = RayMemo(FM)
    with ray_memo(memo):
        e1 = rays._energies_on_rays(FM, dirs, radii)
        assert rays._energies_on_rays(FM, dirs, radii.copy()) is e1
        e2 = rays._energies_on_rays(FM, dirs, radii * (1 + 1e-12))
    assert memo.stats["energies"] == [1, 2]
    assert bitwise(e1, rays._energies_on_rays(FM, dirs, radii))
    assert bitwise(e2, rays._energies_on_rays(FM, dirs, radii * (1 + 1e-12)))


def test_memo_serves_only_its_model_inside_its_block_and_is_bounded():
    num = Numerics(angles=16)
    dirs, _ = ray_directions(2, num)
    memo = RayMemo(FM, max_bytes=20_000)
    with ray_memo(memo):
        find_ray_roots(RASHBA, dirs, 0.05, num)  # another model: not memoized
        assert (memo.hits, memo.misses) == (0, 0)
        for e in np.linspace(0.25, 0.35, 6):
            find_ray_roots(FM, dirs, float(e), num)
        assert 0 < memo.bytes <= memo.max_bytes
    counts = (memo.hits, memo.misses)
    assert memo.stats["roots"] == [0, 6]
    find_ray_roots(FM, dirs, 0.25, num)  # outside the block: not active
    assert (memo.hits, memo.misses) == counts


def test_thermal_window_shares_ray_grids_bit_for_bit(monkeypatch):
    """The nodes of a 100 K window share their scan grids through the memo of the level;
    with the memo emptied (max_bytes 0) every number is the same, bit for bit."""
    kw = dict(temperature=100.0, energy_points=6, angles=16, radial_order=6, tol=None)
    made = []

    def spy(model, max_bytes=None):
        memo = RayMemo(model) if max_bytes is None else RayMemo(model, max_bytes)
        made.append(memo)
        return memo

    # the memo of the call (drivers._uniform) or of the solve's LevelCache, whichever
    # the driver uses
    import mesokinetics.response.uniform as uniform_module

    for where in (sampling, uniform_module):
        monkeypatch.setattr(where, "RayMemo", spy)
    r = mk.solve_uniform(RASHBA, RASHBA_DIS, 0.05, (1e-3, 0.0), **kw)
    assert made and made[0].hits > 0  # the memo is exercised: this test can fail
    for where in (sampling, uniform_module):
        monkeypatch.setattr(where, "RayMemo", lambda model, max_bytes=0: RayMemo(model, 0))
    ref = mk.solve_uniform(RASHBA, RASHBA_DIS, 0.05, (1e-3, 0.0), **kw)
    for a, b in zip(r.nodes, ref.nodes):
        assert bitwise(a.sea.k, b.sea.k) and bitwise(a.sea.weight, b.sea.weight)
        assert (a.solution is None) == (b.solution is None)
        if a.solution is not None:  # the nodes below the band bottom have no shell
            assert bitwise(a.solution.shell.k, b.solution.shell.k)
            assert bitwise(a.solution.g, b.solution.g)
    sy = ops.spin(RASHBA, "y")
    for part in ("intraband", "intrinsic", "disorder"):
        assert bitwise(getattr(r.conductivity(), part), getattr(ref.conductivity(), part))
        assert bitwise(getattr(r.density(sy), part), getattr(ref.density(sy), part))


def _bulk_inputs():
    return dict(model=FM, disorder=FM_DIS, mu=0.3, field=np.array([1e-3, 0.0]),
                temperature=0.0, energy_points=24, num=Numerics(angles=32, sea_angles=16),
                grazing_axis=1)


def test_bulk_key_covers_every_input():
    cache = LevelCache(FM)
    base = _bulk_inputs()
    key = cache.bulk_key(**base)
    assert cache.bulk_key(**{**base, "field": base["field"].copy()}) == key
    changes = [{"num": replace(base["num"], **{n: v})} for n, v in OTHER.items()]
    changes += [{"mu": 0.3 + 1e-12}, {"field": np.array([1e-3, 1e-9])}, {"temperature": 1.0},
                {"energy_points": 12}, {"grazing_axis": 0}, {"grazing_axis": None},
                {"disorder": mk.PointDisorder(FM_DIS.gamma)}]  # another object: not reused
    for change in changes:
        assert cache.bulk_key(**{**base, **change}) != key, change
    assert cache.bulk_key(**{**base, "model": RASHBA}) is None  # another model: no reuse


def test_bulk_reference_reuses_levels_and_matches_uncached():
    """A level with the bulk inputs of an earlier one gets its objects; a level with
    other angles (its Fermi-sea rule unchanged: sea_angles) hits the ray memo and equals
    an uncached solve bit for bit."""
    base = _bulk_inputs()
    args = lambda num: (FM, FM_DIS, 0.3, base["field"], 0.0, 24, num, 1, "a strip")  # noqa: E731
    cache = LevelCache(FM)
    first = bulk_reference(*args(base["num"]), cache=cache)
    assert bulk_reference(*args(base["num"]), cache=cache) is first
    coarse = replace(base["num"], angles=24)
    hits = cache.rays.hits
    got, mfp = bulk_reference(*args(coarse), cache=cache)
    assert cache.rays.hits > hits  # the sea's rays: the same at both angles
    ref, ref_mfp = bulk_reference(*args(coarse))
    assert mfp == ref_mfp
    for a, b in zip(got.nodes + first[0].nodes, ref.nodes + bulk_reference(*args(base["num"]))[0].nodes):
        assert bitwise(a.solution.shell.k, b.solution.shell.k)
        assert bitwise(a.solution.shell.weight, b.solution.shell.weight)
        assert bitwise(a.solution.g, b.solution.g)
        assert bitwise(a.sea.k, b.sea.k) and bitwise(a.sea.weight, b.sea.weight)
    sz = ops.spin(FM, "z")
    assert bitwise(got.response(sz).intrinsic, ref.response(sz).intrinsic)


def test_single_band_sea_is_empty_without_a_search():
    model = ParabolicBand(mass=1.0, dim=3)
    num = Numerics(polar=8, azimuth=8)
    sea = sampling.sample_sea(model, 0.2, num)
    dirs, _ = ray_directions(3, num)
    searched = rays.ray_sea(model, 0.2, num, find_ray_roots(model, dirs, 0.2, num))
    assert bitwise(sea.k, searched.k) and bitwise(sea.weight, searched.weight)
    assert sea.k.shape == (0, 3)
    # two bands: the mixed region between the Rashba rings is sampled, as by the search
    num2 = Numerics(angles=16, radial_order=6)
    sea2 = sampling.sample_sea(RASHBA, 0.05, num2)
    dirs2, _ = ray_directions(2, num2)
    searched2 = rays.ray_sea(RASHBA, 0.05, num2, find_ray_roots(RASHBA, dirs2, 0.05, num2))
    assert len(sea2.weight) > 0
    assert bitwise(sea2.k, searched2.k) and bitwise(sea2.weight, searched2.weight)


def test_uniform_response_pickles_after_conductivity():
    r = mk.solve_uniform(FM, FM_DIS, 0.3, (1e-3, 0.0), angles=16, radial_order=6, tol=1e-2)
    sz, user = ops.spin(FM, "z"), (lambda k: np.broadcast_to(FM.spin_matrices[2], k.shape[:-1] + (2, 2)))
    before = (r.conductivity(), r.density(sz), r.response(user))
    back = pickle.loads(pickle.dumps(r))
    assert back.convergence is not None and back.convergence.levels
    # the evaluated responses travel (keyed for the unpickled model): no Fermi sea again
    # for the currents and the spin; the user callable is evaluated again
    seas = []
    real = UniformResponse._sea_responses

    def counted(self, todo, tick, scheduler):
        seas.append([op.name for op in todo])
        return real(self, todo, tick, scheduler)

    back._sea_responses = counted.__get__(back)
    after = (back.conductivity(), back.density(ops.spin(back.model, "z")), back.response(user))
    assert all("j_x" not in names and "s_z" not in names for names in seas)
    for a, b in zip(before, after):
        for part in ("intraband", "intrinsic", "gradient", "disorder", "total", "error"):
            assert bitwise(getattr(a, part), getattr(b, part)), part


# --------------------------------------------------------------------------------------
# Lattice Fermi seas shared between levels with the same sea numerics
# --------------------------------------------------------------------------------------

#: the Numerics fields the 2D/3D Brillouin-zone sea reads (BrillouinZone.sea_key)
SEA_FIELDS = {"bz_grid", "bz_refine", "bz_cell_points", "bz_chunk"}


def _qwz():
    from mesokinetics.models.lattice import QiWuZhang

    return QiWuZhang(mass=1.0)


@pytest.mark.parametrize("name", sorted(OTHER))
def test_lattice_sea_key_covers_what_the_sea_reads(name):
    """The key changes exactly with the fields the sea reads; where it does not change
    (bz_contour_points and the continuum fields), the sea built at the changed numerics
    is the same, bit for bit, so sharing it is exact."""
    model = _qwz()
    zone = sampling.sampler_of(model)
    base = Numerics(bz_grid=24)
    changed = replace(base, **{name: OTHER[name]})
    same_key = zone.sea_key(model, base) == zone.sea_key(model, changed)
    assert same_key == (name not in SEA_FIELDS)
    if same_key:
        a, b = zone.sea(model, 1.5, base), zone.sea(model, 1.5, changed)
        assert bitwise(a.k, b.k) and bitwise(a.weight, b.weight)


def test_adaptive_lattice_solve_shares_its_sea_bit_for_bit(monkeypatch):
    """The bz_contour_points levels of a 2D lattice solve keep the start's sea: the
    result is the same, bit for bit, as with no sharing, and those levels' nodes hold
    the start's Sea object."""
    model, disorder = _qwz(), mk.PointDisorder(gamma=0.05)
    shared = mk.solve_uniform(model, disorder, 1.5, (1.0, 0.0))
    conv = shared.convergence
    level = next(lev for lev in conv.levels if lev.axis.name == "bz_contour_points")
    coarse = [r for r in level.results[1:] if r is not None]
    assert coarse and all(r.nodes[0].sea is level.results[0].nodes[0].sea for r in coarse)
    monkeypatch.setattr(LevelCache, "sea_node", lambda self, m, e, n: (None, None))
    alone = mk.solve_uniform(model, disorder, 1.5, (1.0, 0.0))
    assert not any(r.nodes[0].sea is alone.nodes[0].sea for r in coarse)
    a, b = shared.conductivity("internal"), alone.conductivity("internal")
    assert bitwise(a.total, b.total) and bitwise(a.error, b.error)
    assert alone.convergence.numerics == conv.numerics
