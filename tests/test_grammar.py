"""The shared command grammar: options, quotes, dashes, errors, the mix syntax."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.chat.grammar import (
    OPTION_NAMES,
    GrammarError,
    ParsedText,
    format_options,
    parse_command_text,
)
from bot.chat.mix import MixSpec, parse_mix
from bot.i18n.catalogue import describe_error
from generation.families import DEFAULT_FAMILIES, MultipleOf, SizeList
from generation.request import (
    MAX_SEED,
    SCHEDULERS,
    GenerationRequest,
    RequestError,
)
from generation.sizes import size_for_aspect

FULL = (
    "a lighthouse at dusk --model 2.2 --size 768x512 --seed 42 --steps 30 --cfg 4 "
    '--prior-cfg 1 --prior-steps 20 --strength 0.6 --neg "blurry, low quality" '
    "--scheduler ddim --n 2"
)


def refused(text: str) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse_command_text(text)
    return caught.value


def refused_mix(text: str) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse_mix(text)
    return caught.value


# --------------------------------------------------------------------------- options


def test_every_option_in_one_command() -> None:
    parsed = parse_command_text(FULL)
    assert parsed == ParsedText(
        prompt="a lighthouse at dusk",
        model="2.2",
        size=(768, 512),
        seed=42,
        steps=30,
        guidance_scale=4.0,
        prior_guidance_scale=1.0,
        prior_steps=20,
        strength=0.6,
        negative_prompt="blurry, low quality",
        scheduler="ddim",
        num_images=2,
    )


@pytest.mark.parametrize(
    ("text", "attr", "value"),
    [
        ("--model 2.1", "model", "2.1"),
        ("--model 3", "model", "3"),
        ("--model k2.2", "model", "2.2"),
        ("--model Kandinsky-3", "model", "3"),
        ("--model kandinsky2.1", "model", "2.1"),
        ("--size 1024x768", "size", (1024, 768)),
        ("--size 512×512", "size", (512, 512)),
        ("--ar 16:9", "aspect", (16, 9)),
        ("--aspect 2:3", "aspect", (2, 3)),
        ("--ar 4:1", "aspect", (4, 1)),
        ("--seed 0", "seed", 0),
        (f"--seed {MAX_SEED}", "seed", MAX_SEED),
        ("--steps 30", "steps", 30),
        ("--cfg 7.5", "guidance_scale", 7.5),
        ("--guidance 3", "guidance_scale", 3.0),
        ("--cfg 4,5", "guidance_scale", 4.5),
        ("--prior-cfg 1", "prior_guidance_scale", 1.0),
        ("--prior-guidance .5", "prior_guidance_scale", 0.5),
        ("--prior_cfg 2", "prior_guidance_scale", 2.0),
        ("--prior-steps 20", "prior_steps", 20),
        ("--strength 0.6", "strength", 0.6),
        ("--neg blurry", "negative_prompt", "blurry"),
        ("--negative 'low quality'", "negative_prompt", "low quality"),
        ('--neg ""', "negative_prompt", ""),
        ("--scheduler ddim", "scheduler", "ddim"),
        ("--sampler DPM++", "scheduler", "dpm++"),
        ("--n 2", "num_images", 2),
        ("--count 3", "num_images", 3),
        ("--init", "init", True),
        ("--SEED 5", "seed", 5),
    ],
)
def test_each_option_and_alias(text: str, attr: str, value: object) -> None:
    parsed = parse_command_text(f"a cat {text}")
    assert getattr(parsed, attr) == value
    assert parsed.prompt == "a cat"


def test_range_checks_are_left_to_validate() -> None:
    parsed = parse_command_text("x --steps 0 --cfg -1 --strength 2 --n 9 --size 700x3000")
    assert (parsed.steps, parsed.guidance_scale, parsed.strength) == (0, -1.0, 2.0)
    assert (parsed.num_images, parsed.size) == (9, (700, 3000))


@pytest.mark.parametrize(
    "text",
    [
        "--seed=42 --neg=blurry a cat",
        "—seed 42 —neg blurry a cat",
        "–seed 42 –neg blurry a cat",
        "—seed=42 a –neg=blurry cat",
        "--seed= 42 a cat --neg blurry",
    ],
)
def test_equals_and_phone_dashes(text: str) -> None:
    parsed = parse_command_text(text)
    assert (parsed.prompt, parsed.seed, parsed.negative_prompt) == ("a cat", 42, "blurry")


@pytest.mark.parametrize(
    "text",
    [
        "--seed 7 --steps 20 a red fox",
        "a red --seed 7 fox --steps 20",
        "a red fox --seed 7 --steps 20",
        "  a   red\n fox\t--seed 7 --steps 20  ",
    ],
)
def test_options_anywhere(text: str) -> None:
    parsed = parse_command_text(text)
    assert (parsed.prompt, parsed.seed, parsed.steps) == ("a red fox", 7, 20)


@pytest.mark.parametrize(
    "quoted",
    ['"a  b, c"', "'a  b, c'", "“a  b, c”", "«a  b, c»", "‘a  b, c’", "„a  b, c“"],
)
def test_quotes_of_each_kind(quoted: str) -> None:
    assert parse_command_text(f"cat --neg {quoted} dog").negative_prompt == "a  b, c"
    assert parse_command_text(f"cat --neg={quoted} dog").negative_prompt == "a  b, c"
    assert parse_command_text(f"cat --neg={quoted} dog").prompt == "cat dog"


def test_apostrophes_and_quotes_in_the_prompt_are_kept() -> None:
    parsed = parse_command_text("""--neg 'don't blur' it's a sign saying "OPEN  24h" '90s""")
    assert parsed.negative_prompt == "don't blur"
    assert parsed.prompt == """it's a sign saying "OPEN  24h" '90s"""


