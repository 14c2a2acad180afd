"""The pins live in constraints.txt; environment.yml must list exactly the same set."""

import re
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def pins_for(python_version: str) -> dict[str, str]:
    environment = {**default_environment(), "python_version": python_version, "python_full_version": python_version + ".0"}
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{line}: pins must be exact"
            assert requirement.name not in pins, f"{requirement.name} is pinned twice for Python {python_version}"
            pins[requirement.name] = specifier.version
    return pins


def environment_yml() -> tuple[str, dict[str, str]]:
    text = (ROOT / "environment.yml").read_text()
    python = re.search(r"^\s*-\s*python=(\d+\.\d+)\s*$", text, re.M).group(1)
    pip_pins = dict(re.findall(r"^\s*-\s*([A-Za-z0-9_.\-]+)==(\S+)\s*$", text, re.M))
    return python, pip_pins


def test_environment_yml_lists_the_constraints_for_its_python():
    python, listed = environment_yml()
    assert listed == pins_for(python)


def test_every_supported_python_gets_exactly_one_pin_per_package():
    names = set(pins_for("3.11"))
    for version in ("3.10", "3.12", "3.13"):
        assert set(pins_for(version)) == names, version


def test_pyproject_names_every_pinned_package():
    pyproject = (ROOT / "pyproject.toml").read_text().lower().replace("_", "-")
    missing = [name for name in pins_for("3.11") if f'"{name.lower().replace("_", "-")}' not in pyproject]
    assert missing == []
