"""Build of the optional compiled kernels (src/mahalanobis/_ckernels.c).

Everything else is in pyproject.toml. The extension is optional: when no C compiler is
available the build goes on without it and the package uses its numpy/scipy code paths
(mahalanobis._linalg reports which via ``KERNELS``). The kernels take BLAS routines from
scipy at run time, so building needs neither numpy nor scipy headers.
"""

import os

from setuptools import Extension, setup

if os.name == "nt":  # MSVC
    flags = ["/O2"]
else:
    # -O3 vectorises the loops; no -ffast-math: the exact co-moment accumulation relies on
    # IEEE rounding (TwoSum, splitting by adding and subtracting a constant).
    flags = ["-O3", "-fno-math-errno", "-ffp-contract=fast", "-std=c99"]

setup(ext_modules=[Extension("mahalanobis._ckernels", ["src/mahalanobis/_ckernels.c"],
                             extra_compile_args=flags, optional=True)])
