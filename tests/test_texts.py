"""The message catalogues: same keys and placeholders everywhere, and the right scripts."""

from __future__ import annotations

import re
import string

import pytest

from bot.i18n.catalogue import (
    CATALOGUE,
    EN,
    ERROR_TRANSLATIONS,
    LANGUAGES,
    describe_error,
    error_key,
    normalise_language,
    placeholders,
    text,
)
from bot.jobs.notify import human_seconds
from generation.messages import ERRORS
from generation.request import GenerationRequest, RequestError, Task, validate

TRANSLATIONS = {language: CATALOGUE[language] for language in ("ru", "ar")}

# Keys whose English text is only placeholders and symbols: nothing to translate.
SYMBOLS_ONLY = {"bad_input", "admin_audit_line", "history_flagged"}

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
ARABIC = re.compile(r"[\u0600-\u06FF]")
SCRIPTS = {"ru": CYRILLIC, "ar": ARABIC}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def dummy_values(template: str) -> dict[str, object]:
    """A value for each placeholder: a number where the template formats one."""
    return {
        name: 1.5 if spec else f"<{name}>"
        for _, name, spec, _ in string.Formatter().parse(template)
        if name
    }


def fields(template: str) -> set[tuple[str, str, str | None]]:
    """Each placeholder with its format spec and conversion."""
    return {
        (name, spec or "", conversion)
        for _, name, spec, conversion in string.Formatter().parse(template)
        if name
    }


def untranslated(table: dict[str, str]) -> set[str]:
    """The English keys `table` lacks."""
    return set(EN) - set(table)


def test_every_language_is_in_the_catalogue() -> None:
    assert set(CATALOGUE) == set(LANGUAGES)
    assert CATALOGUE["en"] is EN


@pytest.mark.parametrize("language", sorted(TRANSLATIONS))
def test_same_keys_as_english(language: str) -> None:
    table = TRANSLATIONS[language]
    assert set(table) - set(EN) == set(), "keys English does not have"
    assert untranslated(table) == set(), "English keys not translated"


def test_a_missing_error_translation_is_noticed() -> None:
    dropped = error_key("size_sides_multiple")
    assert dropped in EN
    assert untranslated(
        {key: value for key, value in CATALOGUE["ru"].items() if key != dropped}
    ) == {dropped}


@pytest.mark.parametrize("language", sorted(CATALOGUE))
def test_every_error_id_is_in_the_catalogue(language: str) -> None:
    assert set(ERROR_TRANSLATIONS[language]) == set(ERRORS)
    table = CATALOGUE[language]
    for error_id, template in ERROR_TRANSLATIONS[language].items():
        assert table[error_key(error_id)] == template
        assert placeholders(template) == placeholders(ERRORS[error_id]), error_id
    assert {key: EN[key] for key in EN if key.startswith("error.")} == {
        error_key(error_id): template for error_id, template in ERRORS.items()
    }


@pytest.mark.parametrize("language", sorted(TRANSLATIONS))
def test_number_formats_match_english(language: str) -> None:
    table = TRANSLATIONS[language]
    wrong = [key for key in EN if fields(table[key]) != fields(EN[key])]
    assert wrong == []


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


def test_a_catalogued_error_speaks_the_users_language() -> None:
    error = RequestError.of("width", 65, "size_sides_multiple", size="65x64", multiple=64, value=65)
    assert str(error) == "--size 65x64: both sides must be multiples of 64, and 65 is not"
    assert describe_error(error, "en") == str(error)
    assert describe_error(error, "ru") == (
        "--size 65x64: обе стороны должны быть кратны 64, а 65 — нет"
    )
    assert describe_error(error, "ar-EG") == (
        "--size 65x64: يجب أن يكون كلا البعدين من مضاعفات 64، و65 ليس كذلك"
    )
    assert describe_error(error, "fr") == str(error)


def test_an_uncatalogued_error_keeps_its_own_words() -> None:
    ready = RequestError("user", "x", text("ru", "admin_no_user", user="x"))
    assert ready.key is None
    assert describe_error(ready, "en") == describe_error(ready, "ru") == str(ready)


def test_numbers_are_formatted_by_each_language() -> None:
    error = RequestError.of(
        "file", "cat.png", "file_over_download_limit", name="cat.png", size=50.0, limit=20
    )
    assert str(error) == "the file cat.png is 50.0 MB; I can download files up to 20 MB"
    assert describe_error(error, "ru") == (
        "Файл cat.png весит 50.0 МБ; я могу скачивать файлы до 20 МБ"
    )
    assert "50.0" in describe_error(error, "ar") and " 20 " in describe_error(error, "ar")


def test_request_validation_errors_are_translated() -> None:
    with pytest.raises(RequestError) as caught:
        request = GenerationRequest(Task.INPAINT, "3", "a cat", init_image=b"x")
        validate(request)
    assert str(caught.value) == "Kandinsky 3 has no inpainting; try model 2.2"
    russian = describe_error(caught.value, "ru")
    assert CYRILLIC.search(russian) and "2.2" in russian
    assert ARABIC.search(describe_error(caught.value, "ar"))


@pytest.mark.parametrize(
    ("seconds", "en", "ru", "ar"),
    [
        (12, "12 s", "12 с", "12 ث"),
        (0.2, "1 s", "1 с", "1 ث"),
        (180, "3 min", "3 мин", "3 د"),
        (7200, "2 h", "2 ч", "2 س"),
        (None, "?", "?", "?"),
    ],
)
def test_human_seconds_in_each_language(seconds: float | None, en: str, ru: str, ar: str) -> None:
    assert human_seconds(seconds) == en
    assert human_seconds(seconds, "en") == en
    assert human_seconds(seconds, "ru") == ru
    assert human_seconds(seconds, "ar") == ar
