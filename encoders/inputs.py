"""Checks and normalisation of encoder inputs, shared by the CLIP and text channels."""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from figvault.encoders.base import EncodingError

ImageLoader = Callable[[], Image.Image]
"""An image decoded when it is needed (raises EncodingError when it cannot be)."""
ImageInput = Image.Image | ImageLoader

# Figures often have transparent backgrounds; open_clip's convert("RGB") would turn them black, which
# is not what a reader sees. Transparent pixels are composited onto this colour first.
ALPHA_BACKGROUND = (255, 255, 255)


def as_rgb(image: Image.Image, index: int = 0) -> Image.Image:
    """``image`` as RGB; transparency is composited onto white. Bad input -> EncodingError."""
    if not isinstance(image, Image.Image):
        raise EncodingError(f"item {index}: expected a PIL image, got {type(image).__name__}")
    if image.width < 1 or image.height < 1:
        raise EncodingError(f"item {index}: empty image ({image.width}x{image.height})")
    try:
        image.load()  # decode now, so a truncated file fails here with its index rather than mid-batch
        if image.mode == "RGB":
            return image
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")
    except (OSError, ValueError) as err:
        raise EncodingError(f"item {index}: image cannot be decoded ({err})") from err


def check_text(text: str, index: int = 0) -> str:
    if not isinstance(text, str):
        raise EncodingError(f"item {index}: expected text, got {type(text).__name__}")
    return text
