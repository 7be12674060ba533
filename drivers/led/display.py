"""The protocol-neutral interface of an LED window / lane display (条屏、窗口屏).

Every vendor protocol gets one adapter implementing :class:`Display`; the rest of the station
(device manager, services) only ever sees this interface, so swapping a board for another
vendor's is a configuration change.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType

from drivers.errors import DeviceError


class Effect(enum.Enum):
    """How the text enters the display. Adapters map each effect onto their vendor's mode table."""

    INSTANT = "instant"
    SCROLL_LEFT = "scroll_left"
    SCROLL_RIGHT = "scroll_right"
    SCROLL_UP = "scroll_up"
    SCROLL_DOWN = "scroll_down"
    WIPE_RIGHT = "wipe_right"  # revealed from the left edge towards the right
    WIPE_LEFT = "wipe_left"
    WIPE_DOWN = "wipe_down"
    WIPE_UP = "wipe_up"
    CURTAIN_OPEN = "curtain_open"  # revealed from the middle towards both edges
    FLASH = "flash"


class Colour(enum.Enum):
    """Text colour of single/dual/tri-colour boards."""

    RED = "red"
    GREEN = "green"
    YELLOW = "yellow"


class UnencodableText(ValueError):
    """The text holds a character the display's character set cannot show.

    This is the caller's problem (a name with a rare character, an emoji …), not a device fault,
    hence a ``ValueError`` and not a :class:`~drivers.errors.DeviceError`.
    """

    def __init__(self, text: str, position: int, encoding: str) -> None:
        self.text = text
        self.position = position
        self.encoding = encoding
        self.character = text[position]
        super().__init__(
            f"character {self.character!r} (U+{ord(self.character):04X}) at position {position} "
            f"cannot be shown: it is not in the display's character set {encoding.upper()}"
        )


@dataclass(frozen=True)
class Content:
    """One complete ``show`` request, as the controller remembers it for re-sending."""

    text: str
    line: int = 0
    effect: Effect = Effect.INSTANT
    speed: int | None = None  # None: the display's configured default
    dwell: int | None = None  # None: the display's configured default
    colour: Colour = Colour.RED
    save: bool = False


class Display(ABC):
    """One LED display at one address.

    ``open()``/``close()`` acquire and release the transport; every other method needs an open
    display. Methods raise :class:`~drivers.errors.DeviceError` subclasses for device and link
    faults and ``ValueError`` for arguments the display cannot take.
    """

    @property
    @abstractmethod
    def address(self) -> int:
        """The display's address on its bus."""

    @property
    @abstractmethod
    def name(self) -> str:
        """A human-readable identity used in error messages and logs."""

    @property
    @abstractmethod
    def confirms_writes(self) -> bool:
        """True when ``show``/``power``/``clear`` wait for the device to acknowledge.

        When False a successful call only means the bytes left the port; callers that must know
        whether the display is alive follow up with :meth:`check`.
        """

    @abstractmethod
    def open(self) -> None:
        """Acquire the transport. Raises ``DeviceNotFound`` when it cannot be opened."""

    @abstractmethod
    def close(self) -> None:
        """Release the transport. Safe to call twice."""

    @abstractmethod
    def show(
        self,
        text: str,
        *,
        line: int = 0,
        effect: Effect = Effect.INSTANT,
        speed: int | None = None,
        dwell: int | None = None,
        colour: Colour = Colour.RED,
        save: bool = False,
    ) -> None:
        """Show ``text``; with ``save`` the display also keeps it across a power cycle."""

    @abstractmethod
    def power(self, on: bool) -> None:
        """Switch the LED screen on or off (the controller stays reachable)."""

    @abstractmethod
    def check(self) -> None:
        """Ask the display whether it is there; raise a ``DeviceError`` if it does not answer right."""

    def probe(self) -> bool:
        """True when the display answers :meth:`check` correctly, False on any device error."""
        try:
            self.check()
        except DeviceError:
            return False
        return True

    def clear(self) -> None:
        """Blank the display (its saved text, if any, comes back after a power cycle)."""
        self.show("")

    def send(self, content: Content) -> None:
        """Show a remembered :class:`Content`."""
        self.show(
            content.text,
            line=content.line,
            effect=content.effect,
            speed=content.speed,
            dwell=content.dwell,
            colour=content.colour,
            save=content.save,
        )

    def __enter__(self) -> Display:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
