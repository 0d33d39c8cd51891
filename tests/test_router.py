"""Command routing: declarations in one place, shared checks, every admin outcome audited."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.app.root import build_router
from bot.commands.router import Route, Router
from storage.store import Store
from tests.botkit import FakeGenerator, cmd, make_bot

ROOT = Path(__file__).resolve().parent.parent


async def _nothing(ctx: object) -> None:
    return None


def test_a_word_claimed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="/draw is declared twice"):
        Router(Route("imagine", _nothing, aliases=("draw",)), Route("draw", _nothing))


def test_the_menu_comes_from_the_declarations() -> None:
    router = build_router()
    menu = {entry.name: entry for entry in router.menu()}
    assert {"imagine", "img2img", "history", "admin", "help", "link"} <= set(menu)
    assert menu["imagine"].private_default and "draw" in menu["imagine"].aliases
    assert menu["admin"].admin_only and not menu["imagine"].admin_only
    assert all(entry.help_key == f"help_{name}" for name, entry in menu.items())
    assert router.find("DRAW") is router.find("imagine")
    assert router.suggest("imagin") == "imagine"


def test_nothing_registers_a_command_by_being_imported() -> None:
    """Command modules declare routes in `router()`; no decorator fills a table at import."""
    for path in sorted((ROOT / "bot" / "commands").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                assert not node.decorator_list, f"{path.name}: {node.name} is decorated"


async def test_help_follows_aliases_and_is_open_to_banned_users(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.bot.handle(cmd("ann", "help", "draw"))
    assert kit.replier.said("ann")[-1].startswith("/imagine PROMPT")
    user = await store.ensure_user("test", "ann", "ann")
    await store.set_ban(user.id, True, "spam")
    await kit.bot.handle(cmd("ann", "imagine", "a fox"))
    assert "spam" in kit.replier.said("ann")[-1]
    await kit.bot.handle(cmd("ann", "help"))
    assert "Commands" in kit.replier.said("ann")[-1]


async def test_a_ban_of_an_unknown_user_is_audited_as_failed(store: Store) -> None:
    kit = make_bot(store, FakeGenerator(), admins=frozenset({"test:root"}))
    await store.ensure_user("test", "pat", "pat")  # someone exists; these name nobody
    commands = [
        ("ban", "telegram:999 x"),
        ("unban", "telegram:999"),
        ("ban", "#99999999999999999999 spam"),
        ("unban", "#0"),
        ("ban", "#-1"),
    ]
    for action, target in commands:
        await kit.bot.handle(cmd("root", "admin", f"{action} {target}"))
        user = target.split()[0]
        assert kit.replier.said("root")[-1] == f"I don't know the user {user}."
    log = list(reversed(await store.audit_log(10)))
    assert [(entry.action, entry.target) for entry in log] == commands
    for entry, (_, target) in zip(log, commands, strict=True):
        assert entry.actor == "test:root" and entry.allowed
        assert entry.detail == f"failed: I don't know the user {target.split()[0]}."
    pat = await store.find_user("test", "pat")
    assert pat is not None and not pat.banned


async def test_an_admin_command_of_any_length_is_audited(store: Store) -> None:
    kit = make_bot(store, FakeGenerator(), admins=frozenset({"test:root"}))
    word, target = "x" * 100, "test:" + "9" * 300
    await kit.bot.handle(cmd("root", "admin", f"{word} a"))  # no such admin command
    await kit.bot.handle(cmd("root", "admin", f"ban {target} spam"))  # no such user
    assert kit.replier.said("root")[-1] == f"I don't know the user {target}."
    unknown, ban = reversed(await store.audit_log(10))
    assert unknown.action == "x" * 63 + "…" and unknown.detail.startswith("failed: Admin")
    assert ban.target == f"{target} spam"[:199] + "…"
    assert ban.detail == f"failed: I don't know the user {target}."


async def test_every_admin_outcome_is_audited(store: Store) -> None:
    kit = make_bot(store, FakeGenerator(), admins=frozenset({"test:root"}))
    await kit.bot.handle(cmd("eve", "admin", "ban test:root"))  # refused: not an admin
    await kit.bot.handle(cmd("root", "admin", "ban test:nobody flooding"))  # no such user
    await kit.bot.handle(cmd("root", "admin", "frobnicate"))  # no such admin command
    await kit.bot.handle(cmd("root", "admin", "pause"))  # done
    entries = {entry.action: entry for entry in await store.audit_log(10)}
    assert entries["ban"].allowed is False and entries["ban"].actor == "test:eve"
    log = await store.audit_log(10)
    failed = [entry for entry in log if entry.detail.startswith("failed:")]
    assert {entry.action for entry in failed} == {"ban", "frobnicate"}
    assert all(entry.actor == "test:root" and entry.allowed for entry in failed)
    assert any("test:nobody" in entry.detail for entry in failed)
    assert entries["pause"].allowed and entries["pause"].detail == ""
    assert "test:nobody" in kit.replier.said("root")[0]
