"""The checks every example ends with: each prints one "check:" line (measured against
expected, the error and its tolerance) and the last line says whether all passed; a
failed check raises AssertionError, so an example that no longer reproduces its
reference exits non-zero (tests/test_examples.py runs them all)."""

from __future__ import annotations

CHECKS: list[tuple[str, bool]] = []


def check(what: str, error: float, tol: float, detail: str) -> None:
    """Record and print one check: ``error`` (>= 0) must not exceed ``tol`` (NaN fails)."""
    ok = bool(error <= tol)
    line = f"check: {what}: {detail}; error {error:.2e} vs tolerance {tol:.1e}: {'ok' if ok else 'FAILED'}"
    print(line)
    CHECKS.append((line, ok))


def finish_checks() -> None:
    """Final "check:" line; AssertionError listing the failed checks, if any."""
    failed = [line for line, ok in CHECKS if not ok]
    if failed:
        print(f"check: {len(failed)} of {len(CHECKS)} checks FAILED")
        raise AssertionError("\n".join(failed))
    print(f"check: all {len(CHECKS)} checks passed")
