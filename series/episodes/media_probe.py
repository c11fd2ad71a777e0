"""Source validation with ffprobe: refuse bad uploads before any transcoding work starts."""

from __future__ import annotations

import json
import logging
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: ffprobe format names (comma-separated in its output) mapped to the container we report.
KNOWN_CONTAINERS: dict[str, str] = {
    "mov": "mp4",
    "mp4": "mp4",
    "matroska": "matroska",
    "webm": "matroska",
    "avi": "avi",
    "mpegts": "mpegts",
    "mxf": "mxf",
}

KNOWN_VIDEO_CODECS: frozenset[str] = frozenset(
    {"h264", "hevc", "prores", "vp9", "av1", "mpeg2video", "mpeg4", "dnxhd", "mjpeg"}
)

# Still-image codecs: a stream of these holding a single frame is a picture, not a video.
IMAGE_CODECS: frozenset[str] = frozenset(
    {"png", "mjpeg", "jpeg2000", "bmp", "gif", "webp", "tiff", "apng", "jpegls"}
)

# Boxes an MP4/MOV file can start with.
ISOBMFF_FIRST_BOXES: frozenset[bytes] = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}
)

PROBE_TIMEOUT_S = 60

MESSAGES: dict[str, tuple[str, str]] = {
    "empty_file": ("Le fichier est vide.", "The file is empty."),
    "not_a_video": (
        "Ce fichier n'est pas une vidéo lisible.",
        "This file is not a readable video.",
    ),
    "audio_only": (
        "Ce fichier ne contient que du son, sans image.",
        "This file contains audio only, no picture.",
    ),
    "truncated": (
        "Le fichier vidéo est incomplet (envoi interrompu ?).",
        "The video file is incomplete (interrupted upload?).",
    ),
    "no_duration": (
        "Impossible de déterminer la durée de la vidéo.",
        "The video's duration cannot be determined.",
    ),
    "unknown_codec": (
        "Codec vidéo non pris en charge : {detail}.",
        "Unsupported video codec: {detail}.",
    ),
    "unknown_container": (
        "Format de fichier non pris en charge : {detail}.",
        "Unsupported file format: {detail}.",
    ),
    "too_long": (
        "La vidéo dure {detail}, au-delà de la limite autorisée.",
        "The video lasts {detail}, beyond the allowed limit.",
    ),
    "too_large_resolution": (
        "Résolution trop élevée : {detail}.",
        "Resolution too high: {detail}.",
    ),
}


class MediaRejected(Exception):
    """An uploaded source refused before transcoding, with a stable reason code."""

    def __init__(self, code: str, message_fr: str, message_en: str) -> None:
        """Keep the code and both messages for the API and the editor."""
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_fr = message_fr
        self.message_en = message_en

    @classmethod
    def of(cls, code: str, detail: str = "") -> MediaRejected:
        """Build the rejection for a reason code with its one-line FR/EN messages."""
        fr, en = MESSAGES[code]
        return cls(code, fr.format(detail=detail), en.format(detail=detail))


@dataclass(frozen=True)
class MediaLimits:
    """What an upload may be: longest duration and largest frame (either orientation)."""

    max_duration: float = 20 * 60.0
    max_width: int = 4096
    max_height: int = 2160


@dataclass(frozen=True)
class SourceInfo:
    """What the pipeline needs to know about a validated source."""

    duration: float
    width: int
    height: int
    fps: float
    has_audio: bool
    video_codec: str
    audio_codec: str | None
    container: str
    #: Sample aspect ratio, so anamorphic sources are scaled to their display shape.
    sar: float = 1.0
    #: Interlaced sources (broadcast MPEG-2, DNxHD) get deinterlaced before scaling.
    interlaced: bool = False