def test_a_quoted_option_is_prompt_text() -> None:
    parsed = parse_command_text('a poster of "--seed 5" --seed 6')
    assert (parsed.prompt, parsed.seed) == ('a poster of "--seed 5"', 6)
    assert parse_command_text('--neg "--seed" x').negative_prompt == "--seed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'x --neg "oops --size 64x64',
            'the quote " after --neg is never closed (at "oops --size 64x64); '
            'put a closing " where the value ends',
        ),
        (
            "x —negative=«dark  night",
            "the quote « after --negative is never closed (at «dark  night); "
            "put a closing » where the value ends",
        ),
        (
            'a cat --neg "blurry, dark and a long tail of words --seed 3',
            'the quote " after --neg is never closed (at "blurry, dark and a lon…); '
            'put a closing " where the value ends',
        ),
        ("x --model '", "the quote ' after --model is never closed (at '); "
         "put a closing ' where the value ends"),
        ("x --init=„on", "the quote „ after --init is never closed (at „on); "
         "put a closing “ where the value ends"),
    ],
)  # fmt: skip
def test_an_unclosed_quote_in_a_value_is_refused_where_it_opens(text: str, message: str) -> None:
    error = refused(text)
    assert str(error) == message
    assert error.key == "unclosed_quote"


def test_an_unclosed_quote_in_a_value_is_said_in_each_language() -> None:
    error = refused('x --neg "oops --size 64x64')
    assert describe_error(error, "ru").startswith('Кавычка " после --neg не закрыта (в "oops')
    assert describe_error(error, "ar").startswith('علامة الاقتباس " بعد --neg غير مغلقة')


def test_unclosed_quote_in_the_prompt_is_a_plain_character() -> None:
    parsed = parse_command_text("'tis a “cat --seed 3")
    assert (parsed.prompt, parsed.seed) == ("'tis a “cat", 3)


def test_dashes_that_are_not_options_stay_in_the_prompt() -> None:
    text = "a cat — sleeping -- on a -5 mat --1 well-lit"
    assert parse_command_text(text) == ParsedText(prompt=text)


def test_negative_numbers_are_values() -> None:
    assert parse_command_text("x --cfg -1.5").guidance_scale == -1.5


