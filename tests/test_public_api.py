"""The public surface: complete, sorted, light to import."""

from __future__ import annotations

import subprocess
import sys

import bigopool


def test_public_api_all_is_sorted_and_complete() -> None:
    exported = bigopool.__all__
    public = {
        name
        for name, value in vars(bigopool).items()
        if not name.startswith("_") and not isinstance(value, type(sys))
    }

    assert exported == sorted(exported)
    assert set(exported) == public - {"annotations"}


def test_public_api_names_live_in_the_root_module() -> None:
    for name in bigopool.__all__:
        obj = getattr(bigopool, name)
        module = getattr(obj, "__module__", "bigopool")
        assert module == "bigopool" or not module.startswith("bigopool."), name


def test_public_api_import_stays_light() -> None:
    heavy = ["dask", "distributed", "tqdm", "rich", "cloudpickle", "uvloop", "asyncio"]
    code = (
        "import sys, bigopool; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == ""
