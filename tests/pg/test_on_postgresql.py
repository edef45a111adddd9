"""Every database test of tests/api and tests/system, collected again here so that
tests/pg/conftest.py points it at PostgreSQL.

Every test module of those suites is taken, as `from module import *` would take it, but a
module that says `POSTGRESQL = False` (nothing in it depends on the database).
"""

import importlib
import pkgutil
from types import ModuleType

import tests.api
import tests.system


def _database_tests(package: ModuleType) -> dict[str, object]:
    names: dict[str, object] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if getattr(module, "POSTGRESQL", True):
            # Its marks stay with its own tests: pytestmark here would mark them all.
            public = {k: v for k, v in vars(module).items() if not k.startswith("_")}
            public.pop("pytestmark", None)
            names.update(public)
    return names


for _package in (tests.api, tests.system):
    globals().update(_database_tests(_package))
