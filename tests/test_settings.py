"""Every setting is documented in the README (datasette's habit), and secrets behave."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl import settings

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting: settings.Setting) -> None:
    assert f"`{setting.name}`" in README.read_text(encoding="utf-8")


def test_a_pseudonym_key_is_required_outside_demo_mode(monkeypatch) -> None:
    monkeypatch.delenv("SIS_PSEUDONYM_KEY", raising=False)
    with pytest.raises(settings.ConfigError, match="secrets.token_hex"):
        settings.pseudonym_key()
    monkeypatch.setenv("SIS_ENV", "demo")
    assert settings.pseudonym_key() == settings.DEMO_PSEUDONYM_KEY.encode()


def test_without_database_url_the_warehouse_is_sqlite_in_the_instance_folder(tmp_path) -> None:
    assert settings.database_url() == f"sqlite:///{tmp_path / 'instance' / 'warehouse.db'}"
