"""The family registry: every family's spec, what is derived from it, and a family added in a test.

`NINE` is a family that exists only here ("9", no prior, sides in multiples of 128). Added
with `with_family`, it reaches the grammar, validation, defaults, help, menu choices, the
worker's `--models`, checkpoints and the matrix without a line changed elsewhere; this module
also declares its (fake) pipelines, so the engine runs it too.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot.app.settings import SettingsError
from bot.app.settings import parse_families as worker_families
from bot.chat.grammar import GrammarError, parse_command_text
from bot.i18n.catalogue import help_text
from generation.engine.cache import EngineOptions, Load, PipelineCache, PipelineSpec
from generation.engine.calls import Call
from generation.engine.checkpoints import ModelRegistry, hub_checkpoints
from generation.engine.family import FamilyPipelines, load_pipelines
from generation.engine.service import GenerationService
from generation.engine.tiny import TinyBuilder, load_tiny_builder
from generation.families import DEFAULT_FAMILIES, Checkpoint, Families, FamilySpec, MultipleOf
from generation.families.matrix import render_matrix
from generation.messages import ERRORS
from generation.request import (
    SCHEDULERS,
    GenerationRequest,
    RequestError,
    Task,
    supports,
    validate,
)
from tests.helpers import decode

ROOT = Path(__file__).resolve().parent.parent

NINE = FamilySpec(
    name="9",
    title="Kandinsky 9",
    tasks={
        "text2img": True,
        "img2img": True,
        "inpaint": True,
        "mix": "k3_no_mix",
        "depth": "depth_only_k22",
        "edit": "edit_elsewhere",
    },
    steps=12,
    guidance_scale=2.5,
    prior=None,
    size_rule=MultipleOf(128),
    checkpoints={"text2img": Checkpoint("example/kandinsky-9")},
    pipelines=__name__,
    tiny=__name__,
)
EXTENDED = DEFAULT_FAMILIES.with_family(NINE)


def _grey_pictures(cache: PipelineCache, call: Call) -> list[Image.Image]:
    """The fake family's pipelines: one grey picture per output image."""
    first = call.first
    return [Image.new("RGB", (first.width, first.height), "grey")] * len(call.generators())


ROLES: dict[str, PipelineSpec] = {}
PIPELINES = FamilyPipelines(roles=ROLES, run=_grey_pictures)


# ---------------------------------------------------------------------- the registry


def test_the_default_registry_lists_the_five_families_in_order() -> None:
    assert DEFAULT_FAMILIES.names() == ("2.1", "2.2", "3", "5", "5v")
    assert DEFAULT_FAMILIES.default == "2.2"
    assert [spec.name for spec in DEFAULT_FAMILIES] == ["2.1", "2.2", "3", "5", "5v"]
    assert len(DEFAULT_FAMILIES) == 5 and "3" in DEFAULT_FAMILIES and "4" not in DEFAULT_FAMILIES
    assert DEFAULT_FAMILIES.get("3").title == "Kandinsky 3"
    assert DEFAULT_FAMILIES.get("5v").title == "Kandinsky 5 Video"
    with pytest.raises(LookupError, match=r"the families are 2\.1, 2\.2, 3, 5, 5v"):
        DEFAULT_FAMILIES.get("4")


@pytest.mark.parametrize(
    ("word", "name"),
    [("2.2", "2.2"), (" K2.1 ", "2.1"), ("kandinsky-3", "3"), ("Kandinsky 2.2", "2.2")],
)
def test_lookup_reads_a_family_as_people_write_it(word: str, name: str) -> None:
    spec = DEFAULT_FAMILIES.lookup(word)
    assert spec is not None and spec.name == name


@pytest.mark.parametrize("word", ["4", "sdxl", "2", "k", "2.2k", ""])
def test_lookup_finds_nothing_for_other_words(word: str) -> None:
    assert DEFAULT_FAMILIES.lookup(word) is None


def test_with_family_returns_a_new_registry() -> None:
    assert EXTENDED.names() == ("2.1", "2.2", "3", "5", "5v", "9")
    assert DEFAULT_FAMILIES.names() == ("2.1", "2.2", "3", "5", "5v"), "the default is unchanged"
    with pytest.raises(ValueError, match="must differ"):
        EXTENDED.with_family(NINE)
    with pytest.raises(ValueError, match="default"):
        Families(specs=(NINE,), default="2.2")


