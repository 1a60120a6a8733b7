from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import crm_observability


def test_all_is_sorted_and_every_name_resolves() -> None:
    names = [n for n in crm_observability.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in crm_observability.__all__:
        assert getattr(crm_observability, name) is not None
    assert set(dir(crm_observability)) >= set(crm_observability.__all__)


def test_subpackage_all_sorted() -> None:
    for mod in pkgutil.walk_packages(crm_observability.__path__, "crm_observability."):
        if not mod.ispkg:
            continue
        module = importlib.import_module(mod.name)
        exported = getattr(module, "__all__", None)
        if exported is not None:
            assert list(exported) == sorted(exported), mod.name
            for name in exported:
                assert hasattr(module, name), f"{mod.name}.{name}"


def test_unknown_attribute_raises() -> None:
    try:
        crm_observability.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_lazy() -> None:
    code = (
        "import sys, crm_observability; "
        "print(any(m.startswith('opentelemetry.sdk') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_from_imports_give_the_objects_not_submodules() -> None:
    code = (
        "from crm_observability import Instrumentation, Settings, instrument, traced; "
        "import inspect; print(inspect.isfunction(instrument), inspect.isclass(Instrumentation))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True True"
