"""One ffmpeg run, one decode: HLS ladder, MP4, poster, sprites and scene cuts from a source."""

from __future__ import annotations

import collections
import json
import logging
import math
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from series.episodes.media_probe import SourceInfo

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float], None]

KEYFRAME_INTERVAL_S = 2
SEGMENT_S = 4
SPRITE_INTERVAL_S = 10
SPRITE_TILE = (160, 90)
SPRITE_COLUMNS = 10
SCENE_THRESHOLD = 0.3
POSTER_WINDOW_S = 30
MP4_MAX_HEIGHT = 720
LOUDNESS_LUFS = -23
TRUE_PEAK_DBTP = -1
X264_PRESET = "veryfast"
X264_CRF = 21
STDERR_TAIL_LINES = 30

IMAGE_OPTS: dict[str, Any] = {"update": 1, "q:v": 3, "fps_mode": "passthrough"}

OUTPUT_NAMES = ("hls", "mp4", "poster.jpg", "sprites.jpg", "sprites.vtt", "scenes.json")

_SHOWINFO_RE = re.compile(
    r"\[Parsed_showinfo_\d+ @ [^\]]+\] (?:\[info\] )?n:\s*\d+ pts:\s*-?\d+ pts_time:(-?[\d.]+)"
)


@dataclass(frozen=True)
class Rendition:
    """One output rung: frame size and bitrate caps in bit/s (audio 0 when silent)."""

    name: str
    width: int
    height: int
    bitrate: int
    audio_bitrate: int = 0


# Capped-CRF ladder: (height, video maxrate kbit/s, audio kbit/s).
LADDER: tuple[tuple[int, int, int], ...] = (
    (1080, 5000, 128),
    (720, 2800, 128),
    (480, 1400, 96),
    (360, 800, 96),
)


@dataclass(frozen=True)
class TranscodeResult:
    """What a transcode produced, with paths inside out_dir."""

    renditions: list[Rendition]
    mp4: Rendition
    master_playlist: Path
    mp4_path: Path
    poster: Path
    sprites: Path
    sprites_vtt: Path
    scenes_json: Path
    scenes: list[float] = field(default_factory=list)
    duration: float = 0.0


class TranscodeFailed(Exception):
    """ffmpeg failed; carries its error lines first, then the last lines of its stderr."""

    def __init__(self, message: str, stderr_tail: list[str] | None = None) -> None:
        self.stderr_tail = list(stderr_tail or [])
        detail = " | ".join(self.stderr_tail[:5])
        super().__init__(f"{message}: {detail}" if detail else message)


def _even(value: float) -> int:
    """Round to the nearest even number, as H.264 with 4:2:0 chroma requires."""
    return max(2, round(value / 2.0) * 2)


def plan_ladder(info: SourceInfo) -> list[Rendition]:
    """HLS rungs for a source, tallest first, never above the source height."""
    display_width = info.width * info.sar
    rungs = [r for r in LADDER if r[0] <= info.height]
    if not rungs:
        # Tiny sources still get one rung, at their own size.
        rungs = [(_even(info.height), LADDER[-1][1], LADDER[-1][2])]
    return [
        Rendition(
            name=f"{height}p",
            width=_even(display_width * height / info.height),
            height=height,
            bitrate=video_kbps * 1000,
            audio_bitrate=audio_kbps * 1000 if info.has_audio else 0,
        )
        for height, video_kbps, audio_kbps in rungs
    ]


def plan_mp4(info: SourceInfo, ladder: list[Rendition]) -> Rendition:
    """The progressive MP4: 720p, or the source size when smaller."""
    height = _even(min(MP4_MAX_HEIGHT, info.height))
    for rung in ladder:
        if rung.height == height:
            return rung
    # Between two rungs: borrow the caps of the rung just above.
    above = min((r for r in LADDER if r[0] >= height), key=lambda r: r[0], default=LADDER[-1])
    return Rendition(
        name=f"{height}p",
        width=_even(info.width * info.sar * height / info.height),
        height=height,
        bitrate=above[1] * 1000,
        audio_bitrate=above[2] * 1000 if info.has_audio else 0,
    )


