"""The three ways to reach a simulated meter, each a real byte stream for the real driver.

- :class:`PtyServer` — a pseudo-terminal pair; the driver opens the slave's path exactly like
  ``/dev/ttyUSB0`` (termios, exclusive lock and all);
- :class:`TcpServer` — a TCP port on 127.0.0.1, as a serial-to-Ethernet converter; the driver
  uses ``socket://127.0.0.1:PORT``;
- :class:`InProcessLink` — behind the ``nht6sim://`` pyserial URL scheme, no thread, no fd.

All three split the host's bytes into request frames with a :class:`RequestFramer` and release
each answer only after its (real-time) delay, the way bytes trickle down a 9600-baud line.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import select
import socket
import threading
import time
import tty
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType

from simulators.smoke_meter.meter import SmokeMeterSimulator

#: silence after which a partial request is dropped, as the meter resynchronises on a gap (s)
FRAME_GAP_S = 0.2
#: bytes read from the host in one go
READ_CHUNK = 4096
#: seconds a server thread gets to finish when stopped
STOP_TIMEOUT_S = 5.0


class RequestFramer:
    """Splits the host's byte stream into request frames by command length.

    An unknown command byte comes out as a one-byte frame (the meter NAKs it) and the rest of
    what is buffered is dropped: without a length there is no way to find the next frame.
    """

    def __init__(
        self,
        request_length: Callable[[int], int | None],
        *,
        gap_s: float = FRAME_GAP_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._length = request_length
        self._gap_s = gap_s
        self._monotonic = monotonic
        self._buffer = bytearray()
        self._last = -float("inf")

    def feed(self, data: bytes) -> list[bytes]:
        now = self._monotonic()
        if self._buffer and now - self._last > self._gap_s:
            self._buffer.clear()
        self._last = now
        self._buffer += data
        frames = []
        while self._buffer:
            length = self._length(self._buffer[0])
            if length is None:
                frames.append(bytes(self._buffer[:1]))
                self._buffer.clear()
                break
            if len(self._buffer) < length:
                break
            frames.append(bytes(self._buffer[:length]))
            del self._buffer[:length]
        return frames


class _OutputQueue:
    """Answers waiting for their release time (real, monotonic seconds)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, bytes]] = []
        self._sequence = 0

    def push(self, ready_at: float, data: bytes) -> None:
        heapq.heappush(self._heap, (ready_at, self._sequence, data))
        self._sequence += 1

    def pop_due(self, now: float) -> bytes:
        out = bytearray()
        while self._heap and self._heap[0][0] <= now:
            out += heapq.heappop(self._heap)[2]
        return bytes(out)

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def clear(self) -> None:
        self._heap.clear()


def _answer(sim: SmokeMeterSimulator, framer: RequestFramer, queue: _OutputQueue, data: bytes) -> None:
    for frame in framer.feed(data):
        out = sim.respond(frame)
        if out is not None:
            queue.push(time.monotonic() + out.delay_s, out.data)


class _Server(ABC):
    """A thread that shuttles bytes between one file descriptor and the simulator."""

    def __init__(self, sim: SmokeMeterSimulator, name: str) -> None:
        self.sim = sim
        self._name = name
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._stopping = False

    def _start_thread(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, READ_CHUNK)

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping = True
        self._wake()
        thread.join(STOP_TIMEOUT_S)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._close_fds()

    @abstractmethod
    def _close_fds(self) -> None:
        """Release the server's own descriptors (after the thread ended)."""

    @abstractmethod
    def _run(self) -> None:
        """The shuttle loop."""

    @staticmethod
    def _timeout(queue: _OutputQueue) -> float | None:
        due = queue.next_due()
        return None if due is None else max(0.0, due - time.monotonic())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class PtyServer(_Server):
    """The simulator on a pseudo-terminal; :attr:`path` is the device the driver opens.

    The server keeps the slave end open itself, so the driver may close and re-open the path
    (a reconnect) without the pty going away.
    """

    def __init__(self, sim: SmokeMeterSimulator) -> None:
        super().__init__(sim, "nht6sim-pty")
        self.path = ""
        self._master = self._slave = -1

    def start(self) -> PtyServer:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._start_thread()
        return self

    def __enter__(self) -> PtyServer:
        return self.start()

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    def _run(self) -> None:
        framer = RequestFramer(self.sim.request_length)
        queue = _OutputQueue()
        while not self._stopping:
            readable, _, _ = select.select([self._master, self._wake_r], [], [], self._timeout(queue))
            if self._wake_r in readable:
                self._drain_wake()
            if self._master in readable:
                try:
                    data = os.read(self._master, READ_CHUNK)
                except (BlockingIOError, InterruptedError):
                    data = b""
                _answer(self.sim, framer, queue, data)
            due = queue.pop_due(time.monotonic())
            if due:
                # nobody reading and the pty buffer full: the bytes are lost, as on a real line
                with contextlib.suppress(BlockingIOError):
                    os.write(self._master, due)


