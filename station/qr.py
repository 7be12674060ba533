"""QR codes for screens (inline SVG, no network)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from markupsafe import Markup


def qr_svg(data: str) -> Markup:
    """An inline SVG QR code that scales with its container."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    svg = image.to_string(encoding="unicode")
    return Markup(svg.replace('width="', 'data-w="', 1).replace('height="', 'data-h="', 1))
