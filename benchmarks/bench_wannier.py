"""Per-k-point cost of Wannier models against the eigh floor and WannierBerri (issue 14).

A plain script: ``python benchmarks/bench_wannier.py [--grid 16] [--repeat 3] [--quick]
[--dask [--workers 2]]``.

1. bcc Fe (``../shared/data/wannier90/Fe_tb.dat``, 18 Wannier functions, E_F = 17.6255 eV):
   the anomalous Hall conductivity (the intrinsic Fermi-sea term of the three charge
   currents) on WannierBerri's Gamma-centred n^3 grid, through
   ``topology.intrinsic_response`` with an explicit ``Sea`` (the code path of
   ``solve_uniform``'s Fermi sea), in the "atomic" convention (WannierBerri's convention I,
   the same numbers to rounding; tests/test_wannier_real.py). Time per k point, its
   parts (h(k), v(k), eigh, rotation of the velocities to the eigenbasis, the intrinsic
   traces), and the same mesh in WannierBerri (``calculators.static.AHC``, no external
   terms, serial, no symmetry). Skipped with a message when the data or WannierBerri are
   absent.
2. The Wannier ferromagnet film preset's model (2 bands, nearest neighbours): the same
   per-point parts on 32768 random k points, for the four observables of the preset
   (three charge currents and the s_z current along x).
3. With ``--dask``: Fermi seas evaluated serially and on a local Dask cluster of
   ``--workers`` single-threaded worker processes (``scheduler=client``): the bulk of the
   film preset (``solve_uniform`` at bz_grid 32, 1.29 million sea points, 40 chunks of
   ``SEA_CHUNK``, light: 0.1 s of work per chunk) and bcc Fe (``intrinsic_response`` on the
   ``--grid`` Gamma grid in 8 chunks, heavy), with Dask's worker defaults and with its
   profiler and malloc trimming off: wall times, speed-ups and the largest difference.
   Wall time, since that is what a cluster buys; run it on an idle machine.

Everything runs on one thread (OMP/OPENBLAS/MKL_NUM_THREADS = 1 unless set): the figures
are serial costs. Times are the best of ``--repeat`` runs of CPU time (process time),
which is less sensitive than wall time to other jobs on the machine; the load average is
printed with the results.

The floor: ``numpy.linalg.eigh`` of the stacked h(k), the one operation every method
needs per k point; the ratio "ours / eigh" is how far the whole evaluation is from it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # serial figures (set before numpy loads BLAS)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "wannier90"
FE_EF = 17.6255  # eV, ../shared/data/wannier90/README.md


def best(f, repeat):
    """(best CPU seconds over ``repeat`` runs, last result)."""
    t, out = np.inf, None
    for _ in range(repeat):
        c = time.process_time()
        out = f()
        t = min(t, time.process_time() - c)
    return t, out


def load():
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without getloadavg
        return float("nan")


def parts_per_point(model, k, operators, mu, repeat):
    """CPU microseconds per k point of each step of one Fermi-sea chunk."""
    from mesokinetics.bands import Bands
    from mesokinetics.coherence import intrinsic_densities, intrinsic_density
    from mesokinetics.operators import in_eigenbasis_many
    from mesokinetics.response.uniform import fermi_sea_chunk, portable_operators

    w = np.ones(len(k))
    us = 1e6 / len(k)
    t_h, h = best(lambda: model.hamiltonian(k), repeat)
    t_v, _ = best(lambda: model.velocity(k), repeat)
    t_eigh, _ = best(lambda: np.linalg.eigh(h), repeat)
    t_bands, bands = best(lambda: Bands(model, k), repeat)

    def rotate():
        return Bands(model, k).velocity_eig  # includes the diagonalization: minus t_bands below

    t_rot, _ = best(rotate, repeat)
    t_ops, op_eig = best(lambda: in_eigenbasis_many(operators, bands), repeat)
    t_one, _ = best(lambda: [intrinsic_density(bands, w, mu, o) for o in op_eig], repeat)
    t_int, _ = best(lambda: intrinsic_densities(bands, w, mu, op_eig), repeat)
    portable = portable_operators(operators, model)

    # what one Fermi-sea chunk of solve_uniform / intrinsic_response does (the task a
    # scheduler distributes)
    t_all, _ = best(lambda: fermi_sea_chunk(model, portable, mu, k, w), repeat)
    return {"h(k)": t_h * us, "v(k)": t_v * us, "eigh": t_eigh * us,
            "Bands (h, check, eigh)": t_bands * us, "v(k), U^+ v U (all axes)": (t_rot - t_bands) * us,
            f"{len(operators)} operators to eigenbasis": t_ops * us,
            f"{len(operators)} traces, one at a time": t_one * us,
            f"{len(operators)} traces, stacked": t_int * us, "whole chunk": t_all * us}


def print_parts(title, parts):
    print(title)
    for name, value in parts.items():
        print(f"  {name:30s} {value:9.2f} us/point")
    print(f"  {'whole chunk / eigh floor':30s} {parts['whole chunk'] / parts['eigh']:9.2f}")


@contextlib.contextmanager
def _chdir(path):
    """contextlib.chdir of Python >= 3.11."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def bench_iron(grid, repeat):
    import mesokinetics as mk
    from mesokinetics import operators as ops
    from mesokinetics.io.wannier90 import read_wannier90
    from mesokinetics.sampling.brillouin import fractional_grid
    from mesokinetics.sampling.shell import Sea
    from mesokinetics.topology import intrinsic_response

    if not (DATA / "Fe_tb.dat").exists():
        print(f"bcc Fe: skipped ({DATA} is absent)")
        return
    model = read_wannier90(DATA / "Fe", convention="atomic")
    n_pts = grid**3
    k = fractional_grid(grid, 3) @ model.reciprocal_vectors
    sea = Sea(FE_EF, k, np.full(n_pts, 1.0 / (n_pts * model.cell_volume)))
    currents = [ops.charge_current(model, i) for i in range(3)]
    t_ours, r = best(lambda: intrinsic_response(model, FE_EF, currents, sea=sea), repeat)
    sig = mk.units.conductivity_in(r, 3, "S/cm")
    ours = np.array([sig[1, 2], sig[2, 0], sig[0, 1]])
    t_eigh, _ = best(lambda: np.linalg.eigh(model.hamiltonian(k[:4096])), repeat)
    floor = t_eigh / min(4096, n_pts) * 1e6
    per_k = t_ours / n_pts * 1e6
    print(f"bcc Fe AHC, {grid}^3 Gamma grid ({n_pts} k points, 18 bands, load {load():.1f}):")
    print(f"  mesokinetics intrinsic_response: {t_ours:.2f} s CPU = {per_k:.1f} us/k point "
          f"({per_k / floor:.2f} x the eigh floor {floor:.1f} us); sigma (yz, zx, xy) = "
          f"{np.round(ours, 4).tolist()} S/cm")
    print_parts(f"  parts of one {min(4096, n_pts)}-point chunk:",
                parts_per_point(model, k[:4096], currents, FE_EF, repeat))
    try:
        import wannierberri as wb
        from wannierberri.system.system_tb import get_system_tb
    except ImportError:
        print("  WannierBerri: skipped (pip install wannierberri to compare)")
        return
    with tempfile.TemporaryDirectory() as tmp, _chdir(tmp), \
            contextlib.redirect_stdout(io.StringIO()):  # WannierBerri writes files and logs
        system = get_system_tb(tb_file=str(DATA / "Fe_tb.dat"), berry=False)
        wgrid = wb.Grid(system, NKdiv=1, NKFFT=grid, use_symmetry=False)
        calc = {"ahc": wb.calculators.static.AHC(Efermi=np.array([FE_EF]),
                                                 kwargs_formula={"external_terms": False})}

        def peer():
            res = wb.run(system, grid=wgrid, calculators=calc, parallel=False,
                         use_irred_kpt=False, symmetrize=False, print_Kpoints=False)
            return np.asarray(res.results["ahc"].data).reshape(-1)[:3] / 100  # S/m -> S/cm

        c0, w0 = time.process_time(), time.perf_counter()
        theirs = peer()
        t_peer, w_peer = time.process_time() - c0, time.perf_counter() - w0
        for _ in range(repeat - 1):
            c0 = time.process_time()
            peer()
            t_peer = min(t_peer, time.process_time() - c0)
    peer_k = t_peer / n_pts * 1e6
    print(f"  WannierBerri {wb.__version__} AHC (no external terms, serial): {t_peer:.2f} s CPU "
          f"(first run {w_peer:.2f} s wall) = {peer_k:.1f} us/k point ({peer_k / floor:.2f} x "
          f"the eigh floor); sigma = {np.round(theirs, 4).tolist()} S/cm")
    print(f"  ours / WannierBerri per k point: {per_k / peer_k:.2f}; max |difference| = "
          f"{np.max(np.abs(ours - theirs)):.2e} S/cm")


