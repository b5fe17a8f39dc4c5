"""Run independent chunks of work somewhere: in this process, on any
``concurrent.futures`` executor, or on a Dask distributed cluster.

    >>> from mesokinetics.parallel import map_chunks
    >>> map_chunks(pow, [(2, 3), (3, 2), (2, 10)])
    [8, 9, 1024]

This module owns the ``scheduler`` argument of the solvers
(:func:`~mesokinetics.solve_uniform`, :func:`~mesokinetics.scan_fermi_level`,
:func:`~mesokinetics.topology.intrinsic_response`, ...) and of the command line's
``--scheduler`` option (``mesokinetics run`` and ``mesokinetics sweep``). A scheduler is

* ``None``: serial, in this process (the default);
* the address of a Dask scheduler, ``'tcp://host:8786'`` or ``'host:8786'``
  (:func:`check_scheduler`): connected for the duration of one call (10 s timeout) and
  closed after it; needs the ``distributed`` package (``pip install 'mesokinetics[dask]'``);
* a ``distributed.Client``: used as is, never closed here;
* any ``concurrent.futures.Executor`` (a thread or process pool,
  ``client.get_executor()``, ...): used as is, never shut down here.

:func:`map_chunks` returns the results in the order of the chunks, whatever the order the
workers finish in, so a caller that adds them up in that order does the serial loop's
additions: the numbers equal the serial run's bit for bit when the workers run the same
numpy build (a worker on another machine may differ in the last bits through its BLAS).
Chunk functions must be module-level (picklable by reference) and pure; their arguments
must pickle with the standard :mod:`pickle` for process pools (Dask uses cloudpickle).

Physics-neutral: nothing here knows about models or operators, and nothing here imports
the I/O, plotting or command-line layers (tests/test_architecture.py).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import re
import sys
import threading
from typing import Any, Callable, Iterator, Sequence

__all__ = ["SchedulerError", "SerialExecutor", "SCHEDULERS", "check_scheduler",
           "validate_scheduler", "connect", "connected", "executor", "map_chunks"]

#: the values a ``scheduler`` argument accepts (quoted by the error messages)
SCHEDULERS = ("None (serial, in this process), a Dask scheduler address such as "
              "'tcp://127.0.0.1:8786', a distributed.Client or a concurrent.futures.Executor")
#: how long to wait for a Dask scheduler before giving up (a Dask duration)
CONNECT_TIMEOUT = "10s"
INSTALL_HINT = "pip install 'mesokinetics[dask]'"

_ADDRESS = re.compile(r"(?:tcp|tls|inproc|ws|wss|ucx)://[^\s/:]+(?::[0-9]{1,5})?(?:/\S*)?"
                      r"|(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}")


class SchedulerError(ValueError):
    """A scheduler that cannot be used: not a scheduler address, unreachable, or the
    ``distributed`` package missing. The message is one line and names the argument."""


class SerialExecutor(cf.Executor):
    """A ``concurrent.futures`` executor that runs each call at submission, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


def check_scheduler(address: str, *, what: str = "scheduler") -> str:
    """A Dask scheduler address ('tcp://host:8786', 'host:8786', 'inproc://...'), stripped;
    else :class:`SchedulerError`. ``what`` names the argument in the message
    ('--scheduler' on the command line). Nothing is connected."""
    text = str(address).strip()
    if not _ADDRESS.fullmatch(text):
        # the command line takes addresses only; from Python the other forms are allowed
        also = "" if what.startswith("-") else f"; {what} may also be None, a " \
            "distributed.Client or a concurrent.futures.Executor"
        raise SchedulerError(f"{what} {address!r}: not a scheduler address (expected "
                             f"PROTOCOL://HOST:PORT or HOST:PORT, e.g. tcp://127.0.0.1:8786{also})")
    return text


def _is_client(obj) -> bool:
    """A ``distributed.Client``, recognized without importing distributed (optional: a
    user holding a client has imported it)."""
    module = sys.modules.get("distributed")
    return module is not None and isinstance(obj, module.Client)


def validate_scheduler(scheduler, *, what: str = "scheduler"):
    """``scheduler`` checked without connecting anything: None, a ``distributed.Client``
    and a ``concurrent.futures.Executor`` unchanged, an address stripped
    (:func:`check_scheduler`, :class:`SchedulerError` if it is none); any other value is a
    TypeError naming ``what`` and the allowed values. Solvers call it up front, so that a
    bad value fails before the work rather than at the first Fermi-sea pass."""
    if scheduler is None or isinstance(scheduler, cf.Executor) or _is_client(scheduler):
        return scheduler
    if isinstance(scheduler, str):
        return check_scheduler(scheduler, what=what)
    raise TypeError(f"{what} must be {SCHEDULERS}; got {type(scheduler).__name__} "
                    f"{scheduler!r:.80}")


def connect(address: str, *, what: str = "scheduler", timeout: str = CONNECT_TIMEOUT):
    """A ``distributed.Client`` connected to the Dask scheduler at ``address``; the caller
    closes it. :class:`SchedulerError` (one line) for a malformed address, a scheduler
    that does not answer within ``timeout``, or a missing ``distributed`` package. The
    client is not made the default Dask scheduler of this process (no global state
    outlives the call)."""
    address = check_scheduler(address, what=what)
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError(f"{what} needs the 'distributed' package: {INSTALL_HINT}") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SchedulerError(f"{what} {address}: cannot reach the Dask scheduler: "
                             f"{' '.join(str(exc).split())[:200]}") from None


