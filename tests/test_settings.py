"""A wrong setting stops start-up with a message naming the setting."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("LIANZU_DATABASE_URL", "LIANZU_TELEGRAM_TOKEN", "LIANZU_DEFAULT_LANGUAGE", "LIANZU_TIMEZONE"):
        monkeypatch.delenv(k, raising=False)
    s = load_settings(_env_file=None)
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.default_language == "zh_CN" and s.timezone == "Asia/Shanghai"
    assert s.console_enabled


@pytest.mark.parametrize(
    ("var", "value", "words"),
    [
        ("LIANZU_TIMEZONE", "Mars/Olympus", "LIANZU_TIMEZONE"),
        ("LIANZU_DEFAULT_LANGUAGE", "fr", "LIANZU_DEFAULT_LANGUAGE"),
        ("LIANZU_DATABASE_URL", "mysql://x", "LIANZU_DATABASE_URL"),
        ("LIANZU_ENCRYPTION_KEYS", "k1:c2hvcnQ=", "32 bytes"),
        ("LIANZU_INSTALLATION_SALT", "short", "LIANZU_INSTALLATION_SALT"),
        ("LIANZU_DRAFT_TTL_HOURS", "-1", "LIANZU_DRAFT_TTL_HOURS"),
    ],
)
def test_wrong_setting_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                var: str, value: str, words: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    assert words in str(err.value)
    assert main(["db", "upgrade"]) == 2
    assert words in capsys.readouterr().err


def test_env_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LIANZU_DEFAULT_LANGUAGE=en\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIANZU_DEFAULT_LANGUAGE", raising=False)
    assert load_settings().default_language == "en"
