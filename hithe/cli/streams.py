"""Interactive plumbing for run/start/attach/exec: raw terminal, the hijacked
stream pump, detach keys, terminal resizing and signal forwarding.

Same shape as the docker CLI's hijackedIOStreamer: output is copied in the
calling thread, input in a daemon thread; stdin EOF half-closes the
connection (the container sees EOF), output EOF ends the session, and with a
TTY the detach sequence (default ctrl-p,ctrl-q) is caught on the client side
as well as passed to the daemon.
"""
from __future__ import annotations

# The C modules under signal and threading: their Python wrappers build enums
# and cost ~8 ms of start-up on every run/exec/attach.
import _signal
import _thread
import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable

from hithe.client.stream import copy_stream
from hithe.util.detachkeys import DetachScanner, parse_detach_keys

DEFAULT_ESCAPE = b"\x10\x11"  # ctrl-p, ctrl-q


EscapeDetector = DetachScanner  # moby/term's EscapeProxy


class RawTerminal:
    """Put fd 0 in raw mode (docker's SetRawTerminal on stdin) and always restore."""

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        self.saved: Any = None
        self._lock = _thread.allocate_lock()

    def __enter__(self) -> "RawTerminal":
        import termios
        import tty

        if os.isatty(self.fd):
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW)
        return self

    def restore(self) -> None:
        with self._lock:
            if self.saved is not None:
                import termios
                try:
                    termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
                except OSError:
                    pass
                self.saved = None

    def __exit__(self, *exc: object) -> None:
        self.restore()


def terminal_size() -> tuple[int, int]:
    """(height, width) of the terminal on stdout; (0, 0) when not a terminal."""
    try:
        sz = os.get_terminal_size(1)
        return sz.lines, sz.columns
    except OSError:
        return 0, 0


def pump(hj: Any, *, stdin: bool, tty: bool, out_fd: int | None = 1, err_fd: int | None = 2,
         detach_keys: str = "", raw: RawTerminal | None = None) -> bool:
    """Copy stdin to the connection and the connection to stdout/stderr.

    Returns True when the user typed the detach sequence."""
    detached: list[bool] = []
    escape = None
    if stdin and tty:
        try:
            escape = EscapeDetector(parse_detach_keys(detach_keys) if detach_keys else DEFAULT_ESCAPE)
        except ValueError:
            escape = EscapeDetector(DEFAULT_ESCAPE)

    def input_loop() -> None:
        try:
            while True:
                try:
                    data = os.read(0, 32768)
                except OSError:
                    data = b""
                if not data:
                    break
                if escape is not None:
                    data, hit = escape.feed(data)
                    if data:
                        hj.sendall(data)
                    if hit:
                        detached.append(True)
                        if raw is not None:
                            raw.restore()
                        try:
                            hj.sock.shutdown(2)  # SHUT_RDWR
                        except OSError:
                            pass
                        return
                else:
                    hj.sendall(data)
        except OSError:
            pass
        if raw is not None:
            raw.restore()
        hj.close_write()

    if stdin:
        # a bare thread: never joined at exit, like a daemon thread
        _thread.start_new_thread(input_loop, ())
    try:
        if out_fd is not None or err_fd is not None:
            copy_stream(hj.recv, out_fd, err_fd, tty)
        elif stdin:
            # nothing to print: wait for the daemon to close the stream
            while hj.recv():
                pass
    finally:
        if raw is not None:
            raw.restore()
    return bool(detached)


class ResizeMonitor:
    """Send the terminal size after start and on every SIGWINCH."""

    def __init__(self, resize: Callable[[int, int], None]) -> None:
        self.resize = resize
        self._old: Any = None

    def initial(self, retries: int = 5) -> None:
        import time

        h, w = terminal_size()
        if not h and not w:
            return
        # the process may not be ready for a resize right after start/exec-start
        for attempt in range(retries):
            try:
                self.resize(h, w)
                return
            except Exception:
                time.sleep(0.01 * (attempt + 1))
        sys.stderr.write("failed to resize tty, using default size\n")

    def start(self) -> None:
        def on_winch(_sig: int, _frame: object) -> None:
            h, w = terminal_size()
            try:
                self.resize(h, w)
            except Exception:
                pass

        try:
            self._old = _signal.signal(_signal.SIGWINCH, on_winch)
        except ValueError:
            self._old = None  # not in the main thread

    def stop(self) -> None:
        if self._old is not None:
            _signal.signal(_signal.SIGWINCH, self._old)


# signals never forwarded: job control and those the CLI itself needs
_NOT_FORWARDED = {"SIGCHLD", "SIGPIPE", "SIGWINCH", "SIGURG", "SIGKILL", "SIGSTOP",
                  "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGCONT", "SIGSEGV", "SIGBUS",
                  "SIGFPE", "SIGILL", "SIGPROF", "SIGVTALRM"}


def signal_names() -> dict[int, str]:
    """{number: name} of the standard signals; for aliases (SIGIOT, SIGCLD,
    SIGPOLL) the alphabetically first name, as signal.Signals has it."""
    names: dict[int, str] = {}
    for name in sorted(dir(_signal)):
        if name.startswith("SIG") and not name.startswith(("SIG_", "SIGRT")):
            names.setdefault(getattr(_signal, name), name)
    return names


def forward_signals(kill: Callable[[str], None]) -> Callable[[], None]:
    """Forward signals the CLI receives to the container (docker's ForwardAllSignals);
    returns a function that restores the previous handlers."""
    previous: dict[int, Any] = {}

    names = signal_names()

    def handler(signum: int, _frame: object) -> None:
        try:
            kill(names[signum][3:])
        except Exception:
            pass

    for sig, name in names.items():
        if name in _NOT_FORWARDED:
            continue
        try:
            previous[sig] = _signal.signal(sig, handler)
        except (OSError, ValueError, RuntimeError):
            continue

    def restore() -> None:
        for sig, old in previous.items():
            try:
                _signal.signal(sig, old)
            except (OSError, ValueError):
                pass

    return restore