def sprite_count(duration: float, fps: float) -> int:
    """Number of sprite thumbnails: one per interval starting at 0 up to the last frame."""
    last_frame = max(0.0, duration - 1.0 / max(fps, 1.0))
    return int(last_frame // SPRITE_INTERVAL_S) + 1


def _fan(stream: Any, count: int, audio: bool = False) -> list[Any]:
    """Split a filter output into count branches (no split filter for one)."""
    if count == 1:
        return [stream]
    node = stream.filter_multi_output("asplit" if audio else "split")
    return [node.stream(i) for i in range(count)]


def _after_placeholder(first: Any, final: Any) -> Any:
    """Emit one early frame, then the real image: -update 1 keeps only the last one.

    ffmpeg prints no -progress until every output has written its header, so an output
    whose only frame comes at the end of the run (tile) or after a window (thumbnail)
    would silence progress reporting.
    """
    joined = ffmpeg.concat(first.filter("trim", end_frame=1), final, n=2, v=1, a=0)
    # Renumber: concat may give both frames the same pts, which the JPEG encoder refuses.
    return joined.filter("setpts", "N/TB")


def _x264_options(info: SourceInfo, preset: str) -> dict[str, Any]:
    """Encoder options shared by every H.264 output: fixed 2 s GOP aligned on segments."""
    gop = max(1, round(info.fps * KEYFRAME_INTERVAL_S))
    return {
        "c:v": "libx264",
        "preset": preset,
        "crf": X264_CRF,
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,
        "force_key_frames": f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})",
    }


@dataclass
class _VideoTaps:
    """Scaled video branches of the filter graph, one per consumer."""

    hls: list[Any]
    mp4: Any
    poster_first: Any
    poster: Any
    sprites_first: Any
    sprites: Any
    scenes: Any


def _video_taps(inp: Any, info: SourceInfo, ladder: list[Rendition], mp4: Rendition) -> _VideoTaps:
    """Decode once, scale once per size, and split each size among its consumers."""
    video = inp["v:0"]
    if info.interlaced:
        video = video.filter("bwdif")
    mp4_shared = any(r.name == mp4.name for r in ladder)
    branches = _fan(video, len(ladder) + (0 if mp4_shared else 1))

    def scale(stream: Any, rung: Rendition) -> Any:
        return (
            stream.filter("scale", rung.width, rung.height)
            .filter("setsar", 1)
            .filter("format", "yuv420p")
        )

    # The MP4 size also feeds the poster (placeholder + pick); the smallest rung feeds the
    # sprites (placeholder + sheet) and scene detection, where scoring is cheapest.
    hls: list[Any] = []
    mp4_outs: list[Any] = []
    small_outs: list[Any] = []
    for index, rung in enumerate(ladder):
        feeds_mp4 = mp4_shared and rung.name == mp4.name
        smallest = index == len(ladder) - 1
        outs = _fan(scale(branches[index], rung), 1 + 3 * feeds_mp4 + 3 * smallest)
        hls.append(outs.pop(0))
        if feeds_mp4:
            mp4_outs, outs = outs[:3], outs[3:]
        if smallest:
            small_outs = outs
    if not mp4_shared:
        mp4_outs = _fan(scale(branches[-1], mp4), 3)
    return _VideoTaps(hls, *mp4_outs, *small_outs)


def _audio_taps(inp: Any, info: SourceInfo, count: int) -> list[Any]:
    """Loudness-normalised stereo audio split count ways (none for a silent source)."""
    if not info.has_audio:
        return [None] * count
    # Single-pass (dynamic) loudnorm keeps the one decode; linear two-pass would need a
    # full measuring run first. loudnorm works at 192 kHz internally, hence aresample.
    audio = (
        inp["a:0"]
        .filter("aformat", channel_layouts="stereo")
        .filter("loudnorm", I=LOUDNESS_LUFS, TP=TRUE_PEAK_DBTP, LRA=11)
        .filter("aresample", 48000)
    )
    return _fan(audio, count, audio=True)


