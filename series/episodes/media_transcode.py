"""One ffmpeg run, one decode: HLS ladder, MP4, poster, sprites and scene cuts from a source.

The filter graph (1080p source; smaller sources drop the rungs above them):

    [0:v] split -> scale 1080p ----------------------------> x264 -> HLS 1080p
                -> scale 720p  -> split -> x264 -> tee -> HLS 720p + mp4/720p.mp4
                                        -> trim 30s, fps 1, thumbnail -> poster.jpg
                -> scale 480p  ----------------------------> x264 -> HLS 480p
                -> scale 360p  -> split -> x264 -> HLS 360p
                                        -> select every 10 s, scale 160x90, tile -> sprites.jpg
                                        -> select gt(scene,0.3), showinfo -> null (stderr)
    [0:a] aformat stereo, loudnorm I=-23, aresample 48k -> asplit -> AAC per rung

The master playlist, sprites.vtt and scenes.json are written from the results afterwards.
"""

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
# A healthy run reports progress twice a second; this long without a word means it hangs.
STALL_TIMEOUT_S = 300

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
        """Keep the stderr lines; the message shows the first five."""
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
    """Emit one early frame, then the real image: -update 1 keeps only the last one."""
    # ffmpeg prints no -progress until every output has written its header, so an output
    # whose only frame comes at the end of the run (tile) or after a window (thumbnail)
    # would silence progress reporting until then.
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
        """Resize to a rung, square pixels, 8-bit 4:2:0 for H.264 players."""
        return (
            stream.filter("scale", rung.width, rung.height)
            .filter("setsar", 1)
            .filter("format", "yuv420p")
        )

    # The MP4 size also feeds the poster (placeholder + pick); the smallest rung feeds the
    # sprites (placeholder + sheet) and scene detection, where scoring is cheapest. An MP4
    # the size of a rung reuses that rung's encoded stream (see _ladder_output).
    hls: list[Any] = []
    mp4_outs: list[Any] = [None]
    small_outs: list[Any] = []
    for index, rung in enumerate(ladder):
        feeds_poster = mp4_shared and rung.name == mp4.name
        smallest = index == len(ladder) - 1
        outs = _fan(scale(branches[index], rung), 1 + 2 * feeds_poster + 3 * smallest)
        hls.append(outs.pop(0))
        if feeds_poster:
            mp4_outs += outs[:2]
            outs = outs[2:]
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


def _escape(text: str, chars: str) -> str:
    """Backslash-escape each of chars (and backslash itself) in text."""
    for char in "\\" + chars.replace("\\", ""):
        text = text.replace(char, "\\" + char)
    return text


def _tee_slave(url: str, options: dict[str, Any]) -> str:
    """One slave of a tee output: [key=value:...]url, escaped for tee's two parsing levels."""
    if any(c in url for c in "[]"):
        raise ValueError(f"output path must not contain brackets: {url}")
    inner = ":".join(key + "=" + _escape(str(value), ":'") for key, value in options.items())
    return _escape(f"[{inner}]{url}", "|'")


def _hls_muxer_options(hls_dir: Path, ladder: list[Rendition], has_audio: bool) -> dict[str, Any]:
    """hls muxer settings: 4 s VOD segments, one variant per rung (master written by us)."""
    if has_audio:
        variants = [f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(ladder)]
    else:
        variants = [f"v:{i},name:{r.name}" for i, r in enumerate(ladder)]
    return {
        "hls_time": SEGMENT_S,
        "hls_playlist_type": "vod",
        "hls_flags": "independent_segments",
        "hls_segment_filename": str(hls_dir / "%v" / "seg_%05d.ts"),
        "var_stream_map": " ".join(variants),
    }


def _ladder_output(
    out_dir: Path,
    ladder: list[Rendition],
    mp4: Rendition,
    video: list[Any],
    audio: list[Any],
    x264: dict[str, Any],
) -> Any:
    """The HLS rungs, plus the MP4 when it has a rung's size: then one encode feeds both."""
    # The tee muxer writes the same packets to the hls muxer and to the MP4 muxer, saving a
    # whole 720p encode (a fifth of the work on a 1080p source).
    streams: list[Any] = []
    opts: dict[str, Any] = dict(x264)
    for index, rung in enumerate(ladder):
        streams.append(video[index])
        opts[f"maxrate:v:{index}"] = f"{rung.bitrate // 1000}k"
        opts[f"bufsize:v:{index}"] = f"{2 * rung.bitrate // 1000}k"
        if audio[index] is not None:
            streams.append(audio[index])
            opts["c:a"] = "aac"
            opts[f"b:a:{index}"] = f"{rung.audio_bitrate // 1000}k"
    hls_dir = out_dir / "hls"
    hls_url = str(hls_dir / "%v" / "index.m3u8")
    has_audio = audio[0] is not None
    hls_opts = _hls_muxer_options(hls_dir, ladder, has_audio)
    shared = [i for i, r in enumerate(ladder) if r.name == mp4.name]
    if not shared:
        return ffmpeg.output(*streams, hls_url, format="hls", **hls_opts, **opts)
    index = shared[0]
    mp4_opts = {
        "f": "mp4",
        "movflags": "+faststart",
        "select": f"v:{index},a:{index}" if has_audio else f"v:{index}",
    }
    tee = "|".join(
        [
            _tee_slave(hls_url, {"f": "hls", **hls_opts}),
            _tee_slave(str(out_dir / "mp4" / f"{mp4.name}.mp4"), mp4_opts),
        ]
    )
    return ffmpeg.output(*streams, tee, format="tee", **opts)


