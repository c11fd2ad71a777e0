"""Media pipeline core for episodes: validate a source, then transcode it in one ffmpeg run.

The work lives in media_probe (ffprobe validation) and media_transcode (the single ffmpeg
run); this module is the public face, plus the synthetic source used by tests, the
benchmark and the demo seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg

from series.episodes.media_probe import MediaLimits, MediaRejected, SourceInfo, probe_source
from series.episodes.media_transcode import (
    STDERR_TAIL_LINES,
    Rendition,
    TranscodeFailed,
    TranscodeResult,
    plan_ladder,
    plan_mp4,
    sprites_vtt,
    transcode,
)

__all__ = [
    "MediaLimits",
    "MediaRejected",
    "Rendition",
    "SourceInfo",
    "TranscodeFailed",
    "TranscodeResult",
    "make_test_source",
    "plan_ladder",
    "plan_mp4",
    "probe_source",
    "sprites_vtt",
    "transcode",
]


def make_test_source(
    path: str | Path,
    seconds: float,
    width: int,
    height: int,
    fps: int = 25,
    audio: bool = True,
) -> Path:
    """Generate a synthetic source: testsrc2 pattern plus a 440 Hz tone (about -14 LUFS)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    streams = [
        ffmpeg.input(f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}", f="lavfi")
    ]
    opts: dict[str, Any] = {"c:v": "libx264", "preset": "ultrafast", "crf": 23}
    opts["pix_fmt"] = "yuv420p"
    if audio:
        # Louder than -23 LUFS on purpose, so loudness normalisation has work to do.
        tone = f"sine=frequency=440:sample_rate=48000:duration={seconds},volume=8dB"
        streams.append(ffmpeg.input(tone, f="lavfi"))
        opts.update({"c:a": "aac", "b:a": "128k"})
    out = ffmpeg.output(*streams, str(path), **opts).global_args("-hide_banner", "-nostdin")
    try:
        out.overwrite_output().run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        lines = exc.stderr.decode("utf-8", "replace").splitlines()
        raise TranscodeFailed("could not generate test source", lines[-STDERR_TAIL_LINES:]) from exc
    return path