#: clients opened by :func:`connected`, by address, with the number of with-blocks using
#: them: a nested block (the command line around a run, a run around its passes) reuses
#: the open client instead of connecting again
_OPEN: dict[str, list] = {}
_OPEN_LOCK = threading.Lock()


@contextlib.contextmanager
def connected(scheduler=None, *, what: str = "scheduler") -> Iterator[Any]:
    """``scheduler`` for one with-block, an address replaced by a client connected on
    entry and closed on exit; other values validated and passed through.

    While the block runs, every use of the same address in this process (a solver's
    ``scheduler='tcp://...'``, :func:`map_chunks`) reuses that client, so a caller that
    runs several passes (the observables and error estimates of one solve) connects once
    and the results keep the address, not a client that is closed afterwards."""
    scheduler = validate_scheduler(scheduler, what=what)
    if not isinstance(scheduler, str):
        yield scheduler
        return
    with _OPEN_LOCK:
        entry = _OPEN.get(scheduler)
        if entry is not None:
            entry[1] += 1
    if entry is None:
        entry = [connect(scheduler, what=what), 1]
        with _OPEN_LOCK:
            _OPEN.setdefault(scheduler, entry)
    try:
        yield entry[0]
    finally:
        with _OPEN_LOCK:
            entry[1] -= 1
            last = entry[1] == 0
            if last and _OPEN.get(scheduler) is entry:
                del _OPEN[scheduler]
        if last:
            entry[0].close()


@contextlib.contextmanager
def executor(scheduler=None, *, what: str = "scheduler") -> Iterator[cf.Executor]:
    """The ``concurrent.futures`` executor of a scheduler value, for one with-block:
    :class:`SerialExecutor` for None, ``client.get_executor(pure=False)`` for a client
    (for an address, of a client connected here and closed on exit), an executor itself
    (not shut down here). Errors as :func:`validate_scheduler` and :func:`connect`."""
    with connected(scheduler, what=what) as target:
        if target is None:
            yield SerialExecutor()
        elif isinstance(target, cf.Executor):
            yield target
        else:
            yield target.get_executor(pure=False)


def map_chunks(fn: Callable, chunks: Sequence[tuple], *, shared: tuple = (), scheduler=None,
               progress: Callable[[int, int], None] | None = None,
               what: str = "scheduler") -> list:
    """``[fn(*shared, *chunk) for chunk in chunks]``, run where ``scheduler`` says (module
    docstring), returned in the order of ``chunks``.

    fn : a module-level pure function (the same arguments give the same result wherever
        it runs)
    chunks : the argument tuples of the calls
    shared : arguments common to every call (e.g. a model and its operators): on Dask
        they are sent to the cluster once (``client.scatter``) instead of with every
        task; other executors get them with every call (threads share them for free)
    scheduler : None (serial, in this process), a Dask address, a ``distributed.Client``
        or a ``concurrent.futures.Executor``
    progress : optional callback progress(done, total) after each finished call, in the
        calling thread (in the order the calls finish)
    what : the argument's name in error messages

    The first exception of a call is raised here, after the calls not yet started are
    cancelled; so is KeyboardInterrupt. A client connected here for an address is closed
    before return (unless an enclosing :func:`connected` block holds it open).
    """
    chunks = [tuple(c) for c in chunks]
    shared = tuple(shared)
    total = len(chunks)
    scheduler = validate_scheduler(scheduler, what=what)
    if scheduler is None or total == 0:
        out = []
        for chunk in chunks:
            out.append(fn(*shared, *chunk))
            if progress is not None:
                progress(len(out), total)
        return out
    with connected(scheduler, what=what) as target:
        if isinstance(target, cf.Executor):
            return _map_executor(target, fn, chunks, shared, progress)
        return _map_dask(target, fn, chunks, shared, progress)


def _map_executor(pool: cf.Executor, fn, chunks, shared, progress) -> list:
    if isinstance(pool, cf.ProcessPoolExecutor):
        # a process pool pickles with the standard pickle, which cannot send lambdas or
        # local functions (cloudpickle, Dask's, can): say so once, before any work
        import pickle

        try:
            pickle.dumps((fn, shared))
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(f"a ProcessPoolExecutor cannot receive this work ({exc}); use a "
                            "thread pool or a Dask scheduler (which pickles with cloudpickle) "
                            "instead") from None
    futures = {pool.submit(fn, *shared, *chunk): i for i, chunk in enumerate(chunks)}
    out: list = [None] * len(chunks)
    try:
        for done, future in enumerate(cf.as_completed(futures), 1):
            out[futures[future]] = future.result()
            if progress is not None:
                progress(done, len(chunks))
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return out


def _map_dask(client, fn, chunks, shared, progress) -> list:
    from distributed import as_completed

    # hash=False: a fresh key per call, so that nothing is shared with (or released
    # together with) another caller's data of equal content
    sent = [client.scatter([obj], hash=False)[0] for obj in shared]
    futures = [client.submit(fn, *sent, *chunk, pure=False) for chunk in chunks]
    where = {future.key: i for i, future in enumerate(futures)}
    out: list = [None] * len(chunks)
    try:
        # loop=: the client is not the process's default one (connect, set_as_default=False)
        for done, future in enumerate(as_completed(futures, loop=client.loop), 1):
            out[where[future.key]] = future.result()
            if progress is not None:
                progress(done, len(chunks))
    finally:  # release the cluster's copies (cancels what has not run after an error)
        client.cancel(futures + sent)
    return out
