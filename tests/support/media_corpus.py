"""The bad-input corpus every ingest path must refuse (CLI and web share it)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def bad_inputs(folder: Path) -> dict[str, Path]:
    """Reason code (":detail" for a second case of a code) -> a file that must get it."""
    zero = folder / "zero.mp4"
    zero.write_bytes(b"")
    text = folder / "notes.mp4"
    text.write_text("Ceci n'est pas une vidéo.\n" * 20)
    image = folder / "image.mp4"
    ffmpeg = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i"]
    subprocess.run(
        [*ffmpeg, "color=red:s=64x64", "-frames:v", "1", "-f", "image2", "-c:v", "png", str(image)],
        check=True,
    )
    audio = folder / "audio.mp4"
    subprocess.run([*ffmpeg, "sine=d=2", "-c:a", "aac", str(audio)], check=True)
    return {
        "empty_file": zero,
        "not_a_video": text,
        "not_a_video:image": image,
        "audio_only": audio,
    }
