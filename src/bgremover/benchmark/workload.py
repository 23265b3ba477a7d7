"""The photos a benchmark runs on: one real photo resized (Lanczos) to about 1 MP and 4 MP.

The source is, in order: a photo given by the caller, a fixed photo of the evaluation set beside the
project (read in place, never copied into the project), the package's bundled sample, or a generated
scene. Resized copies are written to a scratch directory outside the project, as JPEG, because a
JPEG upload is what both engines are asked to cut out in practice.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

# 1280 x 853 (1.09 MP): the photo size BASELINES.md's peer timings were taken at.
DEV_PHOTO = "comp1k_boy-1518482_1920_12"
JPEG_QUALITY = 92


@dataclass(frozen=True)
class Workload:
    label: str  # "1MP", "4MP", "0.25MP"
    path: Path
    width: int
    height: int
    bytes: int
    source: str  # where the pixels came from

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["path"] = str(self.path)
        d["megapixels"] = round(self.megapixels, 3)
        return d


def dev_set_candidates() -> list[Path]:
    """Where the evaluation set lives beside a checkout (``../shared/eval/dev``) or the working directory."""
    here = Path(__file__).resolve()
    return [here.parents[3].parent / "shared" / "eval" / "dev", Path.cwd().parent / "shared" / "eval" / "dev",
            Path.cwd() / "shared" / "eval" / "dev"]


def find_source_photo(photo: Path | None = None) -> tuple[Image.Image, str]:
    """The RGB photo to resize, and a short description of where it came from."""
    if photo is not None:
        return _open_rgb(photo), str(photo)
    for root in dev_set_candidates():
        images = root / "images"
        for p in sorted(images.glob(f"{DEV_PHOTO}.*")) if images.is_dir() else []:
            return _open_rgb(p), f"eval set: {p.name}"
    sample = _bundled_sample()
    if sample is not None:
        return _open_rgb(sample), f"bundled sample: {sample.name}"
    return Image.fromarray(generated_scene(853, 1280)), "generated scene"


def _open_rgb(path: Path) -> Image.Image:
    from PIL import ImageOps

    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _bundled_sample() -> Path | None:
    try:
        assets = resources.files("bgremover").joinpath("assets")
        names = sorted(p.name for p in assets.iterdir() if p.name.lower().endswith((".jpg", ".jpeg", ".png", ".webp")))
    except (FileNotFoundError, NotADirectoryError, ModuleNotFoundError):
        return None
    return Path(str(assets.joinpath(names[0]))) if names else None


def generated_scene(height: int, width: int, seed: int = 7) -> np.ndarray:
    """A photo-like scene (textured backdrop, a lit round subject, fine strands) when no real photo exists."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    bg = np.stack([90 + 60 * xx / width, 120 + 40 * yy / height, 150 - 50 * xx / width], axis=-1)
    bg += rng.normal(0, 12, (height, width, 1))
    cy, cx, r = height * 0.55, width * 0.5, min(height, width) * 0.3
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    subject = (d < r + 3 * np.sin(xx / 7.0))[..., None]
    shade = np.clip(1.2 - d / (1.6 * r), 0.3, 1.0)[..., None]
    fg = np.stack([200 * shade[..., 0], 110 * shade[..., 0], 60 * shade[..., 0]], axis=-1)
    img = np.where(subject, fg, bg)
    for _ in range(60):  # hair-like strands leaving the subject
        a = rng.uniform(0, 2 * math.pi)
        for t in np.linspace(r * 0.9, r * 1.25, 80):
            y, x = int(cy + t * math.sin(a)), int(cx + t * math.cos(a))
            if 0 <= y < height and 0 <= x < width:
                img[y, x] = (60, 35, 20)
    return np.clip(img, 0, 255).astype(np.uint8)


def size_for(megapixels: float, aspect: float) -> tuple[int, int]:
    """Width and height of about ``megapixels`` at ``aspect`` (width / height)."""
    h = math.sqrt(megapixels * 1e6 / aspect)
    return max(1, round(h * aspect)), max(1, round(h))


def label_for(megapixels: float) -> str:
    return f"{megapixels:g}MP"


def build_workloads(sizes_mp: list[float], out_dir: Path, photo: Path | None = None) -> list[Workload]:
    """Resize the source photo to each size, write it as JPEG under ``out_dir`` and describe it."""
    src, origin = find_source_photo(photo)
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha1(f"{origin}:{src.size}".encode()).hexdigest()[:8]
    loads = []
    for mp in sizes_mp:
        if mp <= 0:
            raise ValueError(f"sizes must be positive megapixels, not {mp}")
        w, h = size_for(mp, src.width / src.height)
        path = out_dir / f"bench-{tag}-{w}x{h}.jpg"
        if not path.is_file():
            tmp = path.with_suffix(".tmp")
            src.resize((w, h), Image.Resampling.LANCZOS).save(tmp, "JPEG", quality=JPEG_QUALITY)
            tmp.replace(path)
        loads.append(Workload(label_for(mp), path, w, h, path.stat().st_size, origin))
    return loads