def test_nothing_given() -> None:
    assert parse_command_text("   ") == ParsedText(prompt="")
    assert parse_command_text("").given() == {}


# ---------------------------------------------------------------------------- errors


def test_grammar_error_is_a_request_error() -> None:
    error = refused("--seed abc")
    assert isinstance(error, RequestError)
    assert (error.field, error.value) == ("seed", "abc")
    assert str(error) == "--seed must be a whole number, got 'abc'"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("a --sed 4", "option", "unknown option --sed; did you mean --seed?"),
        ("a —stpes 4", "option", "unknown option --stpes; did you mean --steps?"),
        ("a --negativ x", "option", "unknown option --negativ; did you mean --negative?"),
        ("a --seed", "seed", "--seed needs a value, e.g. --seed 42"),
        ("a --seed --steps 3", "seed", "--seed needs a value, e.g. --seed 42"),
        ("a --neg", "negative_prompt", '--neg needs a value, e.g. --neg "blurry"'),
        ("a --model", "model", "--model needs a value, e.g. --model 2.2"),
        ("--seed 1 a --seed 2", "seed", "--seed is given more than once; give it once"),
        ("--cfg 1 --guidance 2", "guidance_scale", "--cfg is given more than once; give it once"),
        ("--init --init", "depth_img2img", "--init is given more than once; give it once"),
        (
            "x --size 512x512 --ar 1:1",
            "size",
            "--size and --ar cannot be used together; give one of them",
        ),
        ("x --init=yes", "depth_img2img", "--init takes no value, got 'yes'"),
        ("x --seed 4.5", "seed", "--seed must be a whole number, got '4.5'"),
        ("x --seed -1", "seed", f"--seed must be between 0 and {MAX_SEED}, got -1"),
        ("x --seed 4294967296", "seed", f"--seed must be between 0 and {MAX_SEED}, got 4294967296"),
        ("x --steps ten", "steps", "--steps must be a whole number, got 'ten'"),
        ("x --n 1.5", "num_images", "--n must be a whole number, got '1.5'"),
        ("x --prior-steps ²", "prior_steps", "--prior-steps must be a whole number, got '²'"),
        ("x --cfg high", "guidance_scale", "--cfg must be a number, got 'high'"),
        ("x --cfg nan", "guidance_scale", "--cfg must be a number, got 'nan'"),
        ("x --cfg 1e999", "guidance_scale", "--cfg must be a finite number, got '1e999'"),
        ("x --strength inf", "strength", "--strength must be a number, got 'inf'"),
        ("x --model 4", "model", "--model must be one of 2.1, 2.2, 3, 5, 5v, got '4'"),
        ("x --model sdxl", "model", "--model must be one of 2.1, 2.2, 3, 5, 5v, got 'sdxl'"),
        ("x --size big", "size", "--size must look like 768x512, got 'big'"),
        ("x --size ²x²", "size", "--size must look like 768x512, got '²x²'"),
        ("x --ar wide", "aspect", "--ar must look like 16:9, got 'wide'"),
        ("x --ar 0:1", "aspect", "--ar needs two positive numbers, like 16:9, got '0:1'"),
        ("x --ar 5:1", "aspect", "--ar must be between 1:4 and 4:1, got '5:1'"),
        ("x --aspect 1:9", "aspect", "--aspect must be between 1:4 and 4:1, got '1:9'"),
        (
            "x --scheduler dim",
            "scheduler",
            f"--scheduler must be one of {', '.join(SCHEDULERS)}, got 'dim'; did you mean ddim?",
        ),
    ],
)
def test_errors_name_the_option_and_value(text: str, field: str, message: str) -> None:
    error = refused(text)
    assert (error.field, str(error)) == (field, message)


def test_unknown_option_with_nothing_close_lists_the_options() -> None:
    message = str(refused("a --zzzz 1"))
    assert message == f"unknown option --zzzz; the options are {', '.join(OPTION_NAMES)}"


