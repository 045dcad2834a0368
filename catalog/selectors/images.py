from typing import Any


def best_image(images: list[dict[str, Any]], *, width: int = 300) -> str | None:
    """The image closest to `width` pixels wide: big enough for a card, small enough to be quick.
    The first of equally close ones; an unknown or zero width counts as `width`."""
    if not isinstance(images, list) or not images:
        return None
    return str(min(images, key=lambda image: abs((image.get("width") or width) - width))["url"])
