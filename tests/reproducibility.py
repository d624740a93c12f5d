"""Environment under which chapter notebooks are executed, both by ``make execute`` and nbval.

``vi_lib.setup_notebook`` fixes seeds, torch threads and print precision inside the kernel; the
variables here fix what must be set before the kernel starts (BLAS threads, hash seed, backend).
"""

REPRO_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "TQDM_DISABLE": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
