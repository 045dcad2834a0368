"""Writes the demo's cover art, static/demo/covers/00.svg ... 23.svg: small generated SVGs
(gradients and rings, no text), the same bytes on every run. The files are committed; run this
only to change them: `python scripts/demo_covers.py`."""

import colorsys
import random
from pathlib import Path

COVERS = Path(__file__).resolve().parent.parent / "static" / "demo" / "covers"
COUNT = 24  # spotify.fake.data.COVER_COUNT


def _colour(hue: float, lightness: float, saturation: float) -> str:
    red, green, blue = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def cover(number: int) -> str:
    rng = random.Random(f"demo-cover:{number}")  # noqa: S311 (artwork, not security)
    hue = number / COUNT
    start = _colour(hue, 0.55, 0.65)
    end = _colour(hue + rng.uniform(0.08, 0.3), 0.3, 0.6)
    x, y = rng.randint(60, 240), rng.randint(60, 240)
    rings = "".join(
        f'<circle cx="{x}" cy="{y}" r="{radius}" fill="none" stroke="#ffffff" '
        f'stroke-opacity="{rng.uniform(0.15, 0.5):.2f}" stroke-width="{rng.randint(2, 10)}"/>'
        for radius in sorted(rng.sample(range(20, 200, 12), 4))
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 300" width="640" height="640">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{start}"/><stop offset="1" stop-color="{end}"/>'
        "</linearGradient></defs>"
        f'<rect width="300" height="300" fill="url(#g)"/>{rings}</svg>\n'
    )


def main() -> None:
    COVERS.mkdir(parents=True, exist_ok=True)
    for number in range(COUNT):
        (COVERS / f"{number:02d}.svg").write_text(cover(number), encoding="utf-8")


if __name__ == "__main__":
    main()