def probe_source(path: str | Path, limits: MediaLimits | None = None) -> SourceInfo:
    """Validate a source with ffprobe and describe it, or raise MediaRejected."""
    limits = limits or MediaLimits()
    # Absolute, so a name like "a:b.mp4" is never taken for a protocol by ffprobe.
    path = Path(path).absolute()
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaRejected.of("empty_file")
    data = _ffprobe(path)
    fmt: dict[str, Any] = data.get("format") or {}
    streams: list[dict[str, Any]] = data.get("streams") or []
    format_names = set(str(fmt.get("format_name", "")).split(","))

    if _is_image_format(format_names):
        raise MediaRejected.of("not_a_video")
    # Cover art in audio files shows up as a video stream flagged attached_pic.
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        raise MediaRejected.of("audio_only" if audios else "not_a_video")
    video = videos[0]
    audio = audios[0] if audios else None
    codec = str(video.get("codec_name", "unknown"))
    if codec in IMAGE_CODECS and _frame_count(video) <= 1:
        raise MediaRejected.of("not_a_video")

    container = next((KNOWN_CONTAINERS[n] for n in format_names if n in KNOWN_CONTAINERS), None)
    if container is None:
        raise MediaRejected.of("unknown_container", str(fmt.get("format_name", "?")))
    if codec not in KNOWN_VIDEO_CODECS:
        raise MediaRejected.of("unknown_codec", codec)
    if container == "mp4" and _isobmff_truncated(path):
        raise MediaRejected.of("truncated")

    duration = _duration(fmt, video)
    if duration is None:
        raise MediaRejected.of("no_duration")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaRejected.of("not_a_video")
    sar = _ratio(video.get("sample_aspect_ratio")) or 1.0
    # ffmpeg auto-rotates phone videos while decoding: describe the frame as it will be seen.
    if _rotation(video) % 180 == 90:
        width, height, sar = height, width, 1.0 / sar
    if duration > limits.max_duration:
        raise MediaRejected.of("too_long", _clock(duration))
    fits = (width <= limits.max_width and height <= limits.max_height) or (
        width <= limits.max_height and height <= limits.max_width
    )
    if not fits:
        raise MediaRejected.of("too_large_resolution", f"{width}x{height}")

    info = SourceInfo(
        duration=duration,
        width=width,
        height=height,
        fps=_fps(video),
        has_audio=audio is not None,
        video_codec=codec,
        audio_codec=str(audio.get("codec_name")) if audio else None,
        container=container,
        sar=sar,
        interlaced=str(video.get("field_order", "progressive")) in ("tt", "bb", "tb", "bt"),
    )
    logger.info("probed %s: %s", path.name, info)
    return info


def _ffprobe(path: Path) -> dict[str, Any]:
    """Run ffprobe and return its JSON, classifying an unreadable file."""
    args = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)]
    try:
        proc = subprocess.run(args, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaRejected.of("not_a_video") from exc
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        logger.info("ffprobe refused %s: %s", path.name, stderr.splitlines()[-1:] or "?")
        # An MP4 cut short before its moov box cannot be opened at all; say why. The box
        # signature decides, not stderr: ffprobe says "moov atom not found" for any junk
        # named .mp4.
        if _starts_like_isobmff(path):
            raise MediaRejected.of("truncated")
        raise MediaRejected.of("not_a_video")
    try:
        parsed: dict[str, Any] = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError as exc:
        raise MediaRejected.of("not_a_video") from exc
    return parsed


def _rotation(video: dict[str, Any]) -> int:
    """Display rotation in degrees (0-359) from the display matrix or the legacy rotate tag."""
    for side_data in video.get("side_data_list") or []:
        if "rotation" in side_data:
            return round(float(side_data["rotation"])) % 360
    try:
        return round(float(str((video.get("tags") or {}).get("rotate", 0)))) % 360
    except ValueError:
        return 0


def _is_image_format(format_names: set[str]) -> bool:
    """Tell whether ffprobe detected a still-image demuxer."""
    return any(n == "image2" or n.endswith("_pipe") or n in ("gif", "apng") for n in format_names)


def _frame_count(stream: dict[str, Any]) -> int:
    """Frame count ffprobe read from the header, or a large number when unknown."""
    try:
        return int(stream.get("nb_frames", ""))
    except ValueError:
        return 1_000_000


def _duration(fmt: dict[str, Any], video: dict[str, Any]) -> float | None:
    """Container duration, else the video stream's; None when neither is known."""
    for raw in (fmt.get("duration"), video.get("duration")):
        try:
            value = float(str(raw))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value > 0:
            return value
    return None


def _ratio(raw: object) -> float | None:
    """Parse an ffprobe ratio such as 25/1, 30000/1001 or 16:15."""
    text = str(raw or "").replace(":", "/")
    num, _, den = text.partition("/")
    try:
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _fps(video: dict[str, Any]) -> float:
    """Average frame rate, falling back to the nominal one, then to 25."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        value = _ratio(video.get(key))
        if value and value <= 240:
            return value
    return 25.0


def _clock(seconds: float) -> str:
    """Format a duration as H:MM:SS for messages."""
    total = round(seconds)
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def _starts_like_isobmff(path: Path) -> bool:
    """Tell whether the file opens with an ISO-BMFF box (MP4/MOV, old QuickTime too)."""
    with path.open("rb") as fh:
        head = fh.read(8)
    return len(head) == 8 and head[4:8] in ISOBMFF_FIRST_BOXES


def _isobmff_truncated(path: Path) -> bool:
    """Walk the top-level MP4 boxes: a box running past the end means a cut-off upload."""
    size = path.stat().st_size
    offset = 0
    seen_moov = False
    with path.open("rb") as fh:
        while offset + 8 <= size:
            fh.seek(offset)
            header = fh.read(16)
            box_size = int.from_bytes(header[0:4], "big")
            kind = header[4:8]
            if box_size == 1 and len(header) >= 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - offset  # "extends to end of file"
            if box_size < 8:
                return True
            seen_moov = seen_moov or kind == b"moov"
            if offset + box_size > size:
                return True
            offset += box_size
    return not seen_moov
