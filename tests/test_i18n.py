"""Every student-facing message exists in English and Spanish, with the same parameters."""

import re
import string

import pytest
from support import ROOT

from autograder.i18n import LANGUAGES, Translator, catalog, catalog_entries, choose_language

PACKAGE = ROOT / "autograder"
KEY_IN_CODE = re.compile(r"""\b(?:msg|Msg|t|self\.t|self\._t)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_keys():
    english, spanish = set(catalog("en")), set(catalog("es"))
    assert english - spanish == set(), "keys missing in Spanish"
    assert spanish - english == set(), "keys missing in English"


def test_both_languages_use_the_same_parameters():
    english, spanish = catalog("en"), catalog("es")
    different = {key: (placeholders(english[key]), placeholders(spanish[key]))
                 for key in english if key in spanish and placeholders(english[key]) != placeholders(spanish[key])}
    assert different == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_key_is_defined_twice(language):
    keys = [key for key, _ in catalog_entries(language)]
    assert sorted({k for k in keys if keys.count(k) > 1}) == []


def test_every_key_used_in_the_code_exists():
    used = {key for path in PACKAGE.rglob("*.py") for key in KEY_IN_CODE.findall(path.read_text())}
    assert used, "the pattern found no keys: the test would prove nothing"
    assert sorted(used - set(catalog("en"))) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_check_has_a_title(solutions_report, language):
    t = Translator(language)
    missing = [check.id for exercise in solutions_report.exercises for check in exercise.checks
               if t(check.title).startswith("checks.") or "checks." in t(check.title)]
    assert missing == []


def test_spanish_is_really_spanish():
    """A copy of the English text is not a translation."""
    english, spanish = catalog("en"), catalog("es")
    same = [key for key in english if english[key] == spanish[key] and len(english[key]) > 25
            and re.search(r"[a-z]{4} [a-z]{4}", english[key])]
    assert same == []


def test_language_choice_order(monkeypatch):
    monkeypatch.delenv("GRADE_LANG", raising=False)
    assert choose_language(None, "es") == "es"
    monkeypatch.setenv("GRADE_LANG", "es_ES.UTF-8")
    assert choose_language(None, "en") == "es"
    assert choose_language("en", "es") == "en"
    assert choose_language("fr", "en") == "es"  # unknown request falls back to the environment


def test_rendering_fills_parameters_and_nested_messages():
    t = Translator("es")
    assert t("report.partial", passed=3, total=5) == "3/5 comprobaciones"
    assert t("no.such.key") == "no.such.key"


def test_the_catalog_is_read_from_a_copy_kept_while_its_files_are_unchanged(tmp_path, monkeypatch):
    import shutil

    from autograder import i18n

    shutil.copytree(i18n.CATALOG_DIR / "en", tmp_path / "en")
    monkeypatch.setattr(i18n, "CATALOG_DIR", tmp_path)
    catalog.cache_clear()
    try:
        assert catalog("en") == dict(catalog_entries("en"))
        [copy] = (tmp_path / "__pycache__").glob("catalog-en-*.json")
        catalog.cache_clear()
        assert catalog("en") == dict(catalog_entries("en"))  # read back from the copy
        ui = tmp_path / "en" / "ui.yml"
        ui.write_text(ui.read_text(encoding="utf-8") + "\nzz_test_only: {key: changed}\n", encoding="utf-8")
        catalog.cache_clear()
        assert catalog("en")["zz_test_only.key"] == "changed"  # the file changed: parsed again
        [newer] = (tmp_path / "__pycache__").glob("catalog-en-*.json")
        assert newer != copy
        newer.write_text("[not a catalog]")
        catalog.cache_clear()
        assert catalog("en")["zz_test_only.key"] == "changed"  # a damaged copy is made again
    finally:
        catalog.cache_clear()
