"""The optional C reader of zone files (acnsd.model._zonefast). Everything else about the
package is in pyproject.toml. Where it cannot be compiled (no C compiler), the package is
installed without it and zone files are read by the Python readers alone."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("acnsd.model._zonefast", ["server/acnsd/model/_zonefast.c"],
                             optional=True, extra_compile_args=["-O2"])])
