"""What ``import crm_observability`` costs a process at start (issue 2: at most 150 ms).

Each round starts two fresh interpreters, one that imports nothing and one that
imports the package, and takes the difference of their wall times; the figure
is the median over the rounds.  The SDK, exporters and generators load lazily,
so they are not in it.

    .venv/bin/python -m bench.bench_import [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_S = 0.150


def _run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    _run("import crm_observability")  # warm the file cache and the bytecode
    costs = []
    for _ in range(args.rounds):
        empty = _run("pass")
        costs.append(_run("import crm_observability") - empty)
    median = statistics.median(costs)
    met = "met" if median <= TARGET_S else "NOT met"
    print(f"import crm_observability: median {median:.3f} s over {args.rounds} rounds "
          f"(fresh interpreter, minus an empty one; target <= {TARGET_S:.3f} s: {met})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