def test_option_names() -> None:
    assert OPTION_NAMES[:3] == ("--model", "--size", "--ar")
    assert "--neg" in OPTION_NAMES and "--init" in OPTION_NAMES
    assert "--from" in OPTION_NAMES and "--batch" in OPTION_NAMES
    assert "--seconds" in OPTION_NAMES and "--fps" in OPTION_NAMES and "--fast" in OPTION_NAMES
    assert len(OPTION_NAMES) == 18


def test_long_bad_values_are_shortened_in_messages() -> None:
    message = str(refused("x --seed " + "9" * 5000))
    assert len(message) < 200 and message.startswith("--seed must be a whole number")


# ----------------------------------------------------------------------- given, format


def test_given_uses_request_field_names() -> None:
    parsed = parse_command_text(FULL + " --init")
    given_options = parsed.given()
    assert given_options["width"] == 768 and given_options["height"] == 512
    assert given_options["depth_img2img"] is True
    assert "size" not in given_options and "init" not in given_options
    request = GenerationRequest(prompt=parsed.prompt).replace(**given_options)
    assert (request.model, request.num_images, request.scheduler) == ("2.2", 2, "ddim")
    assert parse_command_text("x --ar 16:9").given() == {}


def test_dimensions_from_size_or_aspect() -> None:
    area = 768 * 768
    sixty_four, one_twenty_eight = MultipleOf(64), MultipleOf(128)
    assert parse_command_text("x --size 512x768").dimensions(area, rule=sixty_four) == (512, 768)
    assert parse_command_text("x --ar 16:9").dimensions(area, rule=sixty_four) == size_for_aspect(
        16, 9, area, rule=sixty_four
    )
    assert parse_command_text("x --ar 16:9").dimensions(area, rule=one_twenty_eight) == (1024, 512)
    assert parse_command_text("x").dimensions(area, rule=sixty_four) is None
    listed = SizeList(((1024, 1024), (1280, 768)))
    assert parse_command_text("x --ar 16:9").dimensions(area, rule=listed) == (1280, 768)
    assert parse_command_text("x --size 64x64").dimensions(area, rule=listed) == (64, 64)


def test_format_options_writes_a_command() -> None:
    parsed = parse_command_text(FULL + " --init")
    assert format_options(parsed) == (
        "--model 2.2 --size 768x512 --seed 42 --steps 30 --cfg 4.0 --prior-cfg 1.0 "
        '--prior-steps 20 --strength 0.6 --neg "blurry, low quality" --scheduler ddim '
        "--n 2 --init"
    )
    assert format_options(ParsedText(prompt="x")) == ""


@pytest.mark.parametrize(
    ("negative", "written"),
    [
        ('say "hi" there', "--neg 'say \"hi\" there'"),
        ("""a "b" 'c' d""", "--neg “a \"b\" 'c' d”"),
        ('end"', "--neg 'end\"'"),
        ('in"side', '--neg "in"side"'),
    ],
)
def test_format_picks_a_quote_that_reads_back(negative: str, written: str) -> None:
    parsed = ParsedText(prompt="p", negative_prompt=negative)
    assert format_options(parsed) == written
    assert parse_command_text(format_options(parsed) + " p") == parsed


# ------------------------------------------------------------------------------- mix


def test_mix_texts_and_pictures() -> None:
    assert parse_mix("a cat::0.3 | a dog::0.7") == [
        MixSpec(text="a cat", weight=0.3),
        MixSpec(text="a dog", weight=0.7),
    ]
    assert parse_mix("#1::0.5 | a watercolor::0.5 | #3") == [
        MixSpec(picture=0, weight=0.5),
        MixSpec(text="a watercolor", weight=0.5),
        MixSpec(picture=2, weight=1.0),
    ]


def test_mix_details() -> None:
    assert parse_mix("a cat") == [MixSpec(text="a cat")]
    assert parse_mix("c++ :: std::vector :: 0,5|#2 :: 0") == [
        MixSpec(text="c++ :: std::vector", weight=0.5),
        MixSpec(picture=1, weight=0.0),
    ]
    assert parse_mix("# 1 | #one") == [MixSpec(text="# 1"), MixSpec(text="#one")]


