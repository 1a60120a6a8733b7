"""What ``import crm_observability`` costs a process at start (issue 2: at most 150 ms).

Each round starts a fresh interpreter that times its own ``import
crm_observability`` (the clock read just before and just after); the figure is
the median over the rounds.  (Two interpreters' wall times, one importing nothing,
differ by more than the import on these shared cores: the difference came out
negative.)  The SDK, exporters and generators load lazily, so they are not in it.

    .venv/bin/python -m bench.bench_import [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

TARGET_S = 0.150


_TIMED = ("import time; start = time.perf_counter(); import crm_observability; "
          "print(time.perf_counter() - start)")


def _run() -> float:
    """Seconds ``import crm_observability`` took in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", _TIMED], check=True, capture_output=True,
                         text=True)
    return float(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    _run()  # warm the file cache and the bytecode
    costs = [_run() for _ in range(args.rounds)]
    median = statistics.median(costs)
    met = "met" if median <= TARGET_S else "NOT met"
    print(f"import crm_observability: median {median:.3f} s over {args.rounds} rounds "
          f"(timed in a fresh interpreter; target <= {TARGET_S:.3f} s: {met})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
