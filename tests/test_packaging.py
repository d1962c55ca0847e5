"""The conda environment, the pip metadata and the pinned constraints describe one stack."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# conda-forge spells a few packages differently from PyPI
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pyproject_names() -> set[str]:
    project = _pyproject()["project"]
    reqs = project["dependencies"] + sum(project.get("optional-dependencies", {}).values(), [])
    return {_name(r) for r in reqs}


def _conda_names() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
        else:
            names.add(CONDA_TO_PYPI.get(_name(dep), _name(dep)))
    return names - NOT_PACKAGES


def test_environment_yml_matches_pyproject():
    conda, pip = _conda_names(), _pyproject_names()
    assert conda == pip, f"only in environment.yml: {sorted(conda - pip)}; only in pyproject: {sorted(pip - conda)}"


def test_lower_bounds_agree():
    """Where both files give a lower bound for a package, it is the same bound."""
    def bounds(reqs):
        return {_name(r): m.group(1) for r in reqs if (m := re.search(r">=\s*([\w.]+)", r))}
    project = _pyproject()["project"]
    pip_b = bounds(project["dependencies"] + sum(project["optional-dependencies"].values(), []))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    flat = [d for dep in env["dependencies"] for d in (dep["pip"] if isinstance(dep, dict) else [dep])]
    conda_b = {CONDA_TO_PYPI.get(k, k): v for k, v in bounds(flat).items()}
    common = set(pip_b) & set(conda_b)
    assert common, "no shared lower bounds found: parsing is broken"
    assert {k: pip_b[k] for k in common} == {k: conda_b[k] for k in common}


def test_constraints_pin_every_dependency_and_the_tested_torch():
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_name(name)] = version.strip()
    missing = _pyproject_names() - set(pins)
    assert not missing, f"constraints.txt does not pin {sorted(missing)}"
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_console_script_points_at_cli():
    assert _pyproject()["project"]["scripts"]["semhash"] == "semhash_lib.cli:main"