def test_mix_after_the_options() -> None:
    parsed = parse_command_text("--model 2.1 a cat::0.3 | #1::0.7 --seed 3")
    assert (parsed.model, parsed.seed) == ("2.1", 3)
    assert parse_mix(parsed.prompt) == [
        MixSpec(text="a cat", weight=0.3),
        MixSpec(picture=0, weight=0.7),
    ]


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("", "mix", "mix item 1 is empty; write the items like: a cat::0.3 | a dog::0.7"),
        ("a || b", "mix", "mix item 2 is empty; write the items like: a cat::0.3 | a dog::0.7"),
        ("a | ::0.5", "mix", "mix item 2 is empty; write the items like: a cat::0.3 | a dog::0.7"),
        ("a::x", "weight", "the weight of mix item 1 must be a number, got 'x'"),
        ("a | b::", "weight", "the weight of mix item 2 must be a number, got ''"),
        ("a::nan", "weight", "the weight of mix item 1 must be a number, got 'nan'"),
        ("a::1e999", "weight", "the weight of mix item 1 must be a finite number, got '1e999'"),
        ("a::-0.5", "weight", "the weight of mix item 1 must be 0 or more, got -0.5"),
        ("#0 | a", "mix", "pictures are numbered from #1, so mix item 1 cannot be #0"),
        (
            "a | #12345678",
            "mix",
            "pictures are numbered from #1, so mix item 2 cannot be #12345678",
        ),
    ],
)
def test_mix_errors(text: str, field: str, message: str) -> None:
    error = refused_mix(text)
    assert (error.field, str(error)) == (field, message)


def test_mix_spec_is_a_text_or_a_picture() -> None:
    with pytest.raises(GrammarError):
        MixSpec()
    with pytest.raises(GrammarError):
        MixSpec(text="a", picture=0)


# -------------------------------------------------------------------------- properties

FRAGMENTS = st.sampled_from(
    [
        " ", "  ", "\n", "--seed 4", "--seed", "—model 3", "–cfg=2", "--neg", "--neg=",
        "--init", "--size 512x512", "--ar 3:2", "--n", "--sed", "=", '"', "'", "“", "”",
        "„", "«", "»", "‘", "’", "|", "::", "::0.5", "#1", "#0", "-", "—", "–", "x", "é",
        "\x00", "\u00a0", "1e999", ",",
    ]
)  # fmt: skip
CHATTY = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=24).map("".join)
ANY_TEXT = st.one_of(st.text(), CHATTY)
OPTION_TEXTS = (
    "--seed 4", "—model k3", "–cfg=2,5", "--neg «a  b»", "--init", "--ar 3:2", "--steps=7",
    "--n '2'", "--scheduler=DDIM", "--strength .5", "--prior-cfg 1e-3", "--prior-steps -2",
    "--size 640x448",
)  # fmt: skip


@st.composite
def commands(draw: st.DrawFn) -> str:
    """Valid options (never --size with --ar) shuffled among arbitrary words."""
    options = draw(st.lists(st.sampled_from(OPTION_TEXTS), unique=True))
    if "--ar 3:2" in options and "--size 640x448" in options:
        options.remove("--ar 3:2")
    words = draw(st.lists(st.text(max_size=8), max_size=6))
    return " ".join(draw(st.permutations(options + words)))


@settings(max_examples=300)
@given(ANY_TEXT)
def test_parse_command_text_returns_or_raises_grammar_error(text: str) -> None:
    try:
        parsed = parse_command_text(text)
    except GrammarError as error:
        assert str(error)
        return
    assert parsed.prompt == parsed.prompt.strip()
    GenerationRequest(prompt=parsed.prompt).replace(**parsed.given())


@settings(max_examples=300)
@given(ANY_TEXT)
def test_parse_mix_returns_or_raises_grammar_error(text: str) -> None:
    try:
        items = parse_mix(text)
    except GrammarError as error:
        assert str(error)
        return
    assert len(items) == text.count("|") + 1
    assert all(item.weight >= 0 for item in items)


