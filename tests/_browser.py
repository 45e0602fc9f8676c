"""Headless Chromium driven over the DevTools protocol on a pipe (no network, no library).

Debian's ``chromium`` (installed by ``make browser``, which ``make test`` runs) is started with
``--remote-debugging-pipe``: it reads protocol messages (JSON, each ending in a NUL byte) from
file descriptor 3 and writes its answers and events to file descriptor 4. No port is opened, so
nothing but this process can talk to it. :func:`find_chromium` says why a test must skip.
"""

import json
import os
import queue
import shutil
import subprocess
import threading

#: Where Debian and other distributions put the browser.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    """``(path, None)``, or ``(None, why the browser tests must skip)``."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path, None
    return None, (
        "no Chromium on this machine: `make test` installs Debian's chromium package with "
        "apt-get where it may (root or password-less sudo); elsewhere run "
        "`apt-get install chromium`"
    )


class ProtocolError(RuntimeError):
    """An error answer of the browser."""


class Chromium:
    """A headless browser with one page, controlled over the DevTools protocol.

    Parameters
    ----------
    executable : str
    profile : path-like
        An empty folder for the browser's profile.
    width, height : int
        The window (and screenshot) size in CSS pixels.
    """

    def __init__(self, executable, profile, *, width=1280, height=860):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        flags = [
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            "--hide-scrollbars",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        # bash puts the two pipe ends on descriptors 3 and 4, where Chromium expects them (dash,
        # Debian's sh, cannot name a descriptor above 9 in a redirection)
        shell = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.log = open(os.path.join(profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            ["bash", "-c", shell, executable, *flags, "about:blank"],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next = 0
        self._answers = {}
        self._events = queue.Queue()
        self._ready = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = None

    def _read(self):
        buffer = b""
        with os.fdopen(self._from_browser, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        with self._ready:
                            self._answers[message["id"]] = message
                            self._ready.notify_all()
                    else:
                        self._events.put(message)
        with self._ready:
            self._answers[None] = {"error": {"message": "the browser closed its pipe"}}
            self._ready.notify_all()

    def send(self, method, params=None, *, session=True, timeout=60):
        """Send one command and wait for its answer; returns the ``result``."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        with self._ready:
            done = self._ready.wait_for(
                lambda: self._next in self._answers or None in self._answers, timeout
            )
            answer = self._answers.pop(self._next, None) or self._answers.get(None)
        if not done or answer is None:
            raise TimeoutError(f"no answer to {method} within {timeout} s")
        if "error" in answer:
            raise ProtocolError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def events(self):
        """Every event received so far (and not taken before)."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def open_page(self):
        """Attach to the browser's page; Page, Runtime and Network events on."""
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        attached = self.send(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, session=False
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")

    def evaluate(self, expression, *, timeout=60):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise ProtocolError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def mouse(self, kind, x, y):
        """A real mouse event at page coordinates (``mouseMoved``, ``mousePressed``, ...)."""
        params = {
            "type": kind,
            "x": x,
            "y": y,
            "button": "none" if kind == "mouseMoved" else "left",
        }
        if kind != "mouseMoved":
            params["clickCount"] = 1
        self.send("Input.dispatchMouseEvent", params)

    def click(self, x, y):
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)

    def screenshot(self):
        """A PNG of the page's viewport."""
        import base64

        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=10)
        except (ProtocolError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        self.log.close()
