"""Maps the design card's top-level folders under one import name, `empathy`.

Every folder below sensors/, edge/, models/, host/, calibration/, sim/ and bench/ that has an
__init__.py becomes `empathy.<folder>.<sub>`; nothing generic lands in site-packages.
(Metadata lives in pyproject.toml; only the package list is computed here.)
"""

from setuptools import find_packages, setup

ROOTS = {"empathy": "empathy", "empathy.sensors": "sensors", "empathy.edge": "edge",
         "empathy.models": "models", "empathy.host": "host", "empathy.calibration": "calibration",
         "empathy.bench": "bench", "empathy.sim": "sim"}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(package_dir=ROOTS, packages=packages)
