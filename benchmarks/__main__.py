"""Run every ``benchmarks/bench_*.py``, print one table and write ``benchmarks/results/latest.json``.

Usage: ``python -m benchmarks [--quick] [name ...]`` (names like ``conv`` select ``bench_conv.py``).

``python -m benchmarks --under-load [--quick]`` prints the robustness table instead: the conv,
LeNet and MLP workloads quiet and beside two pinned busy-loop processes, tinydl's and torch's
median and worst round, each library with its default threads (see ``benchmarks/_under_load.py``).
"""
import os
import sys

# BLAS and Numba read their thread counts when they load: pin before anything imports NumPy
# (both libraries on every core, as torch is). --under-load keeps each library's own default.
if "--under-load" not in sys.argv:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, str(os.cpu_count() or 1))

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402

from benchmarks._harness import N_THREADS, blas_line, pin_threads, try_torch  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def _format_value(value, unit):
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.2f} us"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.3f} s"
    return f"{value:.4g} {unit}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark names (bench_NAME.py); all when empty")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    parser.add_argument("--under-load", action="store_true",
                        help="the robustness table: conv, LeNet and MLP beside two busy loops")
    args = parser.parse_args(argv)
    if args.under_load:
        from benchmarks import _under_load

        _under_load.run(quick=args.quick)
        return 0
    pin_threads()
    files = sorted(HERE.glob("bench_*.py"))
    if args.names:
        files = [f for f in files if f.stem[len("bench_"):] in args.names]
    rows = []
    for path in files:
        module = importlib.import_module(f"benchmarks.{path.stem}")
        print(f"# {path.stem} ...", file=sys.stderr, flush=True)
        for r in module.run(quick=args.quick):
            r["benchmark"] = path.stem
            rows.append(r)
    blas = blas_line()  # after the runs: SciPy's OpenBLAS loads with the Winograd kernels
    print(blas)
    header = f"{'figure':58s} {'tinydl':>12s} {'baseline':>12s} {'vs':>6s} {'ratio':>7s} {'goal':>6s}"
    print(header)
    print("-" * len(header))
    for r in rows:
        goal = f"<={r['goal']:g}" if r.get("goal") else ""
        flag = " !" if r.get("goal") and r["ratio"] > r["goal"] else ""
        print(f"{r['figure'][:58]:58s} {_format_value(r['tinydl'], r['unit']):>12s} "
              f"{_format_value(r['baseline'], r['unit']):>12s} {r['baseline_name']:>6s} "
              f"{r['ratio']:7.2f} {goal:>6s}{flag}")
        if r.get("note"):
            print(f"    {r['note']}")
    torch = try_torch()
    out = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "threads": N_THREADS, "torch": getattr(torch, "__version__", None),
                    "blas": blas},
        "rows": rows,
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    tmp = results / "latest.json.tmp"
    tmp.write_text(json.dumps(out, indent=2))
    os.replace(tmp, results / "latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