@settings(max_examples=300)
@given(st.one_of(ANY_TEXT, commands()))
def test_parsed_text_reads_back_from_its_own_command(text: str) -> None:
    try:
        parsed = parse_command_text(text)
    except GrammarError:
        assume(False)
        return
    assert parse_command_text(format_options(parsed) + " " + parsed.prompt) == parsed


def closes_everywhere(value: str) -> bool:
    """Whether every quote style's closing mark stands before whitespace or the end."""

    def blocked(closer: str) -> bool:
        return any(
            char == closer and (index + 1 == len(value) or value[index + 1].isspace())
            for index, char in enumerate(value)
        )

    return all(blocked(closer) for closer in "\"'”»’")


QUOTY = "\"'”»’“«‘„ ab-\n"
NO_DASHES = str.maketrans("", "", "-—–")
finite = st.floats(allow_nan=False, allow_infinity=False)
whole = st.integers(-(10**9), 10**9)
aspects = st.tuples(st.integers(1, 500), st.integers(1, 500)).filter(
    lambda pair: max(pair) <= 4 * min(pair)
)
sizes_or_aspects = st.one_of(
    st.tuples(st.none(), st.none()),
    st.tuples(st.tuples(st.integers(0, 99999), st.integers(0, 99999)), st.none()),
    st.tuples(st.none(), aspects),
)


@st.composite
def parsed_texts(draw: st.DrawFn) -> ParsedText:
    size, aspect = draw(sizes_or_aspects)
    return ParsedText(
        prompt=draw(st.text().map(lambda raw: parse_command_text(raw.translate(NO_DASHES)).prompt)),
        model=draw(st.none() | st.sampled_from(DEFAULT_FAMILIES.names())),
        size=size,
        aspect=aspect,
        seed=draw(st.none() | st.integers(0, MAX_SEED)),
        steps=draw(st.none() | whole),
        guidance_scale=draw(st.none() | finite),
        prior_guidance_scale=draw(st.none() | finite),
        prior_steps=draw(st.none() | whole),
        strength=draw(st.none() | finite),
        negative_prompt=draw(st.none() | st.text() | st.text(alphabet=QUOTY)),
        scheduler=draw(st.none() | st.sampled_from(SCHEDULERS)),
        num_images=draw(st.none() | whole),
        init=draw(st.booleans()),
    )


@settings(max_examples=300)
@given(parsed_texts())
def test_format_options_round_trips(parsed: ParsedText) -> None:
    assume(parsed.negative_prompt is None or not closes_everywhere(parsed.negative_prompt))
    command = format_options(parsed)
    assert parse_command_text(command + " " + parsed.prompt) == parsed
    options_only = parse_command_text(command)
    assert options_only == dataclasses.replace(parsed, prompt="")


# ----------------------------------------------------------------------- long input

LONG = 100_000


@pytest.mark.parametrize(
    "text",
    [
        "word " * (LONG // 5),
        "x" * LONG,
        '"' * LONG,
        "'a " * (LONG // 3),
        "“a” " * (LONG // 4),
        "= " * (LONG // 2),
        "--neg=" + '"' * LONG,
    ],
)
def test_long_input_is_read_quickly(text: str) -> None:
    parsed = parse_command_text(text + " --seed 1")
    assert parsed.seed == 1 or parsed.negative_prompt is not None
    assert len(parsed.prompt) <= len(text)
    if text.startswith("word"):
        assert len(parsed.prompt) == len(text) - 1


def test_long_errors_and_mixes_are_quick() -> None:
    assert len(str(refused("--" + "a" * LONG))) < 300
    assert len(str(refused("x --neg " + "a " * LONG + "--neg b"))) < 100
    assert len(parse_mix("a::0.5|" * (LONG // 7) + "b")) == LONG // 7 + 1
    assert len(refused_mix("a::" + "1" * LONG).message) < 200
