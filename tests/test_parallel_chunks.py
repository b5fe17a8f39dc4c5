"""One solve on a Dask cluster (issue 14, item 5): the Fermi-sea chunks of a solve run
where ``scheduler`` says (``mesokinetics.parallel``) and give the serial numbers; the
stacked intrinsic traces equal the per-operator formula; bad schedulers fail clearly."""

import concurrent.futures as cf
import inspect
import pickle
import threading
import time
import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics import parallel
from mesokinetics.bands import Bands
from mesokinetics.cli import main
from mesokinetics.coherence import intrinsic_densities, intrinsic_density
from mesokinetics.models import POrbital, RashbaLattice
from mesokinetics.operators import in_eigenbasis_many
from mesokinetics.response import uniform as response_module
from mesokinetics.response.uniform import fermi_sea_chunk, portable_operators
from mesokinetics.topology import intrinsic_response

distributed = pytest.importorskip("distributed")

#: relative agreement asked of every distributed result against the serial one (the
#: chunks are summed in the serial order, so in practice they agree bit for bit)
RTOL = 1e-13
FIELD = (1e-3, 0.0)
#: sea points per chunk in these tests: several chunks per sea (the default is 32768)
CHUNK = 4000


def _uniform(model, mu, **kw):
    """solve_uniform, one solve (no tol refinement when the solver has it: fast)."""
    if "tol" in inspect.signature(mk.solve_uniform).parameters:
        kw.setdefault("tol", None)
    return mk.solve_uniform(model, mk.PointDisorder(1e-2), mu, FIELD, **kw)


def _orbital_model():
    return POrbital(orbital_rashba=0.2, spin_orbit=0.1, exchange=0.1, magnetization=(1, 0, 1))


def _observables(model):
    return ([ops.spin(model, a) for a in "xyz"] + [ops.orbital(model, a) for a in "xyz"]
            + [ops.spin_current(model, "z", "y"), ops.orbital_current(model, "z", "y")])


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def solved():
    """A 6-band p-orbital lattice (spin and orbital moments), its T = 0 solve (19176 sea
    points: 5 chunks of CHUNK) and the serial numbers."""
    model = _orbital_model()
    with warnings.catch_warnings():  # a small gap x tau on this shell: irrelevant here
        warnings.simplefilter("ignore")
        r = _uniform(model, 0.0, bz_grid=12)
    assert len(r.nodes[0].sea.weight) > 4 * CHUNK
    return r, _numbers(r, None)


def _numbers(r, scheduler, progress=None):
    """Conductivity (all parts) and the responses of the observables, evaluated afresh."""
    r._evaluated.clear()
    original = response_module.SEA_CHUNK
    response_module.SEA_CHUNK = CHUNK
    try:
        parts = r.responses(_observables(r.model), progress=progress, scheduler=scheduler)
        cond = r.conductivity()
    finally:
        response_module.SEA_CHUNK = original
    rows = [cond.intraband, cond.intrinsic, cond.disorder, cond.total]
    rows += [np.r_[p.intraband, p.intrinsic, p.disorder] for p in parts]
    return np.concatenate([np.ravel(x) for x in rows])


def _agree(a, b):
    assert np.max(np.abs(a - b)) <= RTOL * np.max(np.abs(a)), np.max(np.abs(a - b))


def test_dask_client_threads_and_address_give_the_serial_numbers(solved, cluster):
    r, serial = solved
    assert np.all(np.isfinite(serial)) and np.max(np.abs(serial)) > 0
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        _agree(serial, _numbers(r, pool))
    with distributed.Client(cluster, set_as_default=False) as client:
        _agree(serial, _numbers(r, client))
    seen = []
    _agree(serial, _numbers(r, cluster.scheduler_address,
                            progress=lambda d, t: seen.append((d, t))))
    # every chunk (5) and the shell reported, in order; the client made here is closed
    assert seen == [(i, 6) for i in range(1, 7)]
    assert not parallel._OPEN