def test_a_task_goes_to_the_preferred_family_when_it_can() -> None:
    assert DEFAULT_FAMILIES.for_task(Task.DEPTH, "3") == "2.2"
    assert DEFAULT_FAMILIES.for_task(Task.DEPTH, "2.1") == "2.2"
    assert DEFAULT_FAMILIES.for_task(Task.IMG2IMG, "3") == "3"
    assert EXTENDED.for_task(Task.INPAINT, "9") == "9"


# ------------------------------------------------------------- each family's spec


@pytest.mark.parametrize("spec", list(DEFAULT_FAMILIES), ids=DEFAULT_FAMILIES.names())
def test_every_spec_is_complete(spec: FamilySpec) -> None:
    assert set(spec.tasks) == {task.value for task in Task}, "every task, supported or refused"
    assert spec.supports(Task.ANIMATE if spec.video else Task.TEXT2IMG)
    for task in Task:
        refusal = spec.refusal(task)
        assert refusal is None or refusal in ERRORS, refusal
    assert ("text2video-5s" if spec.video else "text2img") in spec.checkpoints
    assert spec.has_prior == ("prior" in spec.checkpoints)
    assert spec.steps > 0
    rule = spec.size_rule
    assert rule.multiple > 0 if isinstance(rule, MultipleOf) else len(rule.sizes) > 0
    assert spec.schedulers is None or set(spec.schedulers) <= set(SCHEDULERS)


@pytest.mark.parametrize("spec", list(DEFAULT_FAMILIES), ids=DEFAULT_FAMILIES.names())
def test_every_spec_names_its_pipelines_and_tiny_builder(spec: FamilySpec) -> None:
    pipelines = load_pipelines(spec)
    loaded = {role.checkpoint for role in pipelines.roles.values() if isinstance(role, Load)}
    assert loaded == set(spec.checkpoints), "each checkpoint role is loaded, none is missing"
    assert isinstance(load_tiny_builder(spec), TinyBuilder)


def test_modules_without_the_contract_are_refused() -> None:
    elsewhere = dataclasses.replace(NINE, pipelines="tests.helpers", tiny="tests.helpers")
    with pytest.raises(TypeError, match="PIPELINES"):
        load_pipelines(elsewhere)
    with pytest.raises(TypeError, match="TINY"):
        load_tiny_builder(elsewhere)


