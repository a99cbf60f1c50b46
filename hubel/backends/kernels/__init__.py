"""Fast CPU kernels (Numba, parallel, cached), each beside its plain NumPy reference
(`*_reference.py`) that the tests compare it with."""
