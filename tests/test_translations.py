"""Every string a person can read is translated in both catalogs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from handlers.i18n import gettext_for, normalize_language

ROOT = Path(__file__).resolve().parent.parent


def _i18n_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_no_string_is_missing_a_translation() -> None:
    assert _i18n_script().missing() == []


def test_chinese_is_really_chinese() -> None:
    assert gettext_for("zh_CN")("Commands:") == "可用命令："
    assert gettext_for("en")("Commands:") == "Commands:"


def test_platform_codes_map_to_supported_languages() -> None:
    assert normalize_language("zh-hans") == "zh_CN"
    assert normalize_language("zh_TW") == "zh_CN"
    assert normalize_language("en-GB") == "en"
    assert normalize_language("fr") == "zh_CN"
    assert normalize_language(None, "en") == "en"