def test_the_pure_modules_load_no_torch() -> None:
    code = (
        "import sys, generation.request, generation.families.matrix, bot.chat.grammar, "
        "bot.app.settings, storage.records; "
        "loaded = [m for m in ('torch', 'PIL', 'diffusers', 'numpy') if m in sys.modules]; "
        "print(loaded)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_readme_matrix_is_the_rendered_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    start = lines.index(render_matrix().splitlines()[0])
    end = lines.index("", start)
    assert "\n".join(lines[start:end]) == render_matrix()


def test_the_matrix_has_a_column_per_family() -> None:
    matrix = render_matrix(EXTENDED).splitlines()
    assert matrix[0] == (
        "| task | Kandinsky 2.1 | Kandinsky 2.2 | Kandinsky 3 | Kandinsky 5 | Kandinsky 5 Video"
        " | Kandinsky 9 |"
    )
    assert matrix[2].endswith("| single pipeline | single pipeline | no | single pipeline |")
    assert matrix[5].endswith("| yes | yes | no | no | no | no |"), "mix"
    assert matrix[7].endswith("| no | no | no | yes | no | no |"), "edit"
    assert matrix[8].endswith("| no | no | no | no | yes | no |"), "animate"


def test_hub_checkpoints_come_from_the_specs() -> None:
    registry = ModelRegistry()
    assert registry.get("3", "text2img") == Checkpoint("kandinsky-community/kandinsky-3", "fp16")
    assert registry.families() == ["2.1", "2.2", "3", "5", "5v"]
    assert hub_checkpoints(EXTENDED)["9"] == {"text2img": Checkpoint("example/kandinsky-9")}


def test_a_registry_file_may_name_a_registered_family(tmp_path: Path) -> None:
    (tmp_path / "registry.json").write_text(json.dumps({"9": {"text2img": "k9"}}))
    registry = ModelRegistry.from_file(tmp_path, EXTENDED)
    assert registry.get("9", "text2img").id == "k9"
    assert registry.get("2.2", "prior").id == "kandinsky-community/kandinsky-2-2-prior"
    with pytest.raises(LookupError, match="unknown model family '9'"):
        ModelRegistry.from_file(tmp_path)


# ------------------------------------------------------- a family added in a test


def test_the_grammar_takes_an_added_family() -> None:
    assert parse_command_text("a cat --model 9", EXTENDED).model == "9"
    assert parse_command_text("a cat --model k9", EXTENDED).model == "9"
    with pytest.raises(GrammarError) as caught:
        parse_command_text("a cat --model 9")
    assert str(caught.value) == "--model must be one of 2.1, 2.2, 3, 5, 5v, got '9'"
    with pytest.raises(GrammarError) as caught:
        parse_command_text("a cat --model 10", EXTENDED)
    assert str(caught.value) == "--model must be one of 2.1, 2.2, 3, 5, 5v, 9, got '10'"


def test_validation_takes_an_added_family_with_its_defaults_and_refusals() -> None:
    request = GenerationRequest(model="9", prompt="a cat", width=256, height=384)
    resolved = validate(request, families=EXTENDED).resolved(EXTENDED)
    assert (resolved.steps, resolved.guidance_scale) == (12, 2.5)
    assert (resolved.prior_steps, resolved.prior_guidance_scale) == (None, None)
    assert "prior_steps" not in resolved.recipe(EXTENDED)
    assert supports("9", Task.INPAINT, EXTENDED) and not supports("9", Task.MIX, EXTENDED)

    with pytest.raises(RequestError) as caught:
        validate(request.replace(task=Task.MIX), families=EXTENDED)
    assert (caught.value.field, caught.value.key) == ("model", "k3_no_mix")
    assert str(caught.value) == ERRORS["k3_no_mix"]
    with pytest.raises(RequestError, match="sides must be multiples of 128, and 192 is not"):
        validate(request.replace(width=192), families=EXTENDED)
    with pytest.raises(RequestError, match=r"model must be one of 2\.1, 2\.2, 3, 5, 5v, got '9'"):
        validate(request)


def test_help_and_menus_list_an_added_family() -> None:
    assert "--model 2.1|2.2|3|5|5v --size" in help_text("en")
    assert "--model 2.1|2.2|3|5|5v|9 --size" in help_text("en", EXTENDED)
    assert "--model 2.1|2.2|3|5|5v|9 --size" in help_text("ru", EXTENDED)
    assert ("9", "Kandinsky 9") in EXTENDED.choices()
    assert ("9", "Kandinsky 9") not in DEFAULT_FAMILIES.choices()


def test_workers_serve_an_added_family() -> None:
    assert worker_families([]) == ["2.1", "2.2", "3", "5"], "a video family only when named"
    assert worker_families(["5v"]) == ["5v"]
    assert worker_families(["2.2,3"]) == ["2.2", "3"]
    assert worker_families(["9"], EXTENDED) == ["9"]
    with pytest.raises(SettingsError, match=r"--models lists some of 2\.1, 2\.2, 3, 5, 5v, got 9"):
        worker_families(["9"])


async def test_the_engine_runs_an_added_family_through_its_spec() -> None:
    cache = PipelineCache(ModelRegistry(hub_checkpoints(EXTENDED)), EngineOptions(device="cpu"))
    service = GenerationService([cache], families=EXTENDED)
    try:
        request = service.prepare(GenerationRequest(model="9", prompt="a cat", seed=4))
        result = await service.generate(request.replace(num_images=2))
    finally:
        service.close()
    assert len(result.images) == 2 and result.seeds == [4, 5]
    picture = decode(result.images[0])
    assert picture.size == (768, 768)
    assert picture.text["model"] == "9" and picture.text["steps"] == "12"  # type: ignore[attr-defined]
    assert importlib.import_module(NINE.pipelines).PIPELINES is PIPELINES