def _hls_output(
    hls_dir: Path, ladder: list[Rendition], video: list[Any], audio: list[Any], x264: dict[str, Any]
) -> Any:
    """All HLS rungs in one hls muxer, which also writes the master playlist."""
    streams: list[Any] = []
    opts: dict[str, Any] = dict(x264)
    stream_map: list[str] = []
    for index, rung in enumerate(ladder):
        streams.append(video[index])
        opts[f"maxrate:v:{index}"] = f"{rung.bitrate // 1000}k"
        opts[f"bufsize:v:{index}"] = f"{2 * rung.bitrate // 1000}k"
        if audio[index] is None:
            stream_map.append(f"v:{index},name:{rung.name}")
            continue
        streams.append(audio[index])
        opts["c:a"] = "aac"
        opts[f"b:a:{index}"] = f"{rung.audio_bitrate // 1000}k"
        stream_map.append(f"v:{index},a:{index},name:{rung.name}")
    opts.update(
        {
            "format": "hls",
            "hls_time": SEGMENT_S,
            "hls_playlist_type": "vod",
            "hls_flags": "independent_segments",
            "hls_segment_filename": str(hls_dir / "%v" / "seg_%05d.ts"),
            "master_pl_name": "master.m3u8",
            "var_stream_map": " ".join(stream_map),
        }
    )
    return ffmpeg.output(*streams, str(hls_dir / "%v" / "index.m3u8"), **opts)


def _mp4_output(path: Path, mp4: Rendition, video: Any, audio: Any, x264: dict[str, Any]) -> Any:
    """The progressive MP4, moov box moved to the front for streaming."""
    opts: dict[str, Any] = dict(x264)
    opts.update({"maxrate": f"{mp4.bitrate // 1000}k", "bufsize": f"{2 * mp4.bitrate // 1000}k"})
    opts["movflags"] = "+faststart"
    if audio is None:
        return ffmpeg.output(video, str(path), **opts)
    opts.update({"c:a": "aac", "b:a": f"{mp4.audio_bitrate // 1000}k"})
    return ffmpeg.output(video, audio, str(path), **opts)


def _poster_output(path: Path, info: SourceInfo, first: Any, video: Any) -> Any:
    """Poster: the thumbnail filter's pick among the first seconds, sampled at 1 fps."""
    # thumbnail keeps the frame closest to the average histogram, so black or flash frames
    # lose; sampling at 1 fps keeps the frames it buffers few.
    window = max(1, int(min(POSTER_WINDOW_S, info.duration)))
    pick = video.filter("trim", end=window).filter("fps", 1).filter("thumbnail", window)
    return ffmpeg.output(_after_placeholder(first, pick), str(path), **IMAGE_OPTS)


def _sprites_output(path: Path, info: SourceInfo, first: Any, video: Any) -> Any:
    """Sprite sheet: one tile per interval, laid out by the tile filter."""
    count = sprite_count(info.duration, info.fps)
    columns = min(count, SPRITE_COLUMNS)
    rows = math.ceil(count / columns)
    tile_w, tile_h = SPRITE_TILE
    sheet = (
        video.filter("select", f"lt(selected_n,{count})*gte(t,selected_n*{SPRITE_INTERVAL_S})")
        .filter("scale", tile_w, tile_h, force_original_aspect_ratio="decrease")
        .filter("pad", tile_w, tile_h, "(ow-iw)/2", "(oh-ih)/2")
        .filter("setsar", 1)
        .filter("tile", f"{columns}x{rows}", nb_frames=count)
    )
    placeholder = first.filter("scale", columns * tile_w, rows * tile_h).filter("setsar", 1)
    return ffmpeg.output(_after_placeholder(placeholder, sheet), str(path), **IMAGE_OPTS)