def film_model():
    """The Wannier ferromagnet film preset's model, its mu (eV) and its four observables."""
    from mesokinetics import operators as ops
    from mesokinetics.io.config import load_config
    from mesokinetics.io.wannier90 import read_hr

    config = load_config("wannier_ferromagnet_film")
    spec = config.data["model"]
    model = read_hr(spec["hr_file"], [spec[a] for a in ("a1", "a2", "a3")], dim=spec["dim"],
                    spins=spec["spins"] or None)
    observables = [ops.charge_current(model, i) for i in range(3)] + [
        ops.spin_current(model, "z", "x")]
    return model, config.data["conditions"]["mu"], observables


def bench_film(repeat):
    model, mu, observables = film_model()
    k = np.random.default_rng(0).uniform(-0.5, 0.5, (32768, 3)) @ model.reciprocal_vectors
    print_parts(f"Wannier ferromagnet film model ({model.size} bands, {len(model.R)} R vectors), "
                f"a 32768-point Fermi-sea chunk, load {load():.1f}:",
                parts_per_point(model, k, observables, mu, repeat))


def bench_dask(workers, repeat, grid):
    """Fermi seas serially and on a local Dask cluster (wall time): the film preset's bulk
    (light chunks: 0.1 s of work for 1 MB of k points each) and bcc Fe (heavy chunks)."""
    import inspect
    import warnings

    import mesokinetics as mk
    from mesokinetics import operators as ops
    from mesokinetics.response.uniform import SEA_CHUNK

    try:
        import dask
        import distributed
    except ImportError:
        print("Dask: skipped (pip install 'mesokinetics[dask]' to measure it)")
        return
    model, mu, observables = film_model()
    options = {"tol": None} if "tol" in inspect.signature(mk.solve_uniform).parameters else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = mk.solve_uniform(model, mk.PointDisorder(1e-3), mu, (1e-3, 0.0, 0.0), bz_grid=32,
                             **options)
    n_sea = sum(len(n.sea.weight) for n in r.nodes)

    def film(scheduler):
        r._evaluated.clear()  # evaluate again (a pass is otherwise cached)
        out = r.responses(observables, scheduler=scheduler)
        # the sea gives the intrinsic part (zero here: no spin-orbit coupling), the shell
        # the rest; all of it is compared
        return np.array([[x.intraband, x.intrinsic, x.disorder] for x in out])

    cases = [(f"Film preset bulk Fermi sea ({n_sea} points, {len(observables)} observables, "
              f"{-(-n_sea // SEA_CHUNK)} chunks of {SEA_CHUNK})", film)]
    if (DATA / "Fe_tb.dat").exists():
        from mesokinetics.io.wannier90 import read_wannier90
        from mesokinetics.sampling.brillouin import fractional_grid
        from mesokinetics.sampling.shell import Sea
        from mesokinetics.topology import intrinsic_response

        fe = read_wannier90(DATA / "Fe", convention="atomic")
        n_pts = grid**3
        sea = Sea(FE_EF, fractional_grid(grid, 3) @ fe.reciprocal_vectors,
                  np.full(n_pts, 1.0 / (n_pts * fe.cell_volume)))
        fe_ops = [ops.charge_current(fe, i) for i in range(3)] + [ops.spin_current(fe, "z", "x")]
        fe_num = mk.Numerics(bz_chunk=-(-n_pts // 8))

        def iron(scheduler):
            return intrinsic_response(fe, FE_EF, fe_ops, fe_num, sea=sea, scheduler=scheduler)

        cases.append((f"bcc Fe, intrinsic_response on the {grid}^3 grid ({n_pts} points, "
                      f"{len(fe_ops)} operators, 8 chunks)", iron))

    def timed(f, scheduler):
        t = np.inf
        for _ in range(repeat):
            w0 = time.perf_counter()
            out = f(scheduler)
            t = min(t, time.perf_counter() - w0)
        return t, out

    # Dask's worker defaults cost this work 20-40 % per chunk: the statistical profiler
    # takes the GIL every 10 ms, and MALLOC_TRIM_THRESHOLD_ = 64 KiB (set by the nanny)
    # returns large temporaries to the kernel after each use, so every allocation faults
    # its pages in again; the second cluster turns both off (a cluster setting)
    tuned = {"distributed.worker.profile.enabled": False,
             "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 1 << 30}
    serial = {}
    for title, f in cases:
        serial[title] = timed(f, None)
    print(f"Fermi seas serially and on a local Dask cluster of {workers} single-threaded "
          f"worker processes (scheduler and client in this process), wall time, best of "
          f"{repeat}:")
    results = {title: [] for title, _ in cases}
    for label, settings in (("Dask defaults", {}), ("profiler off, no malloc trim", tuned)):
        with dask.config.set(settings), distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None) as cluster:
            with distributed.Client(cluster, set_as_default=False) as client:
                client.wait_for_workers(workers)  # workers up before the clock runs
                for title, f in cases:
                    results[title].append((label, timed(f, client), load()))
    for title, _ in cases:
        t_serial, ref = serial[title]
        print(f"  {title}: serial {t_serial:.2f} s")
        for label, (t_dask, out), busy in results[title]:
            diff = np.max(np.abs(out - ref)) / max(np.max(np.abs(ref)), 1e-300)
            print(f"    {label}: {t_dask:.2f} s, speed-up {t_serial / t_dask:.2f}, max relative "
                  f"difference {diff:.1e} (load {busy:.1f})")

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=16, help="Fe Gamma grid n (n^3 k points)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    parser.add_argument("--quick", action="store_true", help="grid 8, one run per timing")
    parser.add_argument("--dask", action="store_true",
                        help="also time Fermi seas (film preset, bcc Fe) on a local Dask cluster")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (--dask)")
    args = parser.parse_args(argv)
    grid, repeat = (8, 1) if args.quick else (args.grid, args.repeat)
    bench_film(repeat)
    bench_iron(grid, repeat)
    if args.dask:
        bench_dask(args.workers, repeat, grid)


if __name__ == "__main__":
    main()
