"""Media pipeline: source validation, one-run transcoding, previews and loudness."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from series.episodes import media_transcode
from series.episodes.media import (
    MediaLimits,
    MediaRejected,
    SourceInfo,
    TranscodeFailed,
    TranscodeResult,
    make_test_source,
    probe_source,
    transcode,
)

COUNT_FRAMES = ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0"]
COUNT_FRAMES += ["-show_streams", "-of", "json"]


def ffprobe_json(path: Path, *args: str) -> dict[str, object]:
    """Run ffprobe with extra arguments and return its JSON output."""
    cmd = ["ffprobe", "-v", "error", *args, "-of", "json", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    parsed: dict[str, object] = json.loads(out)
    return parsed


def video_stream(path: Path, *args: str) -> dict[str, str]:
    """First video stream of a file as ffprobe reports it."""
    streams = ffprobe_json(path, "-select_streams", "v:0", "-show_streams", *args)["streams"]
    assert isinstance(streams, list)
    assert streams, f"no video stream in {path}"
    first: dict[str, str] = streams[0]
    return first


def stream_types(path: Path) -> list[str]:
    """Codec types of every stream in a file, in order."""
    streams = ffprobe_json(path, "-show_streams")["streams"]
    assert isinstance(streams, list)
    return [str(s["codec_type"]) for s in streams]


def integrated_loudness(path: Path) -> float:
    """Integrated loudness (LUFS) of a file's audio, measured with ffmpeg's ebur128."""
    cmd = ["ffmpeg", "-nostats", "-i", str(path), "-map", "0:a:0", "-af", "ebur128"]
    proc = subprocess.run([*cmd, "-f", "null", "-"], capture_output=True, text=True, check=True)
    values = re.findall(r"I:\s+(-?[\d.]+) LUFS", proc.stderr)
    assert values, proc.stderr[-500:]
    return float(values[-1])


def master_variants(master: Path) -> list[dict[str, str]]:
    """Parse #EXT-X-STREAM-INF entries of a master playlist into attribute dicts."""
    lines = master.read_text().splitlines()
    variants = []
    for index, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))
            attrs["URI"] = lines[index + 1]
            variants.append({k: v.strip('"') for k, v in attrs.items()})
    return variants


@dataclass
class Ladder:
    """A shared 60 s 1080p25 source and what transcode() made of it."""

    source: Path
    info: SourceInfo
    result: TranscodeResult
    progress: list[tuple[float, float]]


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Ladder:
    """Transcode one 60 s 1080p25 clip once for the whole module (the slow part)."""
    workdir = tmp_path_factory.mktemp("ladder")
    source = make_test_source(workdir / "source.mp4", 60, 1920, 1080, fps=25)
    info = probe_source(source)
    progress: list[tuple[float, float]] = []
    # ultrafast only trades compression for speed; nothing checked here depends on it.
    result = transcode(
        source,
        workdir / "out",
        info,
        lambda f, eta: progress.append((f, eta)),
        preset="ultrafast",
    )
    return Ladder(source, info, result, progress)


# --- the full ladder -------------------------------------------------------------------------


def test_probe_describes_the_generated_source(ladder: Ladder) -> None:
    info = ladder.info
    assert (info.width, info.height, info.fps) == (1920, 1080, 25.0)
    assert info.duration == pytest.approx(60, abs=0.1)
    assert (info.video_codec, info.audio_codec, info.container) == ("h264", "aac", "mp4")
    assert info.has_audio


def test_master_playlist_lists_four_renditions(ladder: Ladder) -> None:
    variants = master_variants(ladder.result.master_playlist)
    assert [v["RESOLUTION"] for v in variants] == ["1920x1080", "1280x720", "854x480", "640x360"]
    assert [v["URI"] for v in variants] == [f"{h}p/index.m3u8" for h in (1080, 720, 480, 360)]
    for variant, rung in zip(variants, ladder.result.renditions, strict=True):
        # Measured peak segment bitrate: at least the average, and held near the caps (a
        # 4 s segment may exceed maxrate by up to bufsize/4, plus MPEG-TS overhead).
        assert int(variant["BANDWIDTH"]) >= int(variant["AVERAGE-BANDWIDTH"]) > 0
        assert int(variant["BANDWIDTH"]) <= 1.7 * (rung.bitrate + rung.audio_bitrate)
        assert "avc1." in variant["CODECS"]
        assert "mp4a.40.2" in variant["CODECS"]
    assert [r.name for r in ladder.result.renditions] == ["1080p", "720p", "480p", "360p"]


