"""Site profiles: how jobs run on one cluster, and what its energy costs, read and checked.

A *site profile* (TOML on Python 3.11+, or JSON anywhere) is the one file a site edits:
``haiend slurm`` renders batch scripts from it (:mod:`haiend.slurm`), its optional ``energy``
table gives the grid's carbon intensity, the data centre's PUE and the power figures an energy
estimate uses (:mod:`haiend.energy`), and its optional ``io`` table the shared file system's
metadata latency (:mod:`haiend.io.metadata`). ``examples/site-profiles/`` documents every key.

The profile is checked against ``schemas/site-profile.schema.json`` (JSON Schema, with
``jsonschema``): a bad profile raises :class:`HaiendError` with one sentence naming the file, the
key and the rule the schema states for it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haiend.errors import HaiendError

SCHEMA = Path(__file__).parent / "schemas" / "site-profile.schema.json"


@dataclass(frozen=True)
class Profile:
    """A validated site profile; ``path`` is where it was read from (for messages and the header)."""

    path: str
    partition: str
    account: str
    nodes: int
    tasks_per_node: int
    cpus_per_task: int
    time: str
    modules: tuple[str, ...]
    activate: str
    launcher: str
    results_dir: str
    cpu_bind: str = ""
    launcher_args: str = ""
    extra_sbatch: tuple[str, ...] = ()
    omp_places: str = "cores"
    omp_proc_bind: str = "close"
    python: str = "python"
    variants: tuple[str, ...] = ()
    sweep_sizes: tuple[str, ...] = ()
    sweep_threads: tuple[int, ...] = ()
    energy: Mapping[str, Any] = field(default_factory=dict)  # grid intensity, PUE, power figures
    io: Mapping[str, Any] = field(default_factory=dict)  # the shared file system's metadata latency
    container: Mapping[str, Any] = field(default_factory=dict)  # the Apptainer image jobs run in

    @property
    def tasks(self) -> int:
        return self.nodes * self.tasks_per_node


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """Read and validate a site profile (``.toml`` on Python 3.11+, or ``.json``)."""
    path = Path(path)
    raw = _load(path)
    return validate(raw, str(path))


def _load(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise HaiendError(f"site profile {path} must be a .toml or .json file.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HaiendError(f"site profile {path} cannot be read ({exc.strerror or exc}).") from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HaiendError(
                f"site profile {path} is not valid JSON (line {exc.lineno}: {exc.msg})."
            ) from None
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise HaiendError(
                f"site profile {path} is TOML, which needs Python 3.11 or later (tomllib): "
                "use a .json profile with the same keys instead."
            ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise HaiendError(f"site profile {path} is not valid TOML ({exc}).") from None
    if not isinstance(data, dict):
        raise HaiendError(f"site profile {path} must hold a table of keys, not a {type(data).__name__}.")
    return data


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def validate(raw: dict[str, Any], where: str = "the site profile") -> Profile:
    """Check a profile read from ``where`` against the schema; the first problem raises HaiendError."""
    import jsonschema

    schema = _schema()
    properties = schema["properties"]
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        raise HaiendError(f"site profile {where}: {_sentence(errors[0], properties, raw)}.")
    values = {k: v for k, v in raw.items() if not k.startswith("_")}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    values["energy"] = dict(values.get("energy") or {})
    values["io"] = dict(values.get("io") or {})
    values["container"] = dict(values.get("container") or {})
    for key in ("nodes", "tasks_per_node", "cpus_per_task"):
        values[key] = int(values[key])  # 4.0 is an integer to JSON Schema
    for n in values.get("sweep_threads", ()):
        if n > values["cpus_per_task"]:
            raise HaiendError(
                f"site profile {where}: key 'sweep_threads' holds {n}, more than cpus_per_task"
                f" ({values['cpus_per_task']})."
            )
    values["sweep_threads"] = tuple(int(n) for n in values.get("sweep_threads", ()))
    return Profile(path=where, **values)


def _sentence(error: Any, properties: dict[str, Any], raw: dict[str, Any]) -> str:
    """One sentence for a schema error: the key, and the rule its schema states (for a key's
    table, such as [container], the table's rule, whatever inside it is wrong)."""
    if error.path:
        key = error.path[0]
        return f"key {key!r} {properties[key]['x-rule']}, not {_shown(raw[key])}"
    if error.validator == "required":
        key = next(k for k in error.validator_value if k not in raw)
        return f"key {key!r} is missing"
    if error.validator == "additionalProperties":
        key = next(k for k in raw if k not in properties and not k.startswith("_"))
        return f"key {key!r} is not a profile key (known keys: {', '.join(properties)})"
    return error.message


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "a table"
    return repr(value)
