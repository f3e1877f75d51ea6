"""tinydl benchmarks: ``python -m benchmarks`` runs every ``bench_*.py`` module.

Each module exposes ``run(quick=False) -> list[dict]``; a row is a dict with keys
``figure`` (what was measured), ``tinydl`` and ``baseline`` (seconds, or another unit named
in ``unit``), ``baseline_name`` (``'torch'`` or ``'numpy'``) and optionally ``goal`` (the
largest acceptable ratio tinydl / baseline) and ``note``. Baselines are measured in the
same run, because the machine is shared and noisy.
"""