def test_every_rendition_decodes_to_the_source_duration(ladder: Ladder) -> None:
    hls = ladder.result.master_playlist.parent
    # -count_frames decodes every frame: a broken segment would fail or come up short.
    # The four decodes run side by side to keep the suite fast.
    probes = {
        rendition: subprocess.Popen(
            [*COUNT_FRAMES, str(hls / rendition.name / "index.m3u8")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for rendition in ladder.result.renditions
    }
    for rendition, proc in probes.items():
        out, _ = proc.communicate()
        assert proc.returncode == 0, rendition.name
        stream = json.loads(out)["streams"][0]
        assert (stream["width"], stream["height"]) == (rendition.width, rendition.height)
        assert stream["codec_name"] == "h264"
        decoded = int(stream["nb_read_frames"]) / ladder.info.fps
        assert decoded == pytest.approx(ladder.info.duration, abs=0.5), rendition.name


def test_segments_last_four_seconds(ladder: Ladder) -> None:
    playlist = (ladder.result.master_playlist.parent / "720p" / "index.m3u8").read_text()
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", playlist)]
    assert len(durations) == 15
    assert all(d == pytest.approx(4.0, abs=0.05) for d in durations)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in playlist


def test_keyframes_every_two_seconds(ladder: Ladder) -> None:
    playlist = ladder.result.master_playlist.parent / "720p" / "index.m3u8"
    frames = ffprobe_json(
        playlist,
        "-select_streams",
        "v:0",
        "-skip_frame",
        "nokey",
        "-show_entries",
        "frame=pts_time",
    )["frames"]
    assert isinstance(frames, list)
    times = [float(f["pts_time"]) for f in frames]
    # HLS/TS timestamps start at an offset; keyframes must sit at 0, 2, 4 ... from the start.
    relative = [t - times[0] for t in times]
    assert len(relative) == 30
    assert all(t == pytest.approx(2 * i, abs=0.05) for i, t in enumerate(relative))


def test_progressive_mp4_is_720p_with_faststart(ladder: Ladder) -> None:
    mp4 = ladder.result.mp4_path
    assert mp4.relative_to(mp4.parent.parent) == Path("mp4/720p.mp4")
    stream = video_stream(mp4)
    assert (int(stream["width"]), int(stream["height"])) == (1280, 720)
    assert stream_types(mp4) == ["video", "audio"]
    duration = float(ffprobe_json(mp4, "-show_format")["format"]["duration"])  # type: ignore[index]
    assert duration == pytest.approx(ladder.info.duration, abs=0.5)
    head = mp4.read_bytes()[:65536]
    assert 0 < head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head


def test_poster_is_a_720p_jpeg(ladder: Ladder) -> None:
    poster = ladder.result.poster
    assert poster.name == "poster.jpg"
    assert poster.read_bytes()[:2] == b"\xff\xd8"
    stream = video_stream(poster)
    assert (int(stream["width"]), int(stream["height"])) == (1280, 720)


def test_sprites_track_points_at_tiles_of_the_sheet(ladder: Ladder) -> None:
    sheet = video_stream(ladder.result.sprites)
    sheet_w, sheet_h = int(sheet["width"]), int(sheet["height"])
    assert (sheet_w, sheet_h) == (6 * 160, 90)
    text = ladder.result.sprites_vtt.read_text()
    assert text.startswith("WEBVTT")
    cues = re.findall(
        r"(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n"
        r"sprites\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)",
        text,
    )
    assert len(cues) == 6
    previous_end = 0.0
    for cue in cues:
        start = int(cue[0]) * 3600 + int(cue[1]) * 60 + float(cue[2])
        end = int(cue[3]) * 3600 + int(cue[4]) * 60 + float(cue[5])
        x, y, w, h = (int(v) for v in cue[6:])
        assert start == pytest.approx(previous_end)
        assert end > start
        assert (w, h) == (160, 90)
        assert x + w <= sheet_w
        assert y + h <= sheet_h
        previous_end = end
    assert previous_end == pytest.approx(60)


def test_scene_list_is_written(ladder: Ladder) -> None:
    payload = json.loads(ladder.result.scenes_json.read_text())
    assert payload == {"threshold": 0.3, "scenes": ladder.result.scenes}
    # testsrc2 is one continuous shot.
    assert ladder.result.scenes == []


def test_progress_is_reported_during_the_run(ladder: Ladder) -> None:
    fractions = [f for f, _ in ladder.progress]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert any(0.1 < f < 0.9 for f in fractions), fractions
    assert all(0 < f <= 1 for f in fractions)
    assert all(0 <= eta < 3600 for _, eta in ladder.progress)
    assert ladder.progress[-1][1] == 0.0


def test_loudness_is_normalised_to_minus_23_lufs(ladder: Ladder) -> None:
    source_level = integrated_loudness(ladder.source)
    assert abs(source_level + 23) > 5, "the test tone must need normalising"
    assert integrated_loudness(ladder.result.mp4_path) == pytest.approx(-23, abs=2)


# --- other sources ---------------------------------------------------------------------------


def test_480p_source_gets_no_rung_above_480p(tmp_path: Path) -> None:
    source = make_test_source(tmp_path / "small.mp4", 6, 854, 480)
    result = transcode(source, tmp_path / "out", probe_source(source))
    assert [r.name for r in result.renditions] == ["480p", "360p"]
    heights = [int(v["RESOLUTION"].split("x")[1]) for v in master_variants(result.master_playlist)]
    assert heights == [480, 360]
    assert sorted(p.name for p in (tmp_path / "out" / "hls").iterdir()) == [
        "360p",
        "480p",
        "master.m3u8",
    ]
    assert result.mp4_path.name == "480p.mp4"


def test_silent_source_gives_video_only_renditions(tmp_path: Path) -> None:
    source = make_test_source(tmp_path / "silent.mp4", 6, 640, 360, audio=False)
    info = probe_source(source)
    assert not info.has_audio
    assert info.audio_codec is None
    result = transcode(source, tmp_path / "out", info)
    assert [r.name for r in result.renditions] == ["360p"]
    assert stream_types(result.mp4_path) == ["video"]
    assert stream_types(result.master_playlist.parent / "360p" / "index.m3u8") == ["video"]
    assert "mp4a" not in result.master_playlist.read_text()


def test_phone_video_rotated_by_metadata_is_laid_out_upright(tmp_path: Path) -> None:
    landscape = make_test_source(tmp_path / "landscape.mp4", 3, 640, 360, audio=False)
    rotated = tmp_path / "portrait.mp4"
    cmd = ["ffmpeg", "-v", "error", "-i", str(landscape), "-c", "copy"]
    subprocess.run([*cmd, "-metadata:s:v", "rotate=90", str(rotated)], check=True)
    info = probe_source(rotated)
    assert (info.width, info.height) == (360, 640)
    result = transcode(rotated, tmp_path / "out", info)
    assert [(r.width, r.height) for r in result.renditions] == [(270, 480), (202, 360)]
    rung = video_stream(result.master_playlist.parent / "480p" / "index.m3u8")
    assert (int(rung["width"]), int(rung["height"])) == (270, 480)
    # Shorter than 720 lines, the MP4 keeps the source size.
    mp4 = video_stream(result.mp4_path)
    assert (int(mp4["width"]), int(mp4["height"])) == (360, 640)


def test_scene_cuts_are_detected(tmp_path: Path) -> None:
    source = tmp_path / "cuts.mp4"
    shots = (
        "testsrc2=s=640x360:r=25:d=2[a];smptebars=s=640x360:r=25:d=2[b];"
        "mandelbrot=s=640x360:r=25,trim=end=2[c];[a][b][c]concat=n=3,format=yuv420p[out0]"
    )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", shots, "-c:v", "libx264", str(source)],
        check=True,
    )
    result = transcode(source, tmp_path / "out", probe_source(source))
    assert result.scenes == pytest.approx([2.0, 4.0], abs=0.05)
    assert json.loads(result.scenes_json.read_text())["scenes"] == result.scenes


def test_ffmpeg_failure_raises_and_removes_partial_outputs(tmp_path: Path) -> None:
    source = make_test_source(tmp_path / "silent.mp4", 2, 640, 360, audio=False)
    lying = SourceInfo(2.0, 640, 360, 25.0, True, "h264", "aac", "mp4")
    out = tmp_path / "out"
    with pytest.raises(TranscodeFailed) as caught:
        transcode(source, out, lying)
    assert any("matches no streams" in line for line in caught.value.stderr_tail)
    assert list(out.iterdir()) == []


def test_a_silent_ffmpeg_is_killed_as_stalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_test_source(tmp_path / "clip.mp4", 2, 320, 240)
    monkeypatch.setattr(media_transcode, "STALL_TIMEOUT_S", 0)
    out = tmp_path / "out"
    with pytest.raises(TranscodeFailed, match="stalled"):
        transcode(source, out, probe_source(source))
    assert list(out.iterdir()) == []


def test_progress_callback_can_cancel(tmp_path: Path) -> None:
    source = make_test_source(tmp_path / "clip.mp4", 8, 640, 360)

    def cancel(fraction: float, eta: float) -> None:
        """Cancel at the first report, as a worker asked to stop would."""
        raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        transcode(source, out, probe_source(source), cancel)
    assert list(out.iterdir()) == []


# --- the bad-input corpus --------------------------------------------------------------------


def tiny_clip(path: Path) -> Path:
    """A real 2 s 320x240 MP4 with sound (moov box at the end)."""
    return make_test_source(path, 2, 320, 240)


def ffmpeg_lavfi(path: Path, graph: str, *args: str) -> Path:
    """Encode a lavfi source graph to path with the given output arguments."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", graph, *args, str(path)],
        check=True,
    )
    return path


def zero_bytes(tmp_path: Path) -> Path:
    """An empty upload."""
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    return path


def text_file(tmp_path: Path) -> Path:
    """A text file renamed .mp4."""
    path = tmp_path / "notes.mp4"
    path.write_text("Episode 3 notes: the suspect left Bordeaux at dawn.\n" * 50)
    return path


def png_renamed(tmp_path: Path) -> Path:
    """A PNG picture renamed .mp4."""
    png = ffmpeg_lavfi(tmp_path / "still.png", "testsrc2=s=320x240", "-frames:v", "1")
    return png.rename(tmp_path / "still.mp4")


def audio_only(tmp_path: Path) -> Path:
    """An MP4 holding nothing but an AAC track."""
    return ffmpeg_lavfi(tmp_path / "voice.mp4", "sine=d=2", "-c:a", "aac")


def truncated_moov_at_end(tmp_path: Path) -> Path:
    """A real MP4 cut in half: its moov box (at the end) is gone, ffprobe cannot open it."""
    clip = tiny_clip(tmp_path / "clip.mp4")
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    return clip


def truncated_faststart(tmp_path: Path) -> Path:
    """A faststart MP4 cut in half: ffprobe opens it, but the mdat box runs past the end."""
    clip = tiny_clip(tmp_path / "clip.mp4")
    fast = tmp_path / "fast.mp4"
    cmd = ["ffmpeg", "-v", "error", "-i", str(clip), "-c", "copy", "-movflags", "+faststart"]
    subprocess.run([*cmd, str(fast)], check=True)
    data = fast.read_bytes()
    fast.write_bytes(data[: len(data) // 2])
    return fast


def no_duration(tmp_path: Path) -> Path:
    """A Matroska file written to a pipe, so its header never got a duration."""
    path = tmp_path / "live.mkv"
    cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:d=2"]
    with path.open("wb") as out:
        subprocess.run([*cmd, "-c:v", "libx264", "-f", "matroska", "-"], stdout=out, check=True)
    return path


def unknown_codec(tmp_path: Path) -> Path:
    """A video in a known container (Matroska) but an unsupported codec (FFV1)."""
    return ffmpeg_lavfi(tmp_path / "lossless.mkv", "testsrc2=s=320x240:d=2", "-c:v", "ffv1")


def unknown_container(tmp_path: Path) -> Path:
    """H.264 in a container we do not take (FLV)."""
    return ffmpeg_lavfi(tmp_path / "old.flv", "testsrc2=s=320x240:d=2", "-c:v", "libx264")


BAD_INPUTS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("zero_bytes", zero_bytes, "empty_file"),
    ("text_file", text_file, "not_a_video"),
    ("png_renamed", png_renamed, "not_a_video"),
    ("audio_only", audio_only, "audio_only"),
    ("truncated_moov_at_end", truncated_moov_at_end, "truncated"),
    ("truncated_faststart", truncated_faststart, "truncated"),
    ("no_duration", no_duration, "no_duration"),
    ("unknown_codec", unknown_codec, "unknown_codec"),
    ("unknown_container", unknown_container, "unknown_container"),
]


@pytest.mark.parametrize(
    ("build", "code"),
    [pytest.param(build, code, id=name) for name, build, code in BAD_INPUTS],
)
def test_bad_input_is_rejected(tmp_path: Path, build: Callable[[Path], Path], code: str) -> None:
    path = build(tmp_path)
    with pytest.raises(MediaRejected) as caught:
        probe_source(path)
    assert caught.value.code == code
    for message in (caught.value.message_fr, caught.value.message_en):
        assert message
        assert "\n" not in message


def test_too_long_is_rejected_against_the_limit(tmp_path: Path) -> None:
    clip = tiny_clip(tmp_path / "clip.mp4")
    with pytest.raises(MediaRejected) as caught:
        probe_source(clip, MediaLimits(max_duration=1.5))
    assert caught.value.code == "too_long"
    assert probe_source(clip, MediaLimits(max_duration=3)).duration == pytest.approx(2, abs=0.1)


def test_too_large_resolution_is_rejected_against_the_limit(tmp_path: Path) -> None:
    clip = tiny_clip(tmp_path / "clip.mp4")
    with pytest.raises(MediaRejected) as caught:
        probe_source(clip, MediaLimits(max_width=160, max_height=120))
    assert caught.value.code == "too_large_resolution"
    # Portrait frames are measured against the same box turned on its side.
    assert probe_source(clip, MediaLimits(max_width=240, max_height=320)).width == 320
