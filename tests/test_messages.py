"""The error sentences: every catalogued error names a sentence that exists, filled in right."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.chat.grammar import GrammarError, parse_command_text
from bot.i18n.catalogue import placeholders
from generation import messages
from generation.families import DEFAULT_FAMILIES
from generation.images import PICTURE_KINDS
from generation.messages import ERRORS
from generation.request import RequestError, Task

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    path for package in ("adapters", "bot", "generation") for path in (ROOT / package).rglob("*.py")
)
# Each family's refusals: sentence ids its spec names for the tasks it does not run.
REFUSALS = {spec.refusal(task) for spec in DEFAULT_FAMILIES for task in Task} - {None}


def catalogued_calls() -> list[tuple[str, ast.Call]]:
    """Every `X.of(field, value, key, ...)` call in the source, with where it stands."""
    calls = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "of"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id.endswith(("Error", "Refused"))
            ):
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


def keys_of(call: ast.Call) -> list[str]:
    """The error ids a call may raise: its constant key, or the ids its f-string key matches."""
    key = call.args[2]
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return [key.value]
    if isinstance(key, ast.JoinedStr):  # the picture errors: one id per kind of picture
        kinds = "|".join(sorted(set(PICTURE_KINDS.values())))
        pattern = "".join(
            re.escape(str(part.value)) if isinstance(part, ast.Constant) else f"(?:{kinds})"
            for part in key.values
        )
        return [error_id for error_id in ERRORS if re.fullmatch(pattern, error_id)]
    if isinstance(key, ast.Subscript | ast.Name):  # an id from a table, checked by its own test
        return []
    raise AssertionError(f"an error key that is neither text nor an f-string: {ast.dump(key)}")


def test_the_source_raises_catalogued_errors() -> None:
    calls = catalogued_calls()
    assert len(calls) >= 60, "the scan finds the call sites"
    assert {"adapters", "bot", "generation"} == {where.split("/")[0] for where, _ in calls}


@pytest.mark.parametrize(
    ("where", "call"), [pytest.param(where, call, id=where) for where, call in catalogued_calls()]
)
def test_each_call_names_a_sentence_and_fills_it(where: str, call: ast.Call) -> None:
    assert len(call.args) == 3, f"{where}: give field, value and key, then the values by name"
    ids = keys_of(call)
    if isinstance(call.args[2], ast.JoinedStr):
        assert len(ids) == len(set(PICTURE_KINDS.values())), f"{where}: an id for each kind"
    for error_id in ids:
        assert error_id in ERRORS, f"{where}: unknown error id {error_id!r}"
        given = {keyword.arg for keyword in call.keywords}
        assert None not in given, f"{where}: pass the values by name"
        assert given == placeholders(ERRORS[error_id]), (where, error_id)


def test_the_families_refusals_name_sentences() -> None:
    assert REFUSALS
    for error_id in REFUSALS:
        assert error_id in ERRORS
        assert placeholders(ERRORS[error_id]) <= {"model", "able"}, "the values validate gives"


def test_every_id_is_raised_somewhere() -> None:
    raised = {error_id for _, call in catalogued_calls() for error_id in keys_of(call)}
    assert set(ERRORS) - raised - REFUSALS == set()


def test_the_messages_module_imports_nothing() -> None:
    tree = ast.parse(Path(messages.__file__).read_text(encoding="utf-8"))
    imported = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert [getattr(node, "module", None) for node in imported] == ["__future__"]


def test_of_keeps_the_key_the_values_and_the_english_sentence() -> None:
    error = RequestError.of("steps", 0, "between", name="steps", low=1, high=150, value=0)
    assert isinstance(error, RequestError) and error.field == "steps" and error.value == 0
    assert error.key == "between"
    assert error.values == {"name": "steps", "low": 1, "high": 150, "value": 0}
    assert str(error) == error.message == "steps must be between 1 and 150, got 0"


def test_a_ready_message_still_works() -> None:
    error = RequestError("user", "x", "I don't know the user x.")
    assert str(error) == "I don't know the user x."
    assert error.key is None and error.values == {}


def test_grammar_errors_stay_grammar_errors() -> None:
    error = GrammarError.of(
        "option", "--sed", "unknown_option_suggest", option="--sed", suggestion="seed"
    )
    assert type(error) is GrammarError
    with pytest.raises(GrammarError) as caught:
        parse_command_text("a cat --steps ten")
    assert caught.value.key == "whole_number"
    assert caught.value.values == {"name": "--steps", "value": "'ten'"}


def test_an_unknown_id_is_refused_at_once() -> None:
    with pytest.raises(KeyError):
        RequestError.of("x", None, "no_such_sentence")
