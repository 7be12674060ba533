"""LED window / lane displays (条屏、窗口屏).

- :class:`Display` — the one interface the station uses (show / power / probe / clear).
- :class:`Rs485FrameDisplay` — adapter for the documented RS-485 ``AA addr BB … xor FF`` protocol.
- :class:`Bus` — one serial line shared by the displays wired to it.
- :class:`LedController` — remembers what each display should show and re-sends it after an
  outage.
- :func:`create_display` / :func:`create_displays` — build displays from configuration dicts.

The frame format and our reading of the vendor example are in ``docs/devices/led.md``.
"""

from drivers.led.bus import Bus, SerialSettings
from drivers.led.controller import DisplayStatus, LedController
from drivers.led.display import Colour, Content, Display, Effect, UnencodableText
from drivers.led.factory import PROTOCOLS, BusPool, create_display, create_displays
from drivers.led.rs485_frame import Rs485FrameDisplay, Rs485FrameOptions

__all__ = [
    "PROTOCOLS",
    "Bus",
    "BusPool",
    "Colour",
    "Content",
    "Display",
    "DisplayStatus",
    "Effect",
    "LedController",
    "Rs485FrameDisplay",
    "Rs485FrameOptions",
    "SerialSettings",
    "UnencodableText",
    "create_display",
    "create_displays",
]
