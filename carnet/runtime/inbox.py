"""The dispatcher's inbox: what paho's thread received, waiting for the dispatcher thread.

It is bounded, and a message that finds it full is answered at once by the dispatcher's
``overloaded``, on paho's thread, without parsing."""

from __future__ import annotations

import logging
import queue
import threading

from carnet.mqtt.link import Inbound
from carnet.runtime.dispatch import Dispatcher

_LOG = logging.getLogger(__name__)

INBOX_LIMIT = 1000
"""Messages waiting for the dispatcher at most. Past it a command is answered
``rejected`` at once: a flood must not grow memory without bound, nor make every
command wait behind it until it expires."""


class Inbox:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._queue: queue.Queue[Inbound | None] = queue.Queue(INBOX_LIMIT)
        self._overloaded = 0  # messages answered "overloaded" since the inbox was last empty
        self._overloaded_lock = threading.Lock()

    def qsize(self) -> int:
        return self._queue.qsize()

    def receive(self, message: Inbound) -> None:
        """On paho's thread: hand the message to the dispatcher, or answer it at once."""
        try:
            self._queue.put_nowait(message)
            return
        except queue.Full:
            pass
        with self._overloaded_lock:
            first = self._overloaded == 0
            self._overloaded += 1
        if first:
            _LOG.warning(
                "bridge overloaded: %d messages wait for the dispatcher; answering "
                "commands 'rejected' until it catches up",
                INBOX_LIMIT,
            )
        self._dispatcher.overloaded(message, INBOX_LIMIT)

    def close(self) -> None:
        """After what waits, so that is answered first: the dispatcher thread then ends."""
        try:
            self._queue.put(None, timeout=5)
        except queue.Full:
            _LOG.warning("the dispatcher does not take messages; stopping without it")

    def dispatch(self) -> None:
        """The dispatcher thread: every message in turn, until ``close``."""
        while True:
            message = self._queue.get()
            if message is None:
                return
            if self._overloaded and self._queue.empty():
                with self._overloaded_lock:
                    count, self._overloaded = self._overloaded, 0
                _LOG.warning("bridge overloaded: %d messages were answered 'rejected'", count)
            try:
                self._dispatcher.handle(message)
            except Exception:  # one bad message must never stop the dispatcher
                _LOG.exception("handling a message on %s failed", message.topic)