def _scenes_output(video: Any) -> Any:
    """Scene cuts logged by showinfo on stderr; the frames themselves go nowhere."""
    # Frame 0 always passes so this output starts at once (see _after_placeholder).
    scenes = video.filter("select", f"eq(n,0)+gt(scene,{SCENE_THRESHOLD})").filter("showinfo")
    return ffmpeg.output(scenes, "-", format="null")


def build_command(
    source: Path, out_dir: Path, info: SourceInfo, preset: str = X264_PRESET
) -> tuple[list[str], list[Rendition], Rendition]:
    """Build the single ffmpeg command line; returns it with the ladder and the MP4 rung."""
    ladder = plan_ladder(info)
    mp4 = plan_mp4(info, ladder)
    inp = ffmpeg.input(str(source))
    taps = _video_taps(inp, info, ladder, mp4)
    audio = _audio_taps(inp, info, len(ladder) + 1)
    x264 = _x264_options(info, preset)
    outputs = [
        _hls_output(out_dir / "hls", ladder, taps.hls, audio[:-1], x264),
        _mp4_output(out_dir / "mp4" / f"{mp4.name}.mp4", mp4, taps.mp4, audio[-1], x264),
        _poster_output(out_dir / "poster.jpg", info, taps.poster_first, taps.poster),
        _sprites_output(out_dir / "sprites.jpg", info, taps.sprites_first, taps.sprites),
        _scenes_output(taps.scenes),
    ]
    graph = (
        ffmpeg.merge_outputs(*outputs)
        .global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info")
        .global_args("-progress", "pipe:1")
        .overwrite_output()
    )
    return list(ffmpeg.compile(graph)), ladder, mp4


def transcode(
    source: str | Path,
    out_dir: str | Path,
    info: SourceInfo,
    on_progress: ProgressCallback | None = None,
    *,
    preset: str = X264_PRESET,
) -> TranscodeResult:
    """Produce every rendition and preview of a probed source in one ffmpeg run."""
    # Absolute paths: ffmpeg would take "a:b.mp4" for a protocol, never "/x/a:b.mp4".
    source, out_dir = Path(source).absolute(), Path(out_dir).absolute()
    if "%" in str(out_dir):
        raise ValueError(f"out_dir must not contain '%' (ffmpeg file patterns): {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_outputs(out_dir)  # stale segments of an earlier run would pollute the playlists
    (out_dir / "hls").mkdir()
    (out_dir / "mp4").mkdir()
    args, ladder, mp4 = build_command(source, out_dir, info, preset)
    logger.info(
        "transcoding %s (%.1fs) into %s: %s + mp4 %s",
        source.name,
        info.duration,
        out_dir,
        ",".join(r.name for r in ladder),
        mp4.name,
    )
    logger.debug("ffmpeg command: %s", args)
    try:
        scenes = _run_ffmpeg(args, info.duration, on_progress)
        result = _finish(out_dir, info, ladder, mp4, scenes)
    except BaseException:
        _remove_outputs(out_dir)
        raise
    logger.info("transcoded %s: %d scene cuts", source.name, len(scenes))
    return result


def _run_ffmpeg(
    args: list[str], duration: float, on_progress: ProgressCallback | None
) -> list[float]:
    """Run ffmpeg, report -progress output, and return the scene-cut times from stderr."""
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    errors: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    scenes: list[float] = []

    def read_stderr(pipe: Any) -> None:
        for line in pipe:
            match = _SHOWINFO_RE.search(line)
            if match:
                scenes.append(float(match.group(1)))
            elif "Parsed_showinfo" not in line:
                tail.append(line.rstrip())
                # Encoder statistics follow the real error; keep error lines apart.
                if "[error]" in line or "[fatal]" in line:
                    errors.append(line.rstrip())

    started = time.monotonic()
    with subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
        errors="replace",
    ) as proc:
        reader = threading.Thread(target=read_stderr, args=(proc.stderr,), daemon=True)
        reader.start()
        try:
            assert proc.stdout is not None
            _follow_progress(proc.stdout, duration, started, on_progress)
            returncode = proc.wait()
        except BaseException:
            # A callback that raises cancels the job: do not leave ffmpeg running.
            proc.kill()
            proc.wait()
            raise
        finally:
            reader.join(timeout=10)
    if returncode != 0:
        lines = list(errors) + [line for line in tail if line not in errors]
        logger.warning("ffmpeg failed (%s): %s", returncode, lines[:3])
        raise TranscodeFailed(f"ffmpeg exited with status {returncode}", lines)
    return sorted(t for t in scenes if t > 0)