def test_solve_uniform_keeps_the_scheduler_and_thermal_nodes_are_tasks(cluster, monkeypatch):
    """scheduler= of solve_uniform: kept on the result, used by responses(); at T > 0
    the chunks of all energy nodes are tasks of one pass."""
    model = RashbaLattice(alpha=0.1, exchange=0.1, magnetization=(1, 0, 1),
                          lattice_constant=0.3)
    monkeypatch.setattr(response_module, "SEA_CHUNK", 3000)
    kw = dict(bz_grid=32, temperature=300.0, energy_points=4)
    serial = _uniform(model, 1.0, **kw)
    remote = _uniform(model, 1.0, scheduler=cluster.scheduler_address, **kw)
    assert remote.scheduler == cluster.scheduler_address
    wanted = [ops.spin(model, a) for a in "xyz"] + [ops.velocity(model, 1)]
    for a, b in zip(serial.responses(wanted) + [serial.conductivity()],
                    remote.responses(wanted) + [remote.conductivity()]):
        _agree(np.ravel(a.total), np.ravel(b.total))
        _agree(np.ravel(a.intrinsic), np.ravel(b.intrinsic))
    # what a pickle of the result keeps: an address, not a pool of this process
    assert remote.__getstate__()["scheduler"] == cluster.scheduler_address
    with cf.ThreadPoolExecutor(1) as pool:
        remote.scheduler = pool
        assert remote.__getstate__()["scheduler"] is None and remote.scheduler is pool


def test_intrinsic_response_and_scans_on_a_cluster(cluster):
    model = RashbaLattice(alpha=0.1, exchange=0.1, magnetization=(1, 0, 1),
                          lattice_constant=0.3)
    currents = [ops.charge_current(model, i) for i in range(2)] + [ops.spin(model, "z")]
    num = mk.Numerics(bz_grid=32, bz_chunk=2000)
    serial = intrinsic_response(model, 1.0, currents, num)
    with distributed.Client(cluster, set_as_default=False) as client:
        _agree(serial, intrinsic_response(model, 1.0, currents, num, scheduler=client))
        mus = [0.9, 1.0, 1.1]
        for sea_grid in (None, 16):
            a = mk.scan_fermi_level(model, mk.PointDisorder(1e-2), mus, FIELD, bz_grid=24,
                                    bz_chunk=3000, sea_grid=sea_grid)
            b = mk.scan_fermi_level(model, mk.PointDisorder(1e-2), mus, FIELD, bz_grid=24,
                                    bz_chunk=3000, sea_grid=sea_grid, scheduler=client)
            _agree(a.conductivity().intrinsic, b.conductivity().intrinsic)
            _agree(a.response(currents[2]).intrinsic, b.response(currents[2]).intrinsic)


def test_the_chunk_task_and_its_arguments_pickle():
    """fermi_sea_chunk is module-level and its arguments pickle with the standard pickle
    (the charge currents travel as their factory: their lambdas would not), so a process
    pool or a process-based Dask worker can run it, with the same numbers."""
    model = _orbital_model()
    wanted = _observables(model) + [ops.charge_current(model, 0), ops.velocity(model, 1)]
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(wanted[-1])  # why portable_operators exists
    args = (model, portable_operators(wanted, model), 0.0,
            np.random.default_rng(1).uniform(-10, 10, (300, 2)), np.full(300, 1e-3))
    task, *copied = pickle.loads(pickle.dumps((fermi_sea_chunk, *args)))
    assert task is fermi_sea_chunk
    here = fermi_sea_chunk(*args)
    there = task(*copied)
    assert here.shape == (len(wanted), 2)
    np.testing.assert_array_equal(here, there)
    # the same numbers as the Operators themselves, one at a time
    bands = Bands(model, args[3])
    literal = [intrinsic_density(bands, args[4], 0.0, o) for o in in_eigenbasis_many(wanted, bands)]
    np.testing.assert_allclose(here, literal, rtol=1e-12, atol=1e-14 * np.max(np.abs(literal)))
    lattice = RashbaLattice(alpha=0.1)
    assert np.array_equal(pickle.loads(pickle.dumps(lattice)).hamiltonian(args[3]),
                          lattice.hamiltonian(args[3]))


