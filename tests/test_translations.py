"""Every string a person can read is translated in both catalogs."""

from __future__ import annotations

import importlib.util
import os
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


def test_every_module_under_handlers_and_bot_belongs_to_exactly_one_domain() -> None:
    i18n = _i18n_script()
    claimed = [f for files in i18n.domain_files().values() for f in files]
    modules = [Path(d) / n for top in ("handlers", "bot") for d, _dirs, names in os.walk(ROOT / top)
               for n in names if n.endswith(".py")]
    assert len(claimed) == len(set(claimed))  # nothing claimed twice …
    assert set(claimed) == set(modules)  # … and nothing left out
    assert {"core", "reporter", "cases", "schedule"} <= set(i18n.domain_files())
    where = {f.relative_to(ROOT).as_posix(): d for d, files in i18n.domain_files().items() for f in files}
    assert where["handlers/deps.py"] == where["handlers/core/__init__.py"] == "core"
    assert where["bot/__init__.py"] == where["bot/telegram/__init__.py"] == where["bot/wecom/__init__.py"] == "core"
    for feature in ("reporter", "cases", "schedule"):
        assert where[f"handlers/{feature}/__init__.py"] == feature


def test_a_new_feature_folder_cannot_escape_the_check(tmp_path: Path) -> None:
    (tmp_path / "handlers" / "petitions" / "flows").mkdir(parents=True)
    (tmp_path / "handlers" / "petitions" / "flows" / "ask.py").write_text('_("Which petition?")\n')
    (tmp_path / "bot" / "sms").mkdir(parents=True)
    (tmp_path / "bot" / "sms" / "__init__.py").write_text('N_("Text messages can be read by the carrier.")\n')
    i18n = _i18n_script()
    assert {d: [f.name for f in fs] for d, fs in i18n.domain_files(tmp_path).items()} == {
        "core": ["__init__.py"], "petitions": ["ask.py"]}
    assert set(i18n.missing(tmp_path)) == {
        "zh_CN/petitions: 'Which petition?'", "en/petitions: 'Which petition?'",
        "zh_CN/core: 'Text messages can be read by the carrier.'", "en/core: 'Text messages can be read by the carrier.'"}