def _follow_progress(
    lines: Any, duration: float, started: float, on_progress: ProgressCallback | None
) -> None:
    """Turn ffmpeg's -progress blocks into on_progress(fraction, eta_seconds) calls."""
    out_time = 0.0
    for line in lines:
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and value.lstrip("-").isdigit():
            out_time = int(value) / 1e6
        elif key == "progress" and on_progress is not None and duration > 0:
            fraction = 1.0 if value == "end" else min(1.0, max(0.0, out_time / duration))
            if fraction <= 0:
                continue  # no estimate yet: an ETA needs some progress to extrapolate from
            elapsed = time.monotonic() - started
            on_progress(fraction, elapsed * (1.0 - fraction) / fraction)


def _finish(
    out_dir: Path,
    info: SourceInfo,
    ladder: list[Rendition],
    mp4: Rendition,
    scenes: list[float],
) -> TranscodeResult:
    """Check the outputs exist, then write the thumbnails track and the scene list."""
    result = TranscodeResult(
        renditions=ladder,
        mp4=mp4,
        master_playlist=out_dir / "hls" / "master.m3u8",
        mp4_path=out_dir / "mp4" / f"{mp4.name}.mp4",
        poster=out_dir / "poster.jpg",
        sprites=out_dir / "sprites.jpg",
        sprites_vtt=out_dir / "sprites.vtt",
        scenes_json=out_dir / "scenes.json",
        scenes=scenes,
        duration=info.duration,
    )
    expected = [result.master_playlist, result.mp4_path, result.poster, result.sprites]
    expected += [out_dir / "hls" / r.name / "index.m3u8" for r in ladder]
    missing = [str(p.relative_to(out_dir)) for p in expected if not _non_empty(p)]
    if missing:
        raise TranscodeFailed("ffmpeg did not produce " + ", ".join(missing))
    result.sprites_vtt.write_text(sprites_vtt(info.duration, info.fps), encoding="utf-8")
    payload = {"threshold": SCENE_THRESHOLD, "scenes": [round(t, 3) for t in scenes]}
    result.scenes_json.write_text(json.dumps(payload), encoding="utf-8")
    return result


def sprites_vtt(duration: float, fps: float, image: str = "sprites.jpg") -> str:
    """WebVTT thumbnails track pointing each interval at its tile with #xywh=."""
    count = sprite_count(duration, fps)
    columns = min(count, SPRITE_COLUMNS)
    tile_w, tile_h = SPRITE_TILE
    lines = ["WEBVTT", ""]
    for index in range(count):
        start = index * SPRITE_INTERVAL_S
        end = min(duration, (index + 1) * SPRITE_INTERVAL_S)
        x, y = (index % columns) * tile_w, (index // columns) * tile_h
        lines += [
            f"{_vtt_time(start)} --> {_vtt_time(end)}",
            f"{image}#xywh={x},{y},{tile_w},{tile_h}",
            "",
        ]
    return "\n".join(lines)


def _vtt_time(seconds: float) -> str:
    """Format seconds as a WebVTT timestamp HH:MM:SS.mmm."""
    millis = round(seconds * 1000)
    hours, minutes = millis // 3_600_000, millis // 60_000 % 60
    return f"{hours:02d}:{minutes:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


def _non_empty(path: Path) -> bool:
    """Tell whether a file exists and holds data."""
    return path.is_file() and path.stat().st_size > 0


def _remove_outputs(out_dir: Path) -> None:
    """Delete what a transcode writes in out_dir, leaving anything else alone."""
    for name in OUTPUT_NAMES:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
            target.unlink()