@pytest.mark.parametrize("n_ops", [1, 4, 8])
def test_stacked_intrinsic_densities_equal_the_per_operator_formula(n_ops):
    model = _orbital_model()
    rng = np.random.default_rng(n_ops)
    bands = Bands(model, rng.uniform(-10, 10, (1500, 2)))
    weight = rng.uniform(0.5, 1.5, 1500) * 1e-3
    wanted = _observables(model)[:n_ops]
    eig = in_eigenbasis_many(wanted, bands)
    stacked = intrinsic_densities(bands, weight, 0.1, eig)
    literal = np.array([intrinsic_density(bands, weight, 0.1, o) for o in eig])
    scale = np.max(np.abs(literal))
    assert scale > 0
    assert np.max(np.abs(stacked - literal)) <= 1e-13 * scale
    assert intrinsic_densities(bands, weight, 0.1, []).shape == (0, 2)
    assert np.array_equal(intrinsic_densities(Bands(model, np.zeros((0, 2))), weight[:0], 0.1, eig),
                          np.zeros((n_ops, 2)))


def test_map_chunks_returns_in_order_and_stops_at_the_first_error():
    def slow_square(delay, x):
        time.sleep(delay)
        if x == 13:
            raise ArithmeticError("thirteen")
        return x * x

    # the first chunks finish last: the results still come back in the chunks' order
    chunks = [(0.05 * (4 - i), i) for i in range(5)]
    seen = []
    with cf.ThreadPoolExecutor(max_workers=5) as pool:
        assert parallel.map_chunks(slow_square, chunks, scheduler=pool,
                                   progress=lambda d, t: seen.append((d, t))) == [0, 1, 4, 9, 16]
        assert seen == [(i, 5) for i in range(1, 6)]
        with pytest.raises(ArithmeticError, match="thirteen"):
            parallel.map_chunks(slow_square, [(0, 1), (0, 13), (0, 2)], scheduler=pool)
    assert parallel.map_chunks(pow, [(2, 3)], shared=(), scheduler=None) == [8]
    assert parallel.map_chunks(pow, [(3,), (4,)], shared=(2,)) == [8, 16]
    with parallel.executor(None) as ex:
        assert isinstance(ex, parallel.SerialExecutor) and ex.submit(pow, 2, 5).result() == 32


def test_an_open_connection_is_reused_and_closed_once(cluster):
    address = cluster.scheduler_address
    with parallel.connected(address) as outer:
        with parallel.connected(address) as inner:
            assert inner is outer
        assert parallel.map_chunks(pow, [(2, 3), (2, 4)], scheduler=address) == [8, 16]
        assert outer.status == "running"
    assert outer.status in ("closed", "closing") and not parallel._OPEN
    with parallel.executor(address) as ex:
        assert ex.submit(pow, 3, 2).result() == 9


def test_bad_schedulers_name_the_argument_and_the_allowed_values():
    model = RashbaLattice(alpha=0.1, exchange=0.1, lattice_constant=0.3)
    with pytest.raises(TypeError, match=r"scheduler must be None .*concurrent.futures.Executor"):
        _uniform(model, 1.0, bz_grid=8, scheduler=3)
    with pytest.raises(parallel.SchedulerError,
                       match=r"scheduler 'not an address': not a scheduler address .*tcp://"):
        intrinsic_response(model, 1.0, ops.spin(model, "z"), scheduler="not an address")
    with pytest.raises(ValueError, match="may also be None"):  # SchedulerError is a ValueError
        mk.scan_fermi_level(model, mk.PointDisorder(1e-2), [1.0], FIELD, scheduler="x")
    with pytest.raises(parallel.SchedulerError, match="cannot reach the Dask scheduler"):
        parallel.connect("tcp://127.0.0.1:1", timeout="0.5s")
    from mesokinetics.sweep import SweepError, check_scheduler  # still importable there

    with pytest.raises(SweepError, match=r"^--scheduler 'x': not a scheduler address"):
        check_scheduler("x")


def test_run_with_a_bad_scheduler_exits_2_before_anything_is_written(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "rashba_strip", "--scheduler", "not-an-address", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler 'not-an-address'" in err and "tcp://" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_progress_callbacks_run_in_the_calling_thread(solved, cluster):
    r, _ = solved
    threads = set()
    _numbers(r, cluster.scheduler_address,
             progress=lambda d, t: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}
