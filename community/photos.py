"""Photos of a tip: checked from their content, turned upright, resized and stripped.

Only JPEG, PNG and WebP are decoded, and Pillow is told so (`Image.open(formats=…)`): the
other decoders it carries (EPS through Ghostscript, PSD, TGA…) never see an upload. The file
name and the browser's content type are not trusted; a few magic numbers only tell an
unsupported image (GIF, SVG, HEIC…) from something that is not an image, for the message.

What comes out is a new image built from the pixels alone, so nothing of the original file's
metadata can follow it: no EXIF (GPS, camera, date), no XMP, no comment, no ICC profile (the
colours are converted to sRGB first). Opaque images become progressive JPEG; images with real
transparency become WebP (lossy colour, lossless alpha), which every current browser shows and
which is several times smaller than a PNG of the same photo.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from core.i18n import gettext as _

logger = logging.getLogger(__name__)

#: Largest upload accepted, in bytes.
MAX_PHOTO_BYTES = 12 * 1024 * 1024
#: Largest image accepted, in pixels (width × height), checked from the header before decoding:
#: 50 MP covers phone cameras and keeps a decoded RGBA image under 200 MB. Pillow's own
#: process-wide MAX_IMAGE_PIXELS is left alone (other modules draw images too); its
#: DecompressionBomb error and warning are caught as well.
MAX_PHOTO_PIXELS = 50_000_000
#: Longest side of the image shown in a tip, and of its thumbnail in lists.
PHOTO_SIDE = 1600
THUMBNAIL_SIDE = 400
JPEG_QUALITY = 85
WEBP_QUALITY = 85

#: Pillow formats decoded. Phone cameras often write MPO (a JPEG with a second picture): the
#: JPEG opener returns those as format "MPO", and only the first picture is kept.
_DECODED_FORMATS = ("JPEG", "PNG", "WEBP")
_CONTENT_TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp"}
#: Beginnings of image files that are recognised but not accepted.
_OTHER_IMAGE_SIGNATURES = (
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",
    b"8BPS",
    b"\xff\x4f\xff\x51",
    b"\x00\x00\x00\x0cjP  ",
    b"\x00\x00\x00\x0cJXL ",
    b"\xff\x0a",
    b"qoif",
    b"%!PS",
)
_ISO_MEDIA_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"mif1", b"msf1", b"avif", b"avis")


class PhotoRefused(ValueError):
    """An upload that is not turned into a photo: a reason code and a translated message."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


@dataclass(frozen=True)
class EncodedImage:
    """Bytes of an encoded image with what is needed to store and serve them."""

    data: bytes
    width: int
    height: int
    #: Pillow's name of the format: "JPEG" or "WEBP".
    format: str
    content_type: str

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.format]


@dataclass(frozen=True)
class ProcessedPhoto(EncodedImage):
    """The photo to show, and the smaller variant for lists."""

    thumbnail: EncodedImage


def process_photo(
    data: bytes, max_side: int = PHOTO_SIDE, thumbnail_side: int = THUMBNAIL_SIDE
) -> ProcessedPhoto:
    """Check an uploaded photo from its content and re-encode it upright, resized, stripped."""
    if max_side < 1 or thumbnail_side < 1:
        raise ValueError("sides must be positive")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused(
            "too_large_file",
            _("La photo dépasse %(limit)s Mo.", limit=MAX_PHOTO_BYTES // (1024 * 1024)),
        )
    image = _decode(data, max_side)
    try:
        image = ImageOps.exif_transpose(image) or image
    except Exception:  # malformed EXIF: the picture is still worth showing as stored
        logger.info("Photo orientation ignored: unreadable EXIF", exc_info=True)
    image = _to_srgb(image)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: no info, EXIF, XMP, comment or profile can follow.
    image = Image.frombytes(image.mode, image.size, image.tobytes())
    thumbnail = image.copy()
    thumbnail.thumbnail((thumbnail_side, thumbnail_side), Image.Resampling.LANCZOS)
    full = _encode(image)
    return ProcessedPhoto(
        data=full.data,
        width=full.width,
        height=full.height,
        format=full.format,
        content_type=full.content_type,
        thumbnail=_encode(thumbnail),
    )


def _decode(data: bytes, max_side: int) -> Image.Image:
    """Open, verify, reopen and load the image, or refuse it with a reason."""
    try:
        with Image.open(io.BytesIO(data), formats=_DECODED_FORMATS) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data), formats=_DECODED_FORMATS)
        if image.width * image.height > MAX_PHOTO_PIXELS:
            raise _too_many_pixels()
        if image.format in ("JPEG", "MPO"):
            # Let the JPEG decoder scale down by 2, 4 or 8 when the result stays large enough.
            image.draft(image.mode, (max_side, max_side))
        image.load()
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except Image.UnidentifiedImageError:
        raise _unrecognised(data) from None
    except Exception:  # broken files make Pillow raise OSError, SyntaxError, struct.error…
        logger.info("Photo refused: undecodable", exc_info=True)
        raise PhotoRefused(
            "not_an_image", _("Ce fichier est abîmé ou n'est pas une image lisible.")
        ) from None
    return image


def _too_many_pixels() -> PhotoRefused:
    """Refusal of an image with more pixels than MAX_PHOTO_PIXELS."""
    return PhotoRefused(
        "too_many_pixels",
        _(
            "L'image est trop grande : %(limit)s mégapixels au plus.",
            limit=MAX_PHOTO_PIXELS // 1_000_000,
        ),
    )


def _unrecognised(data: bytes) -> PhotoRefused:
    """Refusal of a file Pillow did not open: an image of another type, or no image at all."""
    head = data[:4096]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    is_svg = text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in text
    if (
        head.startswith(_OTHER_IMAGE_SIGNATURES)
        or (head[4:8] == b"ftyp" and head[8:12] in _ISO_MEDIA_IMAGE_BRANDS)
        or is_svg
    ):
        return PhotoRefused(
            "unsupported_type",
            _("Ce format d'image n'est pas accepté : envoyez une photo JPEG, PNG ou WebP."),
        )
    return PhotoRefused("not_an_image", _("Ce fichier n'est pas une image."))


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB in sRGB whatever the mode and profile; RGBA instead if some pixel is see-through."""
    icc_profile = image.info.get("icc_profile")
    if icc_profile and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGBA" if image.mode == "RGBA" else "RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            logger.info("Photo colour profile ignored: unusable", exc_info=True)
        else:
            if converted is not None:
                image = converted
    if image.mode.startswith("I"):  # 16-bit greyscale PNG: scale, do not clip, to 8 bits
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    if has_alpha and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
    return image


def _encode(image: Image.Image) -> EncodedImage:
    """Progressive JPEG for an RGB image, WebP for an RGBA one."""
    buffer = io.BytesIO()
    if image.mode == "RGBA":
        image_format = "WEBP"
        image.save(buffer, image_format, quality=WEBP_QUALITY, method=4)
    else:
        image_format = "JPEG"
        image.save(buffer, image_format, quality=JPEG_QUALITY, optimize=True, progressive=True)
    return EncodedImage(
        data=buffer.getvalue(),
        width=image.width,
        height=image.height,
        format=image_format,
        content_type=_CONTENT_TYPES[image_format],
    )
