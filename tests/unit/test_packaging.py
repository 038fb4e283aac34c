"""A plain `pip install .` ships every package of the source tree.

setuptools is given an explicit list of packages (pyproject.toml), so a new package folder
that is not added there installs nothing: the editable install used for development still
finds it, and only a user's `pip install .` breaks. This test reads the list and the tree.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _configured() -> tuple[set[str], dict[str, str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"]), dict(config["package-dir"])


def _packages_in_tree(package_dir: dict[str, str]) -> set[str]:
    roots = {"claimsengine": ROOT / "claimsengine"}
    roots.update({name: ROOT / folder for name, folder in package_dir.items()})
    found = set()
    for name, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder)
            found.add(".".join((name, *relative.parts)))
    return found


def test_every_package_folder_is_listed_for_setuptools() -> None:
    listed, package_dir = _configured()
    missing = _packages_in_tree(package_dir) - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_every_listed_package_exists() -> None:
    listed, package_dir = _configured()
    assert listed <= _packages_in_tree(package_dir)


def test_the_shipped_storage_layouts_are_package_data() -> None:
    """compiler.storage_layout reads NAME.layout.json beside the contracts at run time."""
    from fnmatch import fnmatch

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["claimsengine.contracts"]
    layouts = sorted((ROOT / "contracts").glob("*.layout.json"))
    assert layouts
    for path in layouts:
        assert any(fnmatch(path.name, p) for p in patterns), path.name