def _mp4_output(path: Path, mp4: Rendition, video: Any, audio: Any, x264: dict[str, Any]) -> Any:
    """An MP4 of its own size (between two rungs), moov box moved to the front."""
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
    audio = _audio_taps(inp, info, len(ladder) + (0 if taps.mp4 is None else 1))
    x264 = _x264_options(info, preset)
    outputs = [_ladder_output(out_dir, ladder, mp4, taps.hls, audio, x264)]
    if taps.mp4 is not None:
        mp4_path = out_dir / "mp4" / f"{mp4.name}.mp4"
        outputs.append(_mp4_output(mp4_path, mp4, taps.mp4, audio[-1], x264))
    outputs += [
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
        """Collect scene cuts and the error/tail lines from ffmpeg's log."""
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
        last_beat = [time.monotonic()]
        stalled = threading.Event()
        watchdog = threading.Thread(
            target=_watch, args=(proc, last_beat, stalled), daemon=True, name="ffmpeg-watchdog"
        )
        watchdog.start()
        try:
            assert proc.stdout is not None
            _follow_progress(proc.stdout, duration, started, on_progress, last_beat)
            returncode = proc.wait()
        except BaseException:
            # A callback that raises cancels the job: do not leave ffmpeg running.
            proc.kill()
            proc.wait()
            raise
        finally:
            reader.join(timeout=10)
    if stalled.is_set():
        raise TranscodeFailed(f"ffmpeg stalled for {STALL_TIMEOUT_S}s and was killed", list(tail))
    if returncode != 0:
        lines = list(errors) + [line for line in tail if line not in errors]
        logger.warning("ffmpeg failed (%s): %s", returncode, lines[:3])
        raise TranscodeFailed(f"ffmpeg exited with status {returncode}", lines)
    return sorted(t for t in scenes if t > 0)


def _watch(proc: subprocess.Popen[str], last_beat: list[float], stalled: threading.Event) -> None:
    """Kill ffmpeg when its -progress output (every 0.5 s normally) stops for too long."""
    while proc.poll() is None:
        if time.monotonic() - last_beat[0] > STALL_TIMEOUT_S:
            logger.error("ffmpeg (pid %s) silent for %ss: killing it", proc.pid, STALL_TIMEOUT_S)
            stalled.set()
            proc.kill()
            return
        time.sleep(1)


def _follow_progress(
    lines: Any,
    duration: float,
    started: float,
    on_progress: ProgressCallback | None,
    last_beat: list[float],
) -> None:
    """Turn ffmpeg's -progress blocks into on_progress(fraction, eta_seconds) calls."""
    out_time = 0.0
    for line in lines:
        last_beat[0] = time.monotonic()
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
    expected = [result.mp4_path, result.poster, result.sprites]
    expected += [out_dir / "hls" / r.name / "index.m3u8" for r in ladder]
    missing = [str(p.relative_to(out_dir)) for p in expected if not _non_empty(p)]
    if missing:
        raise TranscodeFailed("ffmpeg did not produce " + ", ".join(missing))
    result.master_playlist.write_text(master_playlist(out_dir / "hls", ladder, info), "utf-8")
    result.sprites_vtt.write_text(sprites_vtt(info.duration, info.fps), encoding="utf-8")
    payload = {"threshold": SCENE_THRESHOLD, "scenes": [round(t, 3) for t in scenes]}
    result.scenes_json.write_text(json.dumps(payload), encoding="utf-8")
    return result


def master_playlist(hls_dir: Path, ladder: list[Rendition], info: SourceInfo) -> str:
    """The HLS master playlist, from what the rungs actually hold."""
    # Written here rather than by ffmpeg: behind the tee muxer its hls muxer cannot see the
    # encoders' settings (no CODECS, wrong BANDWIDTH), and BANDWIDTH is better measured
    # (peak segment bitrate, as the HLS spec defines it) than guessed from maxrate.
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in ladder:
        playlist = hls_dir / rung.name / "index.m3u8"
        peak, average, first_segment = _segment_bitrates(playlist)
        codecs = _avc1_codec(first_segment) + (",mp4a.40.2" if info.has_audio else "")
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},"
            f'RESOLUTION={rung.width}x{rung.height},FRAME-RATE={info.fps:.3f},CODECS="{codecs}"',
            f"{rung.name}/index.m3u8",
        ]
    return "\n".join(lines) + "\n"


def _segment_bitrates(playlist: Path) -> tuple[int, int, Path]:
    """Peak and average bitrate (bit/s) of a media playlist's segments, and its first one."""
    segments: list[tuple[float, Path]] = []
    duration = 0.0
    for line in playlist.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",")[0])
        elif line and not line.startswith("#"):
            segments.append((duration, playlist.parent / line))
    if not segments:
        raise TranscodeFailed(f"no segment in {playlist}")
    sizes = [(d, p.stat().st_size * 8) for d, p in segments]
    peak = max(bits / d for d, bits in sizes if d > 0)
    average = sum(bits for _, bits in sizes) / max(sum(d for d, _ in sizes), 1e-3)
    return math.ceil(peak), math.ceil(average), segments[0][1]


def _avc1_codec(segment: Path) -> str:
    """RFC 6381 codec string (avc1.PPCCLL) read from the SPS at the start of a segment."""
    cmd = ["ffmpeg", "-v", "error", "-i", str(segment), "-map", "0:v:0", "-c", "copy"]
    cmd += ["-frames:v", "1", "-f", "h264", "-"]
    data = subprocess.run(cmd, capture_output=True, timeout=60, check=False).stdout
    for marker in (b"\x00\x00\x01\x67", b"\x00\x00\x01\x27"):  # SPS NAL header bytes
        at = data.find(marker)
        if at >= 0 and len(data) >= at + 7:
            return "avc1." + data[at + 4 : at + 7].hex()
    logger.warning("no SPS found in %s; using a generic High profile codec string", segment)
    return "avc1.640028"


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
