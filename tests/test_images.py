"""Pictures in: caps, bombs, damaged files, EXIF, masks, the resize policy; recipes out."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image

from bot.i18n.catalogue import describe_error
from generation.images import (
    PICTURE_KINDS,
    decode_image,
    decode_mask,
    encode_png,
    fit,
    has_transparency,
    read_recipe,
)
from generation.messages import ERRORS
from generation.request import RequestError
from tests.helpers import png

RUSSIAN_NOUNS = {"picture": "картинк", "mask": "маск", "depth_map": "карт"}


def refused(data: bytes, **caps: int) -> str:
    with pytest.raises(RequestError) as caught:
        decode_image(data, **caps)
    return str(caught.value)


def test_truncated_png_is_refused() -> None:
    data = png((256, 256), "green")
    assert "damaged or cut short" in refused(data[: len(data) // 2])


def test_gif_and_text_posing_as_images_are_refused() -> None:
    gif = io.BytesIO()
    Image.new("RGB", (32, 32)).save(gif, format="GIF")
    assert "not a PNG, JPEG or WebP" in refused(gif.getvalue())
    assert "not a PNG, JPEG or WebP" in refused(b"<html>not a picture</html>")
    assert "is empty" in refused(b"")


def test_decompression_bomb_is_refused_not_warned() -> None:
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")  # 100 megapixels, a few KB
    assert len(bomb.getvalue()) < 100_000
    message = refused(bomb.getvalue())
    assert "too large" in message and "40 megapixels" in message


def test_byte_and_pixel_caps_are_configurable() -> None:
    data = png((128, 128))
    assert "the limit is" in refused(data, max_bytes=100)
    assert "too large (128x128 pixels)" in refused(data, max_pixels=128 * 127)


def test_exif_orientation_is_applied_and_mode_converted() -> None:
    image = Image.new("L", (40, 20), 200)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    decoded = decode_image(buffer.getvalue())
    assert decoded.size == (20, 40)
    assert decoded.mode == "RGB"


def test_transparent_png_gives_its_own_mask() -> None:
    image = Image.new("RGBA", (8, 8), (10, 20, 30, 255))
    image.putpixel((2, 3), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    assert has_transparency(data)
    assert not has_transparency(png((8, 8)))
    mask = decode_mask(data)
    assert mask.mode == "L"
    assert mask.getpixel((2, 3)) == 255 and mask.getpixel((0, 0)) == 0
    assert decode_image(data).getpixel((2, 3)) == (255, 255, 255)


def test_grey_mask_is_thresholded_white_means_repaint() -> None:
    image = Image.new("L", (4, 1))
    for x, value in enumerate((0, 127, 128, 255)):
        image.putpixel((x, 0), value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    mask = decode_mask(buffer.getvalue())
    assert [mask.getpixel((x, 0)) for x in range(4)] == [0, 0, 255, 255]


def test_fit_covers_then_centre_crops() -> None:
    image = Image.new("RGB", (200, 100), "red")
    for x in range(50):
        for y in range(100):
            image.putpixel((x, y), (0, 0, 255))  # a blue left quarter is cut off
    fitted = fit(image, 64, 64)
    assert fitted.size == (64, 64)
    assert fitted.getpixel((0, 32))[0] > 200


def test_png_recipe_round_trip_with_unicode() -> None:
    recipe = {"prompt": "кот в сапогах", "seed": 3, "model": "2.2", "version": "0.1.0"}
    data = encode_png(Image.new("RGB", (8, 8)), recipe)
    assert read_recipe(data) == recipe
    assert Image.open(io.BytesIO(data)).text["prompt"] == "кот в сапогах"  # type: ignore[attr-defined]
    with pytest.raises(RequestError, match="no Kandinsky bot recipe"):
        read_recipe(png())
    with pytest.raises(RequestError, match="not a PNG"):
        read_recipe(b"nope")


def _bomb() -> bytes:
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")
    return bomb.getvalue()


@pytest.mark.parametrize("field", sorted(PICTURE_KINDS))
def test_each_refusal_names_its_kind_of_picture_in_every_language(field: str) -> None:
    kind = PICTURE_KINDS[field]
    whole = png((128, 128))
    cases: list[tuple[str, bytes, dict[str, int]]] = [
        ("empty", b"", {}),
        ("too_heavy", whole, {"max_bytes": 100}),
        ("not_picture", b"<html>not a picture</html>", {}),
        ("too_many_pixels", whole, {"max_pixels": 128 * 127}),
        ("damaged", whole[: len(whole) // 2], {}),
        ("too_large", _bomb(), {}),
    ]
    for problem, data, caps in cases:
        with pytest.raises(RequestError) as caught:
            decode_image(data, field=field, **caps)
        error = caught.value
        assert error.field == field
        assert error.key == f"{kind}_{problem}"
        assert str(error) == ERRORS[error.key].format(**error.values)
        russian = describe_error(error, "ru")
        assert RUSSIAN_NOUNS[kind] in russian.lower(), russian
        assert describe_error(error, "ar") != str(error)


def test_a_recipe_written_after_the_pixels_is_read_too() -> None:
    """The bot's PNGs carry the recipe before the pixels (read without decoding them); a
    PNG that carries it after them is read as well."""
    recipe = {"prompt": "a fox", "seed": 3}
    data = png()  # no recipe
    body = b"kandinsky-bot\x00\x00\x00\x00\x00" + json.dumps(recipe).encode()
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + body))
    end = data.rindex(b"IEND") - 4
    assert read_recipe(data[:end] + chunk + data[end:]) == recipe