class TcpServer(_Server):
    """The simulator behind a TCP port, one client at a time (as a serial-to-Ethernet box).

    A second client is refused (accepted and closed at once) while the first is connected.
    :meth:`drop_connection` cuts the current client, like a converter losing power.
    """

    def __init__(self, sim: SmokeMeterSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sim, "nht6sim-tcp")
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._drop_requested = False
        self._dropped = threading.Event()
        #: clients accepted so far
        self.connections = 0

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def start(self) -> TcpServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._start_thread()
        return self

    def __enter__(self) -> TcpServer:
        return self.start()

    def drop_connection(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Cut the current client; returns once the server thread has closed it."""
        self._dropped.clear()
        self._drop_requested = True
        self._wake()
        if not self._dropped.wait(timeout):
            raise RuntimeError("the TCP simulator did not drop its client in time")

    def _close_fds(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _run(self) -> None:
        assert self._listener is not None
        client: socket.socket | None = None
        framer = RequestFramer(self.sim.request_length)
        queue = _OutputQueue()
        try:
            while not self._stopping:
                watched = [self._listener, self._wake_r] + ([client] if client else [])
                readable, _, _ = select.select(watched, [], [], self._timeout(queue))
                if self._wake_r in readable:
                    self._drain_wake()
                if self._drop_requested:
                    if client is not None:
                        client.close()
                        client = None
                    self._drop_requested = False
                    self._dropped.set()
                if self._listener in readable:
                    incoming, _ = self._listener.accept()
                    if client is None:
                        client, framer = incoming, RequestFramer(self.sim.request_length)
                        client.setblocking(False)
                        queue.clear()
                        self.connections += 1
                    else:
                        incoming.close()
                if client is not None and client in readable:
                    try:
                        data = client.recv(READ_CHUNK)
                    except (BlockingIOError, InterruptedError):
                        data = None
                    except OSError:
                        data = b""
                    if data == b"":  # the host closed the connection
                        client.close()
                        client = None
                        queue.clear()
                    elif data:
                        _answer(self.sim, framer, queue, data)
                due = queue.pop_due(time.monotonic())
                if due and client is not None:
                    with contextlib.suppress(OSError):
                        client.send(due)
        finally:
            if client is not None:
                client.close()


class InProcessLink:
    """A byte pipe to a simulator in this process; what ``nht6sim://`` ports talk through."""

    def __init__(self, sim: SmokeMeterSimulator) -> None:
        self.sim = sim
        self._framer = RequestFramer(sim.request_length)
        self._queue = _OutputQueue()
        self._received = bytearray()
        self._ready = threading.Condition()
        self._closed = False
        self._cancelled = False

    def write(self, data: bytes) -> int:
        with self._ready:
            _answer(self.sim, self._framer, self._queue, data)
            self._ready.notify_all()
        return len(data)

    def read(self, size: int, timeout: float | None) -> bytes:
        """Up to ``size`` bytes; waits at most ``timeout`` s (None: until enough arrive)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            self._cancelled = False
            while True:
                now = self._take_due()
                if len(self._received) >= size or self._closed or self._cancelled:
                    break
                waits = [t - now for t in (deadline, self._queue.next_due()) if t is not None]
                if deadline is not None and deadline <= now:
                    break
                self._ready.wait(min(waits) if waits else None)
            out = bytes(self._received[:size])
            del self._received[:size]
            return out

    @property
    def in_waiting(self) -> int:
        with self._ready:
            self._take_due()
            return len(self._received)

    def reset_input(self) -> None:
        """Drop what has arrived; answers still on the line arrive later, as on a real port."""
        with self._ready:
            self._take_due()
            self._received.clear()

    def _take_due(self) -> float:
        """Move answers whose time has come into the receive buffer; return that time."""
        now = time.monotonic()
        self._received += self._queue.pop_due(now)
        return now

    def cancel_read(self) -> None:
        with self._ready:
            self._cancelled = True
            self._ready.notify_all()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
