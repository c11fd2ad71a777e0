"""Tip photos: checked from their content, upright, resized, and with no metadata left."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from flask import Flask
from flask_babel import force_locale
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from community.photos import (
    MAX_PHOTO_BYTES,
    PhotoRefused,
    ProcessedPhoto,
    process_photo,
)

#: 44° 50' 45.67" N, 0° 34' 12.34" W (Bordeaux), as EXIF rationals.
LATITUDE = ((44, 1), (50, 1), (4567, 100))
LONGITUDE = ((0, 1), (34, 1), (1234, 100))
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Bordeaux-XMP"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
COMMENT = b"Chez Mamie Jeanne, 12 rue Secrete"


def rational_bytes(value: tuple[int, int]) -> list[bytes]:
    """An EXIF rational as stored, in either byte order."""
    return [struct.pack("<II", *value), struct.pack(">II", *value)]


def two_colour_image(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows where a rotation put things."""
    image = Image.new(mode, size, (0, 0, 255, 255)[: len(mode)])
    image.paste((255, 0, 0, 255)[: len(mode)], (0, 0, size[0] // 2, size[1]))
    return image


def camera_jpeg(size: tuple[int, int] = (3200, 1600), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS and orientation, XMP, a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = tuple(n / d for n, d in LATITUDE)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = tuple(n / d for n, d in LONGITUDE)
    buffer = io.BytesIO()
    two_colour_image(size).save(buffer, "JPEG", quality=90, exif=exif, xmp=XMP, comment=COMMENT)
    return buffer.getvalue()


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_no_metadata(data: bytes) -> None:
    image = reopen(data)
    assert not image.getexif()
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile", "dpi"):
        assert key not in image.info, key
    for marker in (b"Exif", b"GPS", b"PhoneMaker", b"xpacket", b"Bordeaux", COMMENT):
        assert marker not in data, marker
    for value in (*LATITUDE, *LONGITUDE):
        if value[1] != 1:  # (0, 1), (34, 1)… are too common to look for in pixel data
            for packed in rational_bytes(value):
                assert packed not in data


def png_header(width: int, height: int) -> bytes:
    """A PNG with a valid IHDR declaring the size, and a tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def refusal(data: bytes) -> PhotoRefused:
    with pytest.raises(PhotoRefused) as refused:
        process_photo(data)
    return refused.value


def test_the_test_photo_does_carry_the_metadata() -> None:
    """Control: the assertions below would see the metadata if it were still there."""
    data = camera_jpeg()
    image = reopen(data)

    assert image.getexif()[ExifTags.Base.Orientation] == 6
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert image.info["comment"] == COMMENT
    assert "xmp" in image.info
    assert b"Exif" in data
    assert any(packed in data for packed in rational_bytes(LATITUDE[2]))


def test_camera_photo_loses_exif_gps_xmp_and_comment() -> None:
    photo = process_photo(camera_jpeg())

    assert_no_metadata(photo.data)
    assert_no_metadata(photo.thumbnail.data)


def test_orientation_is_applied_then_resized_to_fit() -> None:
    photo = process_photo(camera_jpeg(size=(3200, 1600), orientation=6), max_side=1600)

    assert (photo.width, photo.height) == (800, 1600)
    image = reopen(photo.data)
    assert image.size == (800, 1600)
    # Orientation 6: the stored left (red) half is shown at the top.
    top, bottom = image.getpixel((400, 100)), image.getpixel((400, 1500))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 > top[2]
    assert bottom[2] > 200 > bottom[0]


def test_thumbnail_fits_its_side() -> None:
    photo = process_photo(camera_jpeg(size=(3200, 1600), orientation=6))

    assert (photo.thumbnail.width, photo.thumbnail.height) == (200, 400)
    assert reopen(photo.thumbnail.data).size == (200, 400)
    assert photo.thumbnail.format == "JPEG"


def test_opaque_photo_becomes_a_progressive_jpeg() -> None:
    photo = process_photo(encode(two_colour_image((1000, 600)), "PNG"))

    assert isinstance(photo, ProcessedPhoto)
    assert (photo.format, photo.content_type, photo.extension) == ("JPEG", "image/jpeg", "jpg")
    assert (photo.width, photo.height) == (1000, 600)  # never enlarged
    image = reopen(photo.data)
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert image.info.get("progressive") or image.info.get("progression")


def test_png_with_transparency_becomes_webp_and_keeps_it() -> None:
    source = two_colour_image((2000, 1000), "RGBA")
    source.putalpha(Image.linear_gradient("L").resize((2000, 1000)))

    photo = process_photo(encode(source, "PNG"))

    assert (photo.format, photo.content_type, photo.extension) == ("WEBP", "image/webp", "webp")
    assert (photo.width, photo.height) == (1600, 800)
    image = reopen(photo.data)
    assert image.mode == "RGBA"
    alpha = image.getchannel("A").histogram()
    assert sum(alpha[:10]) > 0  # nearly transparent pixels…
    assert sum(alpha[246:]) > 0  # …and nearly opaque ones survive
    assert_no_metadata(photo.data)


def test_png_with_an_opaque_alpha_channel_becomes_jpeg() -> None:
    photo = process_photo(encode(two_colour_image((300, 200), "RGBA"), "PNG"))

    assert photo.format == "JPEG"


def test_palette_png_with_a_transparent_colour_keeps_it() -> None:
    image = Image.new("P", (120, 80), 0)
    image.putpalette([255, 255, 255, 200, 30, 30])
    image.paste(1, (0, 0, 60, 80))

    photo = process_photo(encode(image, "PNG", transparency=0))

    assert photo.format == "WEBP"
    assert reopen(photo.data).getchannel("A").getextrema() == (0, 255)


def test_png_metadata_chunks_are_dropped() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    text = PngInfo()
    text.add_text("Comment", "Bordeaux-text")
    data = encode(two_colour_image((200, 100)), "PNG", exif=exif, icc_profile=srgb, pnginfo=text)
    assert b"PhoneMaker" in data

    photo = process_photo(data)

    assert_no_metadata(photo.data)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    cmyk = Image.new("CMYK", (200, 100), (0, 255, 255, 0))  # pure red ink

    photo = process_photo(encode(cmyk, "JPEG"))

    image = reopen(photo.data)
    assert image.mode == "RGB"
    pixel = image.getpixel((100, 50))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel
    assert red > 200 > max(green, blue)


def test_an_unusable_colour_profile_is_ignored_not_refused() -> None:
    data = encode(two_colour_image((200, 100)), "JPEG", icc_profile=b"not a profile" * 20)

    photo = process_photo(data)

    assert_no_metadata(photo.data)


def test_webp_with_exif_becomes_a_clean_jpeg() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    data = encode(two_colour_image((400, 300)), "WEBP", exif=exif, xmp=XMP)

    photo = process_photo(data)

    assert photo.format == "JPEG"
    assert_no_metadata(photo.data)


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    photo = process_photo(encode(Image.new("I;16", (50, 50), 32896), "PNG"))

    assert reopen(photo.data).getpixel((25, 25)) in {(127, 127, 127), (128, 128, 128)}


SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
)
HTML_AS_JPEG = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("svg", SVG, "unsupported_type"),
        ("bare svg", b"  <svg onload=alert(1)>", "unsupported_type"),
        ("gif", encode(Image.new("P", (10, 10)), "GIF"), "unsupported_type"),
        ("bmp", encode(Image.new("RGB", (10, 10)), "BMP"), "unsupported_type"),
        ("tiff", encode(Image.new("RGB", (10, 10)), "TIFF"), "unsupported_type"),
        ("heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "unsupported_type"),
        ("html renamed .jpg", HTML_AS_JPEG, "not_an_image"),
        ("empty", b"", "not_an_image"),
        ("jpeg signature only", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "not_an_image"),
        ("truncated jpeg", camera_jpeg(size=(640, 480))[:5000], "not_an_image"),
        ("truncated png", encode(two_colour_image((300, 300)), "PNG")[:-40], "not_an_image"),
        ("png bomb 50000×50000", png_header(50_000, 50_000), "too_many_pixels"),
        ("png over the app's limit", png_header(9000, 6000), "too_many_pixels"),
    ],
)
def test_refused(name: str, data: bytes, reason: str) -> None:
    refused = refusal(data)

    assert refused.reason_code == reason
    assert refused.message
    assert str(refused) == refused.message


def test_jpeg_claiming_huge_dimensions_is_refused() -> None:
    data = bytearray(encode(Image.new("RGB", (1, 1)), "JPEG"))
    start_of_frame = data.index(b"\xff\xc0")
    data[start_of_frame + 5 : start_of_frame + 9] = struct.pack(">HH", 60_000, 60_000)

    assert refusal(bytes(data)).reason_code == "too_many_pixels"


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    refused = refusal(b"\xff\xd8\xff" + b"\x00" * MAX_PHOTO_BYTES)

    assert refused.reason_code == "too_large_file"
    assert refused.message == "La photo dépasse 12 Mo."


def test_refusal_messages_are_french_by_default() -> None:
    assert refusal(HTML_AS_JPEG).message == "Ce fichier n'est pas une image."
    assert refusal(SVG).message == (
        "Ce format d'image n'est pas accepté : envoyez une photo JPEG, PNG ou WebP."
    )


def test_refusal_messages_are_translated(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        refused = refusal(SVG)

    assert refused.message == "This image format is not accepted: send a JPEG, PNG or WebP photo."
