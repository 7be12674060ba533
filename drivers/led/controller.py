"""Desired-state keeper for a set of displays, with recovery after a display was offline.

The station decides *what* each display should show; whether the display is powered, wired or
answering right now is a separate matter. :class:`LedController` remembers the desired state of
every display, reports which ones are offline, and on :meth:`LedController.refresh` (called
periodically by the device manager) pushes the desired state to every display that answers
again — a display that lost power has lost its RAM text, so it must be re-sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

from drivers.errors import DeviceError
from drivers.led.display import Colour, Content, Display, Effect


@dataclass(frozen=True)
class DisplayStatus:
    """What the controller knows about one display."""

    key: Hashable
    name: str
    #: None until the display was first contacted
    online: bool | None
    #: the display shows the desired state, as far as the controller can tell
    in_sync: bool
    desired: Content | None
    #: desired screen power; None when never switched
    power_on: bool | None
    last_error: DeviceError | None


Listener = Callable[[DisplayStatus], None]


class _Entry:
    """Mutable per-display record; every field is guarded by ``lock``."""

    def __init__(self, key: Hashable, display: Display) -> None:
        self.key = key
        self.display = display
        # Held across the I/O of one display so that a refresh re-sending old text cannot
        # overtake a newer show() for the same display.
        self.lock = threading.RLock()
        self.opened = False
        self.online: bool | None = None
        self.in_sync = False
        self.content: Content | None = None
        self.power_on: bool | None = None
        self.last_error: DeviceError | None = None
        # Published copy for status(): reading it never waits for a display's slow I/O.
        self.published = self.snapshot()

    def publish(self) -> DisplayStatus:
        self.published = self.snapshot()
        return self.published

    def snapshot(self) -> DisplayStatus:
        return DisplayStatus(
            key=self.key,
            name=self.display.name,
            online=self.online,
            in_sync=self.in_sync,
            desired=self.content,
            power_on=self.power_on,
            last_error=self.last_error,
        )


class LedController:
    """Keeps what every display should show and re-sends it when a display comes back.

    ``displays`` is either a mapping ``key -> Display`` (keys are the station's own names, e.g.
    ``"window-3"``) or an iterable of displays keyed by their bus address. With ``verify`` a
    display that does not acknowledge writes is probed after each show, so a dead display is
    reported at once instead of at the next refresh. ``listener`` is called (outside any lock)
    whenever a display goes online or offline.
    """

    def __init__(
        self,
        displays: Mapping[Hashable, Display] | Iterable[Display],
        *,
        verify: bool = True,
        listener: Listener | None = None,
    ) -> None:
        if isinstance(displays, Mapping):
            pairs = list(displays.items())
        else:
            pairs = [(display.address, display) for display in displays]
        self._entries: dict[Hashable, _Entry] = {}
        for key, display in pairs:
            if key in self._entries:
                raise ValueError(f"two displays with key {key!r}; pass a mapping with unique keys")
            self._entries[key] = _Entry(key, display)
        self.verify = verify
        self._listener = listener

    @property
    def keys(self) -> list[Hashable]:
        return list(self._entries)

    def display(self, key: Hashable) -> Display:
        return self._entry(key).display

    def open(self) -> list[DisplayStatus]:
        """Open every display; one whose port cannot be opened is reported offline, not raised."""
        for entry in self._entries.values():
            with entry.lock:
                before = entry.online
                try:
                    self._ensure_open(entry)
                except DeviceError as exc:
                    self._mark_offline(entry, exc)
                changed = before != entry.online
                status = entry.publish()
            if changed:
                self._notify(status)
        return self.statuses()

    def close(self) -> None:
        for entry in self._entries.values():
            with entry.lock:
                if entry.opened:
                    entry.opened = False
                    entry.display.close()

    def __enter__(self) -> LedController:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def show(
        self,
        key: Hashable,
        text: str,
        *,
        line: int = 0,
        effect: Effect = Effect.INSTANT,
        speed: int | None = None,
        dwell: int | None = None,
        colour: Colour = Colour.RED,
        save: bool = False,
    ) -> bool:
        """Make ``text`` the desired content of display ``key`` and try to deliver it.

        Returns True when delivered; otherwise the display is reported offline and the text is
        delivered by a later :meth:`refresh`. ``ValueError`` (text the display cannot show) is
        raised and leaves the desired state unchanged.
        """
        content = Content(text, line, effect, speed, dwell, colour, save)
        return self._update(key, _set_content(content), lambda display: display.send(content))

    def clear(self, key: Hashable) -> bool:
        """Make a blank display the desired state (see :meth:`show`)."""
        return self.show(key, "")

    def power(self, key: Hashable, on: bool) -> bool:
        """Make screen power ``on`` part of the desired state and try to deliver it."""

        def set_power(entry: _Entry) -> None:
            entry.power_on = on

        return self._update(key, set_power, lambda display: display.power(on))

    def refresh(self) -> list[DisplayStatus]:
        """Probe every display; push the desired state to those that answer but are out of sync."""
        for entry in self._entries.values():
            with entry.lock:
                before = entry.online
                try:
                    self._ensure_open(entry)
                    entry.display.check()
                    if not entry.in_sync:
                        self._push(entry)
                except DeviceError as exc:
                    self._mark_offline(entry, exc)
                else:
                    self._mark_online(entry)
                changed = before != entry.online
                status = entry.publish()
            if changed:
                self._notify(status)
        return self.statuses()

    def status(self, key: Hashable) -> DisplayStatus:
        """The state after the display's last completed operation (never blocks on I/O)."""
        return self._entry(key).published

    def statuses(self) -> list[DisplayStatus]:
        return [self.status(key) for key in self._entries]

    # -- internals ------------------------------------------------------------------------------

    def _entry(self, key: Hashable) -> _Entry:
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"no display {key!r}; known: {self.keys}") from None

    def _update(
        self,
        key: Hashable,
        set_desired: Callable[[_Entry], None],
        send_change: Callable[[Display], None],
    ) -> bool:
        entry = self._entry(key)
        with entry.lock:
            before = entry.online
            saved = (entry.content, entry.power_on, entry.in_sync)
            try:
                set_desired(entry)
                self._ensure_open(entry)
                if entry.in_sync:
                    send_change(entry.display)
                else:
                    # The display may have lost everything: send the whole desired state.
                    self._push(entry)
                if self.verify and not entry.display.confirms_writes:
                    entry.display.check()
            except (ValueError, TypeError):
                entry.content, entry.power_on, entry.in_sync = saved
                raise
            except DeviceError as exc:
                self._mark_offline(entry, exc)
            else:
                self._mark_online(entry)
            changed = before != entry.online
            status = entry.publish()
            delivered = entry.in_sync
        if changed:
            self._notify(status)
        return delivered

    def _ensure_open(self, entry: _Entry) -> None:
        if not entry.opened:
            entry.display.open()
            entry.opened = True

    def _push(self, entry: _Entry) -> None:
        if entry.power_on is not None:
            entry.display.power(entry.power_on)
        if entry.content is not None:
            entry.display.send(entry.content)

    def _mark_online(self, entry: _Entry) -> None:
        entry.online = True
        entry.in_sync = True
        entry.last_error = None

    def _mark_offline(self, entry: _Entry, exc: DeviceError) -> None:
        entry.online = False
        # Whatever the display showed may be gone (power cut): re-send once it answers again.
        entry.in_sync = False
        entry.last_error = exc

    def _notify(self, status: DisplayStatus) -> None:
        if self._listener is not None:
            self._listener(status)


def _set_content(content: Content) -> Callable[[_Entry], None]:
    def set_content(entry: _Entry) -> None:
        entry.content = content

    return set_content
