"""Taking host and user names out of files before they leave a site.

A fingerprint records the hostname, and paths such as the Python executable's or the BLAS
library's may contain a user's home folder (``/home/alice/...``). Before results are sent or
committed, the hostname is replaced by ``host``, a salted hash (``anon-`` and 12 hex digits),
and every ``/home/<name>/`` or ``/Users/<name>/`` in any string by the same kind of hash. The
CPU, caches, compiler, library versions, git commit, load average and dates stay: they are what
makes a result comparable.

The salt is a site's secret, so a hash cannot be reversed by hashing likely names, while one
site's runs on one host still share one hash: ``$HAIEND_ANONYMISE_SALT`` if set, else a random
salt kept in the per-user configuration folder (made on first use).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from typing import Any

from haiend import atomic

SALT_ENV = "HAIEND_ANONYMISE_SALT"
HOME_PATH = re.compile(r"(?P<root>/home/|/Users/)(?P<name>[^/\s]+)")
ANON = re.compile(r"^anon-[0-9a-f]{12}$")


def salt() -> str:
    """The site's salt: the environment's, else the per-user one (created on first use)."""
    if os.environ.get(SALT_ENV):
        return os.environ[SALT_ENV]
    from platformdirs import user_config_path

    path = user_config_path("haiend") / "anonymise-salt"
    if path.exists():
        return path.read_text().strip()
    atomic.write_text(path, secrets.token_hex(16) + "\n", mode=0o600)
    return path.read_text().strip()


def hashed(name: str, salt_: str) -> str:
    return "anon-" + hashlib.sha256(f"{salt_}:{name}".encode()).hexdigest()[:12]


def _scrub(value: Any, salt_: str) -> Any:
    if isinstance(value, str):
        return HOME_PATH.sub(
            lambda m: m["root"] + (m["name"] if ANON.match(m["name"]) else hashed(m["name"], salt_)), value
        )
    if isinstance(value, list):
        return [_scrub(v, salt_) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, salt_) for k, v in value.items()}
    return value


def fingerprint(info: dict[str, Any], salt_: str) -> dict[str, Any]:
    """A fingerprint with ``hostname`` replaced by ``host`` (hashed) and home folders hashed."""
    info = dict(info)
    host = info.pop("hostname", None)
    if host is not None and "host" not in info:
        info["host"] = hashed(str(host), salt_)
    return _scrub(info, salt_)


def anonymise(kind: str, data: dict[str, Any], salt_: str) -> dict[str, Any]:
    """A file's data (current version) with host and user names hashed; the input is not changed."""
    if kind == "machine":
        return fingerprint(data, salt_)
    if kind == "record":
        return _scrub({**data, "machine": fingerprint(data["machine"], salt_)}, salt_)
    return _scrub(data, salt_)


def is_anonymous(kind: str, data: dict[str, Any]) -> bool:
    """Whether a file names no host and no home folder (what a committed file must satisfy)."""
    fingerprint_ = data if kind == "machine" else data.get("machine", {}) if kind == "record" else {}
    if "hostname" in fingerprint_:
        return False
    return not _named_home(data)


def _named_home(value: Any) -> bool:
    if isinstance(value, str):
        return any(not ANON.match(m["name"]) for m in HOME_PATH.finditer(value))
    if isinstance(value, list):
        return any(_named_home(v) for v in value)
    if isinstance(value, dict):
        return any(_named_home(v) for v in value.values())
    return False
