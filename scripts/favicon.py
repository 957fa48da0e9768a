"""Draw web_client/favicon.ico: the brand mark of the pages' header (app.css ``.brand__mark``,
a drop with one sharper corner, in the primary colour) as a 32x32 PNG inside an ICO.

Run once after changing the mark: ``.venv/bin/python scripts/favicon.py``. Standard library
only; the output is byte-for-byte the same for the same drawing.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIZE = 32
SAMPLES = 4  # per pixel and axis, for smooth edges
COLOUR = (0x2C, 0x6A, 0x6E)  # --primary
CORNER = 0.12  # the bottom-left radius (the others are 0.5): border-radius 50% 50% 50% 12%
OUT = Path(__file__).resolve().parents[1] / "web_client" / "favicon.ico"


def inside(x: float, y: float) -> bool:
    """Whether (x, y) in the unit square lies in the mark."""
    radius = CORNER if x < 0.5 and y >= 0.5 else 0.5
    cx = radius if x < 0.5 else 1 - radius
    cy = radius if y < 0.5 else 1 - radius
    if (x < 0.5) == (x < cx) and (y < 0.5) == (y < cy):
        return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2
    return True


def png() -> bytes:
    rows = bytearray()
    for py in range(SIZE):
        rows.append(0)  # filter: none
        for px in range(SIZE):
            hits = sum(
                inside((px + (i + 0.5) / SAMPLES) / SIZE, (py + (j + 0.5) / SAMPLES) / SIZE)
                for i in range(SAMPLES)
                for j in range(SAMPLES)
            )
            alpha = round(255 * hits / SAMPLES**2)
            rows += bytes(COLOUR) + bytes([alpha]) if alpha else b"\0\0\0\0"

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def ico(image: bytes) -> bytes:
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image


if __name__ == "__main__":
    OUT.write_bytes(ico(png()))
    print(f"{OUT}: {OUT.stat().st_size} bytes")
