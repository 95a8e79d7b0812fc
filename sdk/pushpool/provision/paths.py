"""Where provisioning keeps its files: the Pulumi program, the local state backend, build caches.

Plain path arithmetic; nothing is created here except by the caller.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

# sdk/pushpool/provision/paths.py -> the repository root holds functions/ and infra/
REPO_ROOT = Path(__file__).resolve().parents[3]
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # sdk/pushpool
FUNCTIONS_DIR = REPO_ROOT / "functions"
INFRA_DIR = REPO_ROOT / "infra"


def user_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The per-user configuration directory of the platform (XDG on Linux)."""
    source = os.environ if env is None else env
    if sys.platform == "win32":
        return Path(source.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(source.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def user_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    source = os.environ if env is None else env
    if sys.platform == "win32":
        return Path(source.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(source.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def default_backend_dir(env: Mapping[str, str] | None = None) -> Path:
    """The local Pulumi state backend used unless PULUMI_BACKEND_URL is set."""
    return user_config_dir(env) / "pushpool" / "pulumi"


def default_build_dir(env: Mapping[str, str] | None = None) -> Path:
    return user_cache_dir(env) / "pushpool" / "lambda"
