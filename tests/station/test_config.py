"""The README's configuration table and ``Config.from_env`` name the same variables."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from station import config

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_lists_every_environment_variable():
    source = inspect.getsource(config)
    in_code = set(re.findall(r'_env\("(STATION_[A-Z_]+)"', source)) | {"STATION_INSTANCE_PATH"}
    readme = (ROOT / "README.md").read_text()
    in_readme = set(re.findall(r"^\| `(STATION_[A-Z_]+)` \|", readme, re.M))
    assert in_code == in_readme


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = config.Config(instance_path=tmp_path, database_url="sqlite://")
    second = config.Config(instance_path=tmp_path, database_url="sqlite://")
    assert first.secret_key == second.secret_key and len(first.secret_key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_describe_hides_secrets():
    described = config.Config(instance_path="/tmp", secret_key="x",
                              database_url="postgresql+psycopg://u:pw@db/station").describe()
    assert "secret_key" not in described and "pw" not in described["database_url"]
