"""The message catalogues: same keys and placeholders everywhere, and the right scripts."""

from __future__ import annotations

import re

import pytest

from bot.texts import AR, CATALOGUE, EN, LANGUAGES, RU, normalise_language, placeholders, text

TRANSLATIONS = {"ru": RU, "ar": AR}

# Keys whose English text is only placeholders and symbols: nothing to translate.
SYMBOLS_ONLY = {"bad_input", "admin_audit_line"}

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
ARABIC = re.compile(r"[\u0600-\u06FF]")
SCRIPTS = {"ru": CYRILLIC, "ar": ARABIC}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def dummy_values(template: str) -> dict[str, str]:
    return {name: f"<{name}>" for name in placeholders(template)}


def test_every_language_is_in_the_catalogue() -> None:
    assert set(CATALOGUE) == set(LANGUAGES)
    assert CATALOGUE["en"] is EN


@pytest.mark.parametrize("language", sorted(TRANSLATIONS))
def test_same_keys_as_english(language: str) -> None:
    table = TRANSLATIONS[language]
    assert set(table) - set(EN) == set(), "keys English does not have"
    assert set(EN) - set(table) == set(), "English keys not translated"


@pytest.mark.parametrize("language", sorted(CATALOGUE))
def test_placeholders_match_english(language: str) -> None:
    table = CATALOGUE[language]
    wrong = {
        key: (placeholders(table[key]), placeholders(EN[key]))
        for key in EN
        if key in table and placeholders(table[key]) != placeholders(EN[key])
    }
    assert wrong == {}


@pytest.mark.parametrize("language", sorted(CATALOGUE))
def test_every_template_formats(language: str) -> None:
    for key, template in CATALOGUE[language].items():
        filled = template.format(**dummy_values(template))
        assert "{" not in filled, key
        assert text(language, key, **dummy_values(template)) == filled


@pytest.mark.parametrize("language", sorted(CATALOGUE))
def test_a_language_placeholder_reaches_the_template(language: str) -> None:
    values = dummy_values(EN["settings_show"])
    assert "language" in values
    filled = text(language, "settings_show", **values)
    assert filled == CATALOGUE[language]["settings_show"].format(**values)


@pytest.mark.parametrize("language", sorted(TRANSLATIONS))
def test_translations_use_their_script(language: str) -> None:
    script = SCRIPTS[language]
    untranslated = [
        key
        for key, template in TRANSLATIONS[language].items()
        if key not in SYMBOLS_ONLY and not script.search(template)
    ]
    assert untranslated == []


def test_symbol_only_keys_really_have_no_words() -> None:
    for key in SYMBOLS_ONLY:
        without = re.sub(r"\{\w+\}", "", EN[key])
        assert not LATIN_WORD.search(without), key
        for table in TRANSLATIONS.values():
            assert table[key] == EN[key]


@pytest.mark.parametrize("language", sorted(TRANSLATIONS))
def test_newlines_and_commands_kept(language: str) -> None:
    table = TRANSLATIONS[language]
    command = re.compile(r"(?<![\w/])/[a-z][a-z0-9]*")
    option = re.compile(r"--[a-z][a-z-]*")
    for key, template in EN.items():
        assert table[key].count("\n") == template.count("\n"), key
        assert sorted(command.findall(table[key])) == sorted(command.findall(template)), key
        assert sorted(option.findall(table[key])) == sorted(option.findall(template)), key


def test_lines_are_not_too_long_for_chat() -> None:
    for table in TRANSLATIONS.values():
        for key, template in table.items():
            assert len(template) <= 2 * len(EN[key]) + 40, key


def test_language_set_speaks_russian() -> None:
    russian = text("ru-RU", "language_set")
    assert russian != text("en", "language_set")
    assert CYRILLIC.search(russian)
    assert "по-русски" in russian


def test_language_set_speaks_arabic() -> None:
    arabic = text("ar_EG", "language_set")
    assert arabic != text("en", "language_set")
    assert "العربية" in arabic


def test_text_fills_placeholders() -> None:
    assert text("ru", "done", job=7) == "Задание #7 готово."
    assert "#7" in text("ar", "done", job=7)
    assert text("en", "done", job=7) == "Job #7 is done."


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ru_RU", "ru"),
        ("ru-RU", "ru"),
        ("ru", "ru"),
        ("ar-EG", "ar"),
        ("ar_SA", "ar"),
        ("EN", "en"),
        ("en-GB", "en"),
        (None, "en"),
        ("", "en"),
        ("fr", "en"),
        ("fr-FR", "en"),
    ],
)
def test_normalise_language(code: str | None, expected: str) -> None:
    assert normalise_language(code) == expected


def test_unknown_language_falls_back_to_english() -> None:
    assert text("fr", "settings_saved") == EN["settings_saved"]


def test_unknown_key_raises() -> None:
    with pytest.raises(KeyError):
        text("en", "no_such_key")
    with pytest.raises(KeyError):
        text("ru", "no_such_key")
