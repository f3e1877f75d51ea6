"""Numba kernels for tinydl (installed as ``tinydl.kernels``), each with a plain-NumPy twin."""
