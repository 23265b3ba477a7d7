"""encode_png: one valid PNG whatever the number of strips, read back exactly by libpng (OpenCV) and Pillow."""
from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremover.imaging.png import encode_png, up_filtered


def noisy(h: int, w: int, channels: int, seed: int = 3) -> np.ndarray:
    shape = (h, w) if channels == 1 else (h, w, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, body) of every chunk, after checking the signature and each chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + body), tag
        out.append((tag, body))
        pos += 12 + length
    return out


def read_pillow(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    im.load()
    return np.asarray(im)


def read_libpng(data: bytes) -> np.ndarray:
    px = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert px is not None
    if px.ndim == 3:
        px = cv2.cvtColor(px, cv2.COLOR_BGRA2RGBA if px.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return px


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("strips", [1, 2, 3, 4])
def test_every_strip_count_reads_back_exactly(channels: int, strips: int) -> None:
    px = noisy(301, 257, channels)  # rows that do not divide evenly into strips
    data = encode_png(px, strips=strips)
    assert np.array_equal(read_pillow(data), px)
    assert np.array_equal(read_libpng(data), px)


@pytest.mark.parametrize("shape", [(1, 1, 4), (1, 5000, 4), (5000, 1), (3, 2, 3)], ids=str)
def test_degenerate_shapes_read_back_exactly(shape: tuple[int, ...]) -> None:
    px = noisy(shape[0], shape[1], 1 if len(shape) == 2 else shape[2])
    data = encode_png(px, strips=4)  # more strips than a thin image has rows: as many as there are
    assert np.array_equal(read_libpng(data), px)


def test_the_strips_make_one_zlib_stream_with_a_true_checksum() -> None:
    """zlib.decompress checks the Adler-32 at the end: the joined strips are one stream, not several."""
    px = noisy(700, 900, 4)  # 2.5 MB of scanlines: enough for several strips
    parts = chunks(encode_png(px, level=1, strips=4))
    assert [tag for tag, _ in parts] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", parts[0][1]) == (900, 700, 8, 6, 0, 0, 0)
    assert zlib.decompress(parts[1][1]) == up_filtered(px).tobytes()


def test_the_up_filter_is_png_s() -> None:
    """Row 0 is kept, every later byte is itself minus the byte above it, modulo 256; each row starts with 2."""
    px = np.array([[[10, 200, 0, 255]], [[5, 250, 1, 0]]], np.uint8)
    assert up_filtered(px).tolist() == [[2, 10, 200, 0, 255], [2, 251, 50, 1, 1]]


def test_bytes_are_deterministic_and_the_level_counts() -> None:
    px = np.zeros((800, 800, 4), np.uint8)
    px[200:600, 200:600] = noisy(400, 400, 4)
    assert encode_png(px, level=2, strips=2) == encode_png(px, level=2, strips=2)
    assert len(encode_png(px, level=0, strips=2)) > len(encode_png(px, level=6, strips=2))


def _encode_in_child(queue) -> None:  # type: ignore[no-untyped-def]
    px = noisy(600, 600, 4)
    queue.put(np.array_equal(read_libpng(encode_png(px, strips=2)), px))


def test_a_forked_process_encodes_with_a_pool_of_its_own() -> None:
    """A worker process forked after its parent encoded must not wait on the parent's pool threads, which it lacks."""
    import multiprocessing

    encode_png(noisy(600, 600, 4), strips=2)  # the parent's pool now has threads
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_encode_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked process hung on its parent's thread pool"
    assert queue.get(timeout=5) is True
