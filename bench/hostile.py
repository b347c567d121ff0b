#!/usr/bin/env python3
"""Hostile-input and fault suite for `klaxon serve` and `rulecheck`.

Run through bench/hostile.sh, which builds the binaries and hands over a
work directory. Python 3 standard library only; every request goes to
127.0.0.1 and nowhere else. See bench/hostile.sh for the categories and the
environment variables that tune them.
"""

import hashlib
import http.server
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

LOOPBACK = "127.0.0.1"
TOKEN = "hostile-suite-token-" + uuid.uuid4().hex


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name, default):
    value = os.environ.get(name, "")
    return value.split() if value.strip() else default


def say(text):
    print(text, file=sys.stderr, flush=True)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_plus(seconds):
    return iso(datetime.now(timezone.utc) + timedelta(seconds=seconds))


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def fmt_ms(seconds):
    return "-" if seconds is None else f"{seconds * 1000:.0f}ms"


def mib(kb):
    return "-" if kb is None else f"{kb / 1024:.1f}MiB"


# ----- a raw HTTP/1.1 client (any bytes on the wire, 127.0.0.1 only) ---------


class Answer:
    def __init__(self, status, headers, body, seconds):
        self.status = status
        self.headers = headers
        self.body = body
        self.seconds = seconds

    def json(self):
        return json.loads(self.body)


class HttpError(Exception):
    pass


class Conn:
    """A keep-alive connection to 127.0.0.1:port that sends raw requests."""

    def __init__(self, port, timeout=30.0):
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.buf = bytearray()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = bytearray()

    def _connect(self, deadline):
        self.close()
        self.sock = socket.create_connection(
            (LOOPBACK, self.port), timeout=max(0.1, deadline - time.monotonic())
        )
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _recv(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HttpError("timeout")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout as e:
            raise HttpError("timeout") from e
        if not data:
            raise HttpError("connection closed")
        self.buf += data

    def _read_until(self, marker, deadline):
        while marker not in self.buf:
            self._recv(deadline)
        i = self.buf.index(marker)
        out = bytes(self.buf[:i])
        del self.buf[: i + len(marker)]
        return out

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._recv(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _read_answer(self, method, deadline):
        head = self._read_until(b"\r\n\r\n", deadline)
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(self._read_until(b"\r\n", deadline).split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n", deadline)
                    break
                chunks.append(self._read_exact(size, deadline))
                self._read_exact(2, deadline)
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]), deadline)
        else:
            while True:
                try:
                    self._recv(deadline)
                except HttpError as e:
                    if str(e) == "connection closed":
                        break
                    raise
            body, self.buf = bytes(self.buf), bytearray()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def request(self, method, path, body=b"", headers=(), timeout=None, raw_head=None):
        """Sends one request; `path` may be bytes (sent as is). `raw_head`
        replaces the whole head (for hand-made framing)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        if isinstance(path, str):
            path = path.encode()
        if isinstance(body, str):
            body = body.encode()
        if raw_head is None:
            head = method.encode() + b" " + path + b" HTTP/1.1\r\n"
            head += f"Host: {LOOPBACK}:{self.port}\r\n".encode()
            names = {h[0].lower() for h in headers}
            if "content-length" not in names and "transfer-encoding" not in names:
                if body or method in ("POST", "PUT", "PATCH", "DELETE"):
                    head += f"Content-Length: {len(body)}\r\n".encode()
            for name, value in headers:
                v = value if isinstance(value, bytes) else value.encode()
                head += name.encode() + b": " + v + b"\r\n"
            head += b"\r\n"
        else:
            head = raw_head
        started = time.monotonic()
        for attempt in (0, 1):
            fresh = self.sock is None
            try:
                if fresh:
                    self._connect(deadline)
                self.sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    self.sock.sendall(head + body)
                except OSError:
                    # The server may answer (413) and close before reading
                    # the whole body: read what it said.
                    if fresh and not self.buf:
                        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
                    else:
                        raise
                status, hdrs, data = self._read_answer(method, deadline)
                return Answer(status, hdrs, data, time.monotonic() - started)
            except (OSError, HttpError, ValueError, IndexError) as e:
                self.close()
                # A reused connection the server had closed: try once more.
                if fresh or attempt == 1 or (isinstance(e, HttpError) and str(e) == "timeout"):
                    if isinstance(e, HttpError):
                        raise
                    raise HttpError(f"{type(e).__name__}: {e}") from e
        raise HttpError("unreachable")


def call(port, method, path, body=b"", headers=(), timeout=30.0, token=None):
    """One request on its own connection. Raises HttpError."""
    hdrs = list(headers)
    if token:
        hdrs.append(("Authorization", f"Bearer {token}"))
    hdrs.append(("Connection", "close"))
    conn = Conn(port, timeout)
    try:
        return conn.request(method, path, body, hdrs, timeout=timeout)
    finally:
        conn.close()


def try_call(*args, **kwargs):
    try:
        return call(*args, **kwargs)
    except HttpError:
        return None


JSON_HEADERS = [("Content-Type", "application/json")]


# ----- processes ---------------------------------------------------------------


class Children:
    """Every process started, so that cleanup can end them (and the shell's
    trap too, through the pid file, if this program is killed)."""

    def __init__(self, pid_file):
        self.procs = set()
        self.pid_file = pid_file
        self.lock = threading.Lock()

    def add(self, proc):
        with self.lock:
            self.procs.add(proc)
            self._write()

    def discard(self, proc):
        with self.lock:
            self.procs.discard(proc)
            self._write()

    def _write(self):
        with open(self.pid_file, "w") as f:
            for p in self.procs:
                f.write(f"{p.pid}\n")

    def kill_all(self):
        for p in list(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            self.discard(p)


CHILDREN = None


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def crashed(returncode, log_text=""):
    """A process that died of a signal, aborted or panicked (not a clean
    refusal with a message)."""
    if returncode is None:
        return False
    return returncode < 0 or returncode in (101, 134, 137, 139) or "panicked at" in log_text


class Klaxon:
    """`klaxon serve` on a free loopback port with a token, a rule file and a
    data directory of its own."""

    def __init__(self, suite, name, data_dir=None, nofile=None, log_level="info", extra=()):
        self.suite = suite
        self.name = name
        self.dir = os.path.join(suite.work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "klaxon.log")
        self.nofile = nofile
        self.log_level = log_level
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.exits = []  # (returncode, crashed)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        cmd = [
            self.suite.klaxon, "serve",
            "--config", self.suite.config_path,
            "--prometheus.url", f"http://{LOOPBACK}:9",
            "--data-dir", self.data_dir,
            "--listen", f"{LOOPBACK}:{self.port}",
            "--api.token-file", self.suite.token_path,
            "--log.level", self.log_level,
        ] + self.extra
        if self.nofile:
            cmd = ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--"] + cmd
        return cmd

    def spawn(self):
        self.port = free_port()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
        )
        log.close()
        CHILDREN.add(self.proc)

    def start(self, timeout=60.0):
        """Starts and waits until /-/ready answers 200; raises when it exits
        or the time runs out."""
        self.spawn()
        if not self.wait_ready(timeout):
            code = self.proc.poll()
            self.stop()
            raise RuntimeError(
                f"klaxon ({self.name}) not ready (exit {code}): {self.log_tail(5)}"
            )
        return self

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            a = try_call(self.port, "GET", "/-/ready", timeout=2)
            if a is not None and a.status == 200:
                return True
            time.sleep(0.1)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def reap(self):
        """Records how a process that is gone ended; True when it crashed."""
        code = self.proc.poll()
        CHILDREN.discard(self.proc)
        bad = crashed(code, self.log_text_tail())
        self.exits.append((code, bad))
        return bad

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Stops it; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        code = self.proc.returncode
        CHILDREN.discard(self.proc)
        return code

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def rss_kb(self):
        return status_kb(self.pid, "VmRSS")

    def hwm_kb(self):
        return status_kb(self.pid, "VmHWM")

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text_tail(self, n=64 << 10):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, self.log_size() - n))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=5):
        text = self.log_text_tail(8 << 10).strip().splitlines()
        return " | ".join(line[:300] for line in text[-lines:])

    def call(self, method, path, body=b"", headers=(), timeout=30.0, token=True):
        return call(self.port, method, path, body, headers, timeout,
                    TOKEN if token is True else token)


def stop_or_count_crash(row, k, during):
    """Stops k at the end of a category, or counts its crash when it is gone."""
    if k.alive():
        k.stop()
        return
    row.crashes += 1
    k.reap()
    row.fail(f"klaxon died {during}: {k.log_tail(3)}")


def child_hwm_kb(pid):
    """VmHWM of the processes `pid` started (the command under /usr/bin/time)."""
    best = None
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
    except OSError:
        return None
    for kid in kids:
        kb = status_kb(int(kid), "VmHWM")
        if kb is not None and (best is None or kb > best):
            best = kb
    return best


def run_bounded(cmd, timeout, out_path, ready_port=None):
    """Runs cmd under GNU time with a time bound; returns (outcome, code,
    seconds, peak_rss_kb, output_bytes). Outcome: `exit`; `started` when
    ready_port is given and /-/ready answered 200 there (then it is stopped
    with SIGTERM); `timeout` when it was killed at the bound. The peak comes
    from time's report (the process's own maximum resident set; a child's
    rusage from wait4 would include this Python's size before the exec), or
    from /proc while it ran when it was killed."""
    rss_path = out_path + ".rss"
    if os.path.exists(rss_path):
        os.remove(rss_path)
    timed = ["/usr/bin/time", "-f", "%M", "-o", rss_path] + cmd
    with open(out_path, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(timed, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
        CHILDREN.add(proc)
        outcome = "exit"
        sampled = None
        seconds = None
        while proc.poll() is None:
            kb = child_hwm_kb(proc.pid)
            if kb is not None and (sampled is None or kb > sampled):
                sampled = kb
            if ready_port and outcome == "exit":
                a = try_call(ready_port, "GET", "/-/ready", timeout=1)
                if a is not None and a.status == 200:
                    outcome = "started"
                    seconds = time.monotonic() - started
                    for kid in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split():
                        os.kill(int(kid), signal.SIGTERM)
            if time.monotonic() - started > timeout + (30 if outcome == "started" else 0):
                outcome = "timeout" if outcome == "exit" else outcome
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.05)
        if seconds is None:
            seconds = time.monotonic() - started
        CHILDREN.discard(proc)
    peak = sampled
    try:
        with open(rss_path) as f:
            lines = f.read().split()
        # GNU time prints "Command exited with non-zero status N" first.
        peak = int(lines[-1])
    except (OSError, ValueError, IndexError):
        pass
    code = proc.returncode
    # GNU time exits with the command's status, or 128+N for a signal N.
    if code is not None and code > 128 and outcome == "exit":
        code = -(code - 128)
    return outcome, code, seconds, peak, os.path.getsize(out_path)


# ----- the webhook sink --------------------------------------------------------


class Sink:
    """A webhook receiver on 127.0.0.1 that counts deliveries."""

    def __init__(self):
        sink = self
        self.deliveries = 0
        self.bytes = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n)
                with sink.lock:
                    sink.deliveries += 1
                    sink.bytes += len(data)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return self.deliveries

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ----- results -----------------------------------------------------------------


class Row:
    def __init__(self, name):
        self.name = name
        self.tried = 0
        self.ok = 0
        self.c4xx = 0
        self.c5xx = 0
        self.crashes = 0
        self.lost = 0
        self.notes = []
        self.failures = []  # reasons for a non-zero exit
        self.skipped = None
        self.headline = []  # the figures for the table; notes are the details

    def count(self, status):
        self.tried += 1
        if status is None:
            return
        if 200 <= status < 300:
            self.ok += 1
        elif 400 <= status < 500:
            self.c4xx += 1
        elif status >= 500:
            self.c5xx += 1

    def note(self, text):
        self.notes.append(text)
        say(f"    {self.name}: {text}")

    def figure(self, text):
        self.headline.append(text)

    def fail(self, text):
        self.failures.append(text)
        say(f"    {self.name}: FAIL {text}")


def alert(name, i=0, ends_in=7200, **labels):
    body = {
        "labels": {"alertname": name, "instance": f"host-{i}", **labels},
        "annotations": {"summary": f"{name} {i}"},
        "startsAt": now_plus(-60),
        "endsAt": now_plus(ends_in),
        "generatorURL": "http://127.0.0.1/graph",
    }
    return body


def silence_body(matchers=None, comment="hostile suite", seconds=3600):
    return {
        "matchers": matchers or [{"name": "alertname", "value": "Nothing", "isRegex": False}],
        "startsAt": now_plus(-1),
        "endsAt": now_plus(seconds),
        "createdBy": "hostile",
        "comment": comment,
    }


def dumps(value):
    return json.dumps(value, separators=(",", ":")).encode()


def has_json_message(body):
    """A 4xx answer should say what is wrong in JSON: a non-empty string, or
    an object with a non-empty message/error."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return any(isinstance(value.get(k), str) and value[k].strip()
                   for k in ("message", "error", "msg"))
    return False


# ----- the suite ---------------------------------------------------------------


class Suite:
    def __init__(self, work, klaxon, rulecheck, repo):
        self.work = work
        self.klaxon = klaxon
        self.rulecheck = rulecheck
        self.repo = repo
        self.rng = random.Random(env_int("SEED", 22))
        self.sink = Sink()
        self.token_path = os.path.join(work, "token")
        with open(self.token_path, "w") as f:
            f.write(TOKEN + "\n")
        self.config_path = os.path.join(work, "klaxon.rules")
        with open(self.config_path, "w") as f:
            f.write(f"""group hostile {{
  every 30s
  alert HostileProbe {{
    query prometheus `up == 0`
    warning when value > 0
    summary "a target is down"
  }}
}}

receiver sink {{ webhook {{ url "http://{LOOPBACK}:{self.sink.port}/hook" }} }}
route {{
  receiver sink
  group_by alertname
  group_wait 1s
  group_interval 5s
  resolve_wait 1s
}}
""")
        self.rows = []

    def klaxon_instance(self, name, **kwargs):
        return Klaxon(self, name, **kwargs)


# ----- 1. hostile bodies and query parameters ------------------------------------

BAD_TIMES = [
    "0001-01-01T00:00:00junk", "junk", "", " ", "2024-13-45T25:61:61Z",
    "+275760-09-13T00:00:00Z", "-000001-01-01T00:00:00Z", "2024-01-01",
    "2024-01-01T00:00:00", "2024-01-01T00:00:00+99:99", "1e10",
    "2024-01-01T00:00:00.99999999999999999999999Z", "0000-00-00T00:00:00Z",
    "2024-01-01T00:00:00Z\u0000", "９９９９-01-01T00:00:00Z",
]

BAD_REGEXES = [
    "(", "[", ")", "a{1000000}", "(?P<n>", "\\", "a**", "(a{1000}){1000}",
    "\\p{Bogus}", "(?<=a)b", "(a)\\1", "x{2,1}", "[z-a]", "(?i", "\\8", "a{,}",
    "((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))" * 20,
]


def alert_bodies(rng):
    ok = alert("Hostile")
    cases = [
        ("empty body", b""), ("whitespace", b"  \n "), ("open bracket", b"["),
        ("open brace", b"{"), ("unclosed object", b'[{"labels":'), ("nul", b"nul"),
        ("extra bracket", b"[]]"), ("trailing garbage", b"[] x"),
        ("bom", b"\xef\xbb\xbf[]"), ("lone comma", b"[,]"),
        ("trailing comma", b'[{"labels":{"alertname":"x",}}]'),
        ("single quotes", b"['x']"), ("missing bracket", b'[{"labels":{"alertname":"x"}}'),
        ("nul bytes", b"\x00" * 100), ("random bytes", bytes(rng.getrandbits(8) for _ in range(4096))),
        ("object not array", b"{}"), ("null", b"null"), ("number", b"1"), ("string", b'"x"'),
        ("array of numbers", b"[1]"), ("array of strings", b'["x"]'), ("array of null", b"[null]"),
        ("nested array", b"[[]]"), ("labels array", b'[{"labels":[]}]'),
        ("labels string", b'[{"labels":"x"}]'), ("label number", b'[{"labels":{"alertname":1}}]'),
        ("label null", b'[{"labels":{"alertname":null}}]'),
        ("label array", b'[{"labels":{"alertname":["x"]}}]'),
        ("annotations string", b'[{"labels":{"alertname":"x"},"annotations":"y"}]'),
        ("startsAt number", b'[{"labels":{"alertname":"x"},"startsAt":5}]'),
        ("endsAt bool", b'[{"labels":{"alertname":"x"},"endsAt":true}]'),
        ("generatorURL number", b'[{"labels":{"alertname":"x"},"generatorURL":5}]'),
        ("generatorURL junk", b'[{"labels":{"alertname":"x"},"generatorURL":"::not a url"}]'),
        ("no labels", b"[{}]"), ("empty labels", b'[{"labels":{}}]'),
        ("empty alertname", b'[{"labels":{"alertname":""}}]'),
        ("empty label name", b'[{"labels":{"":"x","alertname":"y"}}]'),
        ("label name with space", b'[{"labels":{"a b":"x","alertname":"y"}}]'),
        ("label name digit first", b'[{"labels":{"1a":"x","alertname":"y"}}]'),
        ("__name__ label", b'[{"labels":{"alertname":"x","__name__":"y"}}]'),
        ("huge float", b'[{"labels":{"alertname":"x"},"startsAt":1e999}]'),
        ("huge float label", b'[{"labels":{"alertname":1e999}}]'),
        ("100k-digit number", b"[" + b"9" * 100000 + b"]"),
        ("negative 5k-digit", b'[{"labels":{"alertname":"x"},"startsAt":-' + b"9" * 5000 + b"}]"),
        ("tiny exponent", b"[-0.0e-99999999999]"),
        ("deep arrays", b"[" * 100000 + b"]" * 100000),
        ("deep objects", b'[{"labels":' + b'{"a":' * 50000 + b"1" + b"}" * 50000 + b"}]"),
        ("deep annotation", b'[{"labels":{"alertname":"x"},"annotations":{"a":'
         + b"[" * 100000 + b"]" * 100000 + b"}}]"),
        ("invalid utf-8 value", b'[{"labels":{"alertname":"\xff\xfe"}}]'),
        ("overlong utf-8 name", b'[{"labels":{"\xc0\xaf":"x","alertname":"y"}}]'),
        ("utf-8 surrogate", b'[{"labels":{"alertname":"\xed\xa0\x80"}}]'),
        ("escaped lone surrogate", b'[{"labels":{"alertname":"\\ud800"}}]'),
        ("escaped nul", b'[{"labels":{"alertname":"a\\u0000b"}}]'),
        ("1 MB label name", dumps([{"labels": {"alertname": "x", "n" * (1 << 20): "v"}}])),
        ("10 MB label value", dumps([{"labels": {"alertname": "v" * (10 << 20)}}])),
        ("100k labels", dumps([{"labels": {f"l{i}": "v" for i in range(100000)} | {"alertname": "x"}}])),
        ("10 MB annotation", dumps([{"labels": {"alertname": "x"}, "annotations": {"a": "v" * (10 << 20)}}])),
        ("200k empty alerts", b"[" + b",".join([b"{}"] * 200000) + b"]"),
        ("duplicate label", b'[{"labels":{"alertname":"a","alertname":"b"}}]'),
        ("duplicate labels key", b'[{"labels":{"alertname":"a"},"labels":{"alertname":"b"}}]'),
        ("duplicate startsAt", b'[{"labels":{"alertname":"a"},"startsAt":"2020-01-01T00:00:00Z","startsAt":"junk"}]'),
        ("endsAt before startsAt", dumps([{"labels": {"alertname": "x"},
                                          "startsAt": now_plus(3600), "endsAt": now_plus(-3600)}])),
        ("valid (control)", dumps([ok])),
    ]
    for t in BAD_TIMES:
        cases.append((f"startsAt {t!r}", dumps([{"labels": {"alertname": "x"}, "startsAt": t}])))
        cases.append((f"endsAt {t!r}", dumps([{"labels": {"alertname": "x"}, "endsAt": t}])))
    return cases


def silence_bodies(rng):
    def with_(**changes):
        body = silence_body()
        body.update(changes)
        return dumps(body)

    def matcher(**m):
        base = {"name": "alertname", "value": "x", "isRegex": False}
        base.update(m)
        return with_(matchers=[base])

    base = silence_body()
    cases = [
        ("empty body", b""), ("open brace", b"{"), ("array", b"[]"), ("null", b"null"),
        ("number", b"1"), ("trailing garbage", dumps(base) + b" x"),
        ("random bytes", bytes(rng.getrandbits(8) for _ in range(4096))),
        ("matchers object", with_(matchers={})), ("matchers numbers", with_(matchers=[1])),
        ("matchers empty", with_(matchers=[])), ("matchers null", with_(matchers=None)),
        ("isRegex string", matcher(isRegex="true")), ("name number", matcher(name=5)),
        ("value null", matcher(value=None)), ("isEqual string", matcher(isEqual="x")),
        ("startsAt number", with_(startsAt=5)), ("createdBy number", with_(createdBy=5)),
        ("comment array", with_(comment=[])), ("id number", with_(id=5)),
        ("missing createdBy", dumps({k: v for k, v in base.items() if k != "createdBy"})),
        ("missing comment", dumps({k: v for k, v in base.items() if k != "comment"})),
        ("missing endsAt", dumps({k: v for k, v in base.items() if k != "endsAt"})),
        ("missing isRegex", dumps(dict(base, matchers=[{"name": "a", "value": "b"}]))),
        ("empty matcher name", matcher(name="")), ("matcher name with space", matcher(name="a b")),
        ("matcher name nul", matcher(name="a\u0000")), ("1 MB matcher name", matcher(name="n" * (1 << 20))),
        ("empty value", matcher(value="")), ("regex empty value", matcher(value="", isRegex=True)),
        ("not-equal regex", matcher(value=".*", isRegex=True, isEqual=False)),
        ("endsAt before startsAt", with_(startsAt=now_plus(3600), endsAt=now_plus(-3600))),
        ("endsAt in the past", with_(startsAt=now_plus(-7200), endsAt=now_plus(-3600))),
        ("year 9999", with_(endsAt="9999-12-31T23:59:59Z")),
        ("unknown id", with_(id=str(uuid.uuid4()))), ("junk id", with_(id="junk")),
        ("1 MB id", with_(id="i" * (1 << 20))),
        ("10 MB comment", with_(comment="c" * (10 << 20))),
        ("1 MB createdBy", with_(createdBy="c" * (1 << 20))),
        ("deep comment", dumps(base)[:-1] + b',"x":' + b"[" * 100000 + b"]" * 100000 + b"}"),
        ("invalid utf-8 comment", dumps(base).replace(b"hostile suite", b"\xff\xfe\xfd")),
        ("duplicate matchers key", dumps(base)[:-1] + b',"matchers":5}'),
        ("huge number endsAt", with_(endsAt=1e308)),
        ("valid (control)", dumps(base)),
    ]
    for r in BAD_REGEXES:
        cases.append((f"regex {r[:30]!r}", matcher(value=r, isRegex=True)))
    cases.append(("regex invalid utf-8", dumps(silence_body()).replace(
        b'"value":"Nothing","isRegex":false', b'"value":"\xff(","isRegex":true')))
    for t in BAD_TIMES:
        cases.append((f"startsAt {t!r}", with_(startsAt=t)))
        cases.append((f"endsAt {t!r}", with_(endsAt=t)))
    return cases


def webhook_bodies():
    ok = {"version": "4", "status": "firing", "receiver": "x", "groupLabels": {},
          "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1",
          "groupKey": "{}", "alerts": [{"status": "firing", "labels": {"alertname": "Hook"},
                                        "annotations": {}, "startsAt": now_plus(-60),
                                        "endsAt": "0001-01-01T00:00:00Z"}]}
    return [
        ("empty body", b""), ("array", b"[]"), ("alerts object", dumps(dict(ok, alerts={}))),
        ("status number", dumps(dict(ok, status=5))),
        ("alert junk time", dumps(dict(ok, alerts=[dict(ok["alerts"][0], startsAt="0001-01-01T00:00:00junk")]))),
        ("alert no labels", dumps(dict(ok, alerts=[{"status": "firing"}]))),
        ("deep", b'{"alerts":' + b"[" * 100000 + b"]" * 100000 + b"}"),
        ("invalid utf-8", dumps(ok).replace(b"Hook", b"\xff\xfe")),
        ("valid (control)", dumps(ok)),
    ]


def query_cases():
    """(path, query): values percent-encoded so that they reach klaxon, and
    a few raw ones (bad escapes, bytes an URI may not hold) that hyper
    judges first."""
    q = lambda *pairs: "?" + "&".join(f"{quote(n, safe='[]')}={quote(v, safe='')}" for n, v in pairs)
    raw = ["?%zz", "?%ff%fe=%ff", "?a=%00", '?filter=a="b"', "?x=\u00e9".encode("utf-8").decode("latin-1"),
           "?" + "a=b&" * 20000, "?x=" + "y" * 60000, "?=&=&&", "?a=b;c=d"]
    alerts = [q(("filter", "{")), q(("filter", 'a=~"("')), q(("filter", 'a=~"a{1000000}"')),
              q(("filter", 'a="b"')), q(("filter", "=")), q(("filter", '{alertname="x"}')),
              q(("filter", 'a!~"\\p{Bogus}"')), q(("filter", "{" * 5000)), q(("filter", 'a="\u0000"')),
              q(("filter", "a" * 50000 + '="b"')), q(("active", "maybe")), q(("silenced", "2")),
              q(("inhibited", "\u00ff")), q(("unprocessed", "x")), q(("receiver", "(")),
              q(("receiver", "a{1000}{1000}")), q(("receiver", "(a|" * 1000)),
              q(*[("filter", 'a="b"')] * 1000)]
    notifications = [q(("limit", "-1")), q(("limit", "0")), q(("limit", "99999999999999999999")),
                     q(("limit", "abc")), q(("limit", "1e3")), q(("status", "bogus")), q(("status", "")),
                     q(("receiver", "\u00ff")), q(("group", "(")), q(("bogus", "1")),
                     q(("limit", "1"), ("limit", "x"))]
    rules = [q(("type", "bogus")), q(("type", "")), q(("type", "alert")), q(("rule_name[]", "x")),
             q(("match[]", "{")), q(("exclude_alerts", "maybe")), q(("group_limit", "-1")),
             q(("file[]", "\u00ff")), q(("group_next_token", "zzz"))]
    cases = []
    for path, specific in (("/api/v2/alerts", alerts), ("/api/v2/alerts/groups", alerts),
                           ("/api/v1/notifications", notifications), ("/api/v1/rules", rules)):
        for query in specific + raw:
            cases.append((path, query))
    return cases


def method_cases(silence_id):
    return [
        ("PATCH", "/api/v2/alerts"), ("PUT", "/api/v2/alerts"), ("DELETE", "/api/v2/alerts"),
        ("POST", "/api/v2/alerts/groups"), ("PUT", "/api/v2/silences"),
        ("DELETE", "/api/v2/silences"), ("POST", f"/api/v2/silence/{silence_id}"),
        ("GET", "/-/reload"), ("DELETE", "/-/reload"), ("POST", "/-/healthy"),
        ("POST", "/-/ready"), ("POST", "/api/v1/rules"), ("POST", "/api/v1/notifications"),
        ("GET", "/api/v1/receivers/alertmanager"), ("OPTIONS", "/api/v2/alerts"),
        ("FOO", "/api/v2/alerts"), ("POST", "/metrics"), ("GET", "/api/v2/../../etc/passwd"),
        ("GET", "/%ff"), ("GET", "/" + "a" * 10000), ("GET", "/api/v2/silence/"),
        ("GET", f"/api/v2/silence/{uuid.uuid4()}"),
    ]


def cat_bodies(suite):
    row = Row("bodies")
    k = suite.klaxon_instance("bodies").start()
    deadline = time.monotonic() + env_int("BODIES_SECONDS", 120)
    no_message = {}
    expected_5xx = 0
    timeouts = []
    odd_ids = []
    biggest = [0, ""]  # the request that raised peak memory most
    existing = k.call("POST", "/api/v2/silences", dumps(silence_body()), JSON_HEADERS).json()["silenceID"]

    def send(label, method, path, body=b"", headers=(), allow_5xx=False):
        nonlocal expected_5xx
        if time.monotonic() > deadline:
            return
        hwm = k.hwm_kb() or 0
        try:
            a = k.call(method, path, body, headers, timeout=60)
            status = a.status
        except HttpError as e:
            a, status = None, None
            timeouts.append(f"{method} {label}: {e}")
        # Alertmanager 0.25 answers DELETE of an unknown silence id with 500.
        unknown_id = (a is not None and method == "DELETE" and status == 500
                      and a.body.strip() == b'"silence not found"')
        if unknown_id and not allow_5xx:
            odd_ids.append(label)
        allow_5xx = allow_5xx or unknown_id
        if a is not None and status >= 500 and allow_5xx:
            expected_5xx += 1
            row.tried += 1
            row.ok += 1  # as Alertmanager answers
        else:
            row.count(status)
        if a is not None and 400 <= status < 500 and not has_json_message(a.body):
            shown = path.decode("latin-1") if isinstance(path, bytes) else path
            key = f"{status} {method} {re.sub(r'[?].*', '', shown)[:40]}"
            no_message.setdefault(key, []).append(label)
        if a is not None and status >= 500 and not allow_5xx:
            row.fail(f"{status} on {method} {str(path)[:60]} ({label}): {a.body[:160]!r}")
        if not k.alive():
            row.crashes += 1
            k.reap()
            row.fail(f"klaxon died on {method} {label}: {k.log_tail(3)}")
            k.start()
            return
        grew = (k.hwm_kb() or 0) - hwm
        if grew > biggest[0]:
            shown = path.decode("latin-1") if isinstance(path, bytes) else path
            biggest[:] = [grew, f"{method} {shown[:60]} ({label[:40]})"]

    for label, body in alert_bodies(suite.rng):
        send(label, "POST", "/api/v2/alerts", body, JSON_HEADERS)
    for label, body in silence_bodies(suite.rng):
        send(label, "POST", "/api/v2/silences", body, JSON_HEADERS)
    for label, body in webhook_bodies():
        send(label, "POST", "/api/v1/receivers/alertmanager", body, JSON_HEADERS)
    # Framing and headers.
    valid = dumps([alert("Hostile")])
    send("text/plain", "POST", "/api/v2/alerts", valid, [("Content-Type", "text/plain")])
    send("no content type", "POST", "/api/v2/alerts", valid)
    send("gzip junk", "POST", "/api/v2/alerts", b"\x1f\x8bjunk",
         JSON_HEADERS + [("Content-Encoding", "gzip")])
    send("content-length 99999999999", "POST", "/api/v2/alerts", b"",
         JSON_HEADERS + [("Content-Length", "99999999999")])
    send("17 MB body", "POST", "/api/v2/alerts", b"[" + b" " * (17 << 20) + b"]", JSON_HEADERS)
    send("chunked", "POST", "/api/v2/alerts", b"%x\r\n%s\r\n0\r\n\r\n" % (len(valid), valid),
         JSON_HEADERS + [("Transfer-Encoding", "chunked")])
    # DELETE /api/v2/silence/{id}; an unknown id answers 500 as in Alertmanager 0.25.
    for label, sid, allow in [
        ("unknown uuid", str(uuid.uuid4()), True), ("junk", "x", False), ("dots", "..%2f..%2f", False),
        ("nul", "%00", False), ("invalid utf-8", "%ff%fe", False), ("10 KB", "a" * 10240, False),
        ("braced uuid", "{" + str(uuid.uuid4()) + "}", False), ("urn", "urn:uuid:" + str(uuid.uuid4()), False),
        ("space", "%20", False), ("uppercase existing", existing.upper(), True),
        ("existing", existing, False), ("existing again", existing, True),
    ]:
        send(label, "DELETE", f"/api/v2/silence/{sid}", allow_5xx=allow)
    for path, query in query_cases():
        send(query[:40], "GET", (path + query).encode("latin-1"))
    for method, path in method_cases(existing):
        send(f"{method} {path[:40]}", method, path.encode("utf-8"))
    row.note(f"{row.tried} requests: {row.ok - expected_5xx} 2xx, {row.c4xx} 4xx, {row.c5xx} unexpected 5xx, "
             f"{expected_5xx} 500 as Alertmanager (DELETE of an unknown silence id, counted ok)")
    if odd_ids:
        row.note(f"taken for unknown silence ids (500): {', '.join(odd_ids)}")
    if no_message:
        row.note(f"{sum(len(v) for v in no_message.values())} 4xx without a JSON message: " + ", ".join(
            f"{key} ({len(v)}: {v[0][:24]!r})" for key, v in sorted(no_message.items())))
    if timeouts:
        row.note(f"{len(timeouts)} without answer: " + "; ".join(timeouts[:3]))
    if time.monotonic() > deadline:
        row.note("stopped at the time bound (BODIES_SECONDS)")
    row.note(f"peak RSS {mib(k.hwm_kb())} (most raised by {biggest[1]!r}: +{mib(biggest[0])}), "
             f"log {k.log_size()} bytes")
    row.figure(f"{row.c5xx} unexpected 5xx; {sum(len(v) for v in no_message.values())} 4xx without "
               f"a JSON message; {len(timeouts)} unanswered; peak RSS {mib(k.hwm_kb())}; "
               f"log {k.log_size() / 1e6:.1f}MB")
    k.stop()
    return row


# ----- 2. authorization of state-changing routes ---------------------------------

KNOWN_WRITES = [
    ("POST", "/api/v2/alerts"), ("POST", "/api/v2/silences"),
    ("DELETE", "/api/v2/silence/{id}"), ("POST", "/api/v1/receivers/alertmanager"),
    ("POST", "/-/reload"), ("PUT", "/-/reload"),
]


def router_writes(repo):
    """(method, path) of every non-GET route of the routers in src/, so a new
    endpoint is probed without editing this list."""
    found = set()
    src = os.path.join(repo or "", "src")
    if not os.path.isdir(src):
        return found
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
            for m in re.finditer(r"\.route\(\s*\"([^\"]+)\"\s*,", text):
                depth, i = 1, m.end()
                while i < len(text) and depth:
                    depth += {"(": 1, ")": -1}.get(text[i], 0)
                    i += 1
                handlers = text[m.end():i]
                for method in re.findall(r"\b(post|put|delete|patch)\(", handlers):
                    found.add((method.upper(), m.group(1)))
    return found


def cat_auth(suite):
    row = Row("auth")
    k = suite.klaxon_instance("auth").start()
    routes = sorted(set(KNOWN_WRITES) | router_writes(suite.repo))
    target = k.call("POST", "/api/v2/silences", dumps(silence_body()), JSON_HEADERS).json()["silenceID"]
    bodies = {
        "/api/v2/alerts": dumps([alert("AuthBypassProbe")]),
        "/api/v2/silences": dumps(silence_body(comment="auth bypass probe")),
        "/api/v1/receivers/alertmanager": dumps({
            "version": "4", "status": "firing", "receiver": "x", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "", "groupKey": "{}",
            "alerts": [{"status": "firing", "labels": {"alertname": "AuthBypassProbe"},
                        "annotations": {}, "startsAt": now_plus(-60),
                        "endsAt": "0001-01-01T00:00:00Z"}]}),
    }
    wrong = [
        ("no token", None), ("wrong token", "Bearer wrong"), ("prefix", "Bearer " + TOKEN[:-1]),
        ("token+x", "Bearer " + TOKEN + "x"), ("empty bearer", "Bearer "), ("bearer alone", "Bearer"),
        ("basic", "Basic aG9zdGlsZTpzdWl0ZQ=="), ("no scheme", TOKEN), ("other scheme", "Token " + TOKEN),
        ("nul", "Bearer \u0000"), ("latin-1", b"Bearer \xe9\xe9"),
    ]
    bypass = {}
    not_401 = {}
    for method, path in routes:
        for label, value in wrong:
            p = path.replace("{id}", target)
            headers = list(JSON_HEADERS)
            if value is not None:
                headers.append(("Authorization", value))
            body = bodies.get(path, b"" if method == "DELETE" else b"{}")
            a = try_call(k.port, method, p, body, headers, timeout=30)
            status = a.status if a else None
            if status == 401:
                row.tried += 1
                row.ok += 1
            else:
                row.count(status)
                key = f"{method} {path}"
                not_401[key] = not_401.get(key, []) + [f"{label}:{status}"]
                if status is not None and 200 <= status < 300:
                    bypass[key] = bypass.get(key, 0) + 1
            if not k.alive():
                row.crashes += 1
                k.reap()
                row.fail(f"klaxon died on {method} {path} ({label})")
                k.start()
    # What a bypass would have changed.
    alerts = k.call("GET", "/api/v2/alerts").json()
    probes = sum(1 for x in alerts if x["labels"].get("alertname") == "AuthBypassProbe")
    silence = k.call("GET", f"/api/v2/silence/{target}")
    state = silence.json()["status"]["state"] if silence.status == 200 else f"HTTP {silence.status}"
    # The token itself must work, or the 401s above prove nothing.
    control = k.call("POST", "/api/v2/alerts", dumps([alert("AuthControl")]), JSON_HEADERS)
    row.note(f"{len(routes)} state-changing routes x {len(wrong)} credentials; "
             f"control with the token: {control.status}")
    for key, answers in sorted(not_401.items()):
        row.note(f"not 401: {key}: {', '.join(answers[:4])}{' ...' if len(answers) > 4 else ''}")
    for key, n in sorted(bypass.items()):
        row.fail(f"auth bypass: {key} answered 2xx to {n} unauthenticated requests")
    row.note(f"afterwards: {probes} probe alerts stored, probe silence {state}")
    row.figure(f"{len(routes)} routes x {len(wrong)} bad credentials; 2xx without a valid token: " +
               (", ".join(f"{key} x{n}" for key, n in sorted(bypass.items())) or "none"))
    if probes:
        row.fail(f"{probes} alerts stored without a valid token")
    if state != "active":
        row.fail(f"the probe silence is {state} after unauthenticated DELETEs")
    if control.status != 200:
        row.fail(f"POST /api/v2/alerts with the token answered {control.status}")
    k.stop()
    return row


# ----- 3. flood ------------------------------------------------------------------


def cat_flood(suite):
    row = Row("flood")
    total = env_int("FLOOD_REQUESTS", 20000)
    concurrency = env_int("FLOOD_CONCURRENCY", 4)
    bound = env_int("FLOOD_SECONDS", 90)
    k = suite.klaxon_instance("flood", log_level="warn").start()
    auth = ("Authorization", f"Bearer {TOKEN}")
    mix = []
    for i in range(200):
        labels = {"alertname": f"Flood{i % 20}", "instance": f"host-{i}"}
        mix.append(("POST", "/api/v2/alerts",
                    dumps([{"labels": labels, "endsAt": now_plus(3600)}]), [auth] + JSON_HEADERS))
    mix += [("GET", "/-/healthy", b"", [])] * 50
    mix += [("GET", "/api/v2/alerts?filter=alertname%3D%22Flood1%22", b"", [])] * 50
    mix += [("GET", "/api/v2/silences", b"", [])] * 25
    mix += [("GET", "/api/v1/notifications?limit=10", b"", [])] * 25
    counter = iter(range(total))
    lock = threading.Lock()
    results = {"2xx": 0, "4xx": 0, "5xx": 0, "errors": 0}
    latencies = []
    started = time.monotonic()

    def worker():
        conn = Conn(k.port, 30)
        local = []
        rng = random.Random(threading.get_ident())
        while time.monotonic() - started < bound:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            method, path, body, headers = rng.choice(mix)
            try:
                a = conn.request(method, path, body, headers)
                cls = f"{a.status // 100}xx"
                local.append(a.seconds)
            except HttpError:
                cls = "errors"
            with lock:
                results[cls] = results.get(cls, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    done = sum(results.values())
    row.tried, row.ok = done, results["2xx"]
    row.c4xx, row.c5xx = results["4xx"], results["5xx"]
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None
    row.note(f"{done} requests over {concurrency} connections in {seconds:.1f}s = {done / seconds:.0f} req/s; "
             f"p50 {fmt_ms(p(0.5))} p99 {fmt_ms(p(0.99))}; {results['errors']} without answer; "
             f"peak RSS {mib(k.hwm_kb())}")
    row.figure(f"{done / seconds:.0f} req/s over {concurrency} connections, p99 {fmt_ms(p(0.99))}, "
               f"{results['errors']} unanswered")
    if done < total:
        row.note(f"stopped at the time bound FLOOD_SECONDS={bound} after {done} of {total}")
    stop_or_count_crash(row, k, "during the flood")
    return row


# ----- 4. idle, half-header and half-body sockets --------------------------------


def health(port, timeout=5.0):
    """Seconds /-/healthy took, or None when it did not answer 200 in time."""
    try:
        a = call(port, "GET", "/-/healthy", timeout=timeout)
        return a.seconds if a.status == 200 else None
    except HttpError:
        return None


def health_samples(port, n=3, timeout=5.0):
    out = []
    for _ in range(n):
        out.append(health(port, timeout))
        time.sleep(0.2)
    ok = [s for s in out if s is not None]
    return f"{len(ok)}/{n} answered" + (f", max {fmt_ms(max(ok))}" if ok else "")


def peer_closed(sock):
    """True when the server closed (or answered and closed) a held socket."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        if not poller.poll(0):
            return False
        data = sock.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return True if data == b"" or data else False
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (BlockingIOError, OSError):
        return False


def cat_sockets(suite):
    row = Row("sockets")
    total = env_int("SOCKETS", 2000)
    nofile = env_int("SOCKETS_NOFILE", 1024)
    hold = env_int("SOCKET_HOLD_SECONDS", 40)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = total + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        soft = min(want, hard)
    total = min(total, soft - 200)
    k = suite.klaxon_instance("sockets", nofile=nofile, log_level="warn").start()
    before = health_samples(k.port)
    kinds = ["idle", "half-header", "half-body"]
    held = {kind: [] for kind in kinds}
    failed_connect = failed_in_a_row = 0
    opened_at = time.monotonic()
    open_bound = env_int("SOCKET_OPEN_SECONDS", 60)
    for i in range(total):
        if time.monotonic() - opened_at > open_bound:
            row.note(f"stopped opening at the time bound SOCKET_OPEN_SECONDS={open_bound}")
            break
        if i % 500 == 0:
            say(f"    sockets: {i} opened, {failed_connect} failed, {time.monotonic() - opened_at:.1f}s")
        kind = kinds[i % 3]
        try:
            s = socket.create_connection((LOOPBACK, k.port), timeout=0.5)
            if kind == "half-header":
                s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            elif kind == "half-body":
                s.sendall(b"POST /api/v2/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Authorization: Bearer " + TOKEN.encode() +
                          b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{\"lab")
            held[kind].append(s)
            failed_in_a_row = 0
        except OSError:
            failed_connect += 1
            failed_in_a_row += 1
        row.tried += 1
        if failed_in_a_row >= 20:
            row.note(f"connects failing ({failed_in_a_row} in a row): stopped opening after {i + 1}")
            break
    open_seconds = time.monotonic() - opened_at
    time.sleep(1)
    during = health_samples(k.port)
    # Does delivery still work? An alert posted now should reach the sink.
    delivered_before = suite.sink.count()
    posted = try_call(k.port, "POST", "/api/v2/alerts", dumps([alert("WhileHeld")]),
                      JSON_HEADERS, timeout=5, token=TOKEN)
    time.sleep(max(0, hold - (time.monotonic() - opened_at)))
    late = health_samples(k.port)
    closed = {kind: sum(1 for s in socks if peer_closed(s)) for kind, socks in held.items()}
    delivered = suite.sink.count() - delivered_before
    accept_errors = k.log_text_tail(4 << 20).count("Too many open files")
    for socks in held.values():
        for s in socks:
            s.close()
    time.sleep(1)
    after = health_samples(k.port)
    n_held = sum(len(v) for v in held.values())
    row.ok = sum(closed.values())
    row.note(f"{n_held} sockets held ({failed_connect} connects failed) under --nofile={nofile}, "
             f"opened in {open_seconds:.1f}s")
    row.note(f"/-/healthy before: {before}; while held: {during}; after {hold}s: {late}; "
             f"after release: {after}")
    row.note("closed by klaxon within " + f"{hold}s: " + ", ".join(
        f"{kind} {closed[kind]}/{len(held[kind])}" for kind in kinds))
    row.note(f"alert POST while held: {posted.status if posted else 'no answer'}; "
             f"webhook deliveries while held: {delivered}; 'Too many open files' in log: {accept_errors}")
    row.figure(f"{n_held} held under nofile {nofile}; /-/healthy while held {during}, after {hold}s {late}; "
               f"closed by klaxon {sum(closed.values())}/{n_held}; alert delivered while held: "
               f"{'yes' if delivered else 'no'}")
    stop_or_count_crash(row, k, "holding sockets")
    return row


# ----- 5. big silences -------------------------------------------------------------


def cat_silences(suite):
    row = Row("silences")
    sizes = [int(x) for x in env_list("SILENCE_MATCHERS", ["10000", "100000"])]
    k = suite.klaxon_instance("silences", log_level="warn").start()
    time.sleep(1)
    base = k.rss_kb()
    parts = [f"ready {mib(base)}"]

    def post(label, matchers):
        body = dumps(silence_body(matchers=matchers))
        try:
            a = k.call("POST", "/api/v2/silences", body, JSON_HEADERS, timeout=300)
            status, seconds = a.status, a.seconds
        except HttpError as e:
            status, seconds = None, None
            row.note(f"{label}: no answer ({e})")
        row.count(status)
        if not k.alive():
            row.crashes += 1
            k.reap()
            row.fail(f"klaxon died on a silence with {label}: {k.log_tail(2)}")
            k.start()
            return
        time.sleep(0.5)
        parts.append(f"{label} ({len(body) / 1e6:.1f}MB): {status} in {fmt_ms(seconds)}, "
                     f"RSS {mib(k.rss_kb())}")
        row.figure(f"{label}: {status}, RSS {mib(k.rss_kb())}")

    for n in sizes:
        post(f"{n} regex matchers",
             [{"name": f"label_{i}", "value": f"value-{i}.*", "isRegex": True} for i in range(n)])
    huge = "|".join(f"word{i}" for i in range(env_int("SILENCE_REGEX_WORDS", 200000)))
    post(f"one regex of {len(huge) / 1e6:.1f}MB", [{"name": "a", "value": huge, "isRegex": True}])
    post("nested repetition regex", [{"name": "a", "value": "((a{100}){100}){100}", "isRegex": True}])
    parts.append(f"peak {mib(k.hwm_kb())}")
    k.stop()
    started = time.monotonic()
    try:
        k.start(timeout=300)
        time.sleep(1)
        parts.append(f"after restart: RSS {mib(k.rss_kb())} (ready in {time.monotonic() - started:.1f}s)")
        k.stop()
    except RuntimeError as e:
        parts.append(f"restart failed: {e}")
        if k.reap():
            row.crashes += 1
            row.fail("klaxon crashed restarting with the big silences")
    row.headline.insert(0, parts[0])
    if parts[-1].startswith(("after restart", "restart failed")):
        row.figure(parts[-1])
    for p in parts:
        row.note(p)
    return row


# ----- 6. log amplification --------------------------------------------------------


def cat_logs(suite):
    row = Row("logs")
    k = suite.klaxon_instance("logs").start()
    time.sleep(0.5)
    target = env_int("LOG_BODY_BYTES", 13 << 20)
    parts, size = [], 2
    while size < target:
        parts.append(dumps({"labels": {"alertname": f"Bad{len(parts)}", "0bad label": "v" * 100}}))
        size += len(parts[-1]) + 1
    n = len(parts)
    body = b"[" + b",".join(parts) + b"]"
    before = k.log_size()
    try:
        a = k.call("POST", "/api/v2/alerts", body, JSON_HEADERS, timeout=120)
        status, seconds, answer = a.status, a.seconds, len(a.body)
    except HttpError as e:
        status, seconds, answer = None, None, 0
        row.note(f"no answer: {e}")
    row.count(status)
    time.sleep(1)
    written = k.log_size() - before
    row.note(f"{len(body) / 1e6:.1f}MB of {n} invalid alerts: HTTP {status} in {fmt_ms(seconds)}, "
             f"answer {answer} bytes, log written {written} bytes "
             f"({written / len(body):.2f} bytes per byte posted)")
    row.figure(f"{len(body) / 1e6:.1f}MB posted -> {written / 1e6:.1f}MB of log, "
               f"{answer / 1e6:.1f}MB answer")
    if status is not None and status >= 500:
        row.fail(f"{status} on a body of invalid alerts")
    stop_or_count_crash(row, k, "on the invalid body")
    return row


# ----- 7. listing under ingest -------------------------------------------------------


def cat_listing(suite):
    row = Row("listing")
    total = env_int("LISTING_ALERTS", 100000)
    batch = env_int("LISTING_BATCH", 1000)
    bound = env_int("LISTING_SECONDS", 150)
    k = suite.klaxon_instance("listing", log_level="warn").start()
    started = time.monotonic()
    sent = {"alerts": 0, "2xx": 0, "other": 0}
    lock = threading.Lock()
    batches = iter(range(0, total, batch))
    stop = threading.Event()

    def poster():
        conn = Conn(k.port, 120)
        while not stop.is_set() and time.monotonic() - started < bound:
            with lock:
                first = next(batches, None)
            if first is None:
                break
            alerts = [{"labels": {"alertname": "Burst", "instance": f"host-{i}", "job": "burst"},
                       "annotations": {"summary": "x" * 64}, "endsAt": now_plus(3600)}
                      for i in range(first, min(total, first + batch))]
            try:
                a = conn.request("POST", "/api/v2/alerts", dumps(alerts),
                                 [("Authorization", f"Bearer {TOKEN}")] + JSON_HEADERS)
                ok = 200 <= a.status < 300
            except HttpError:
                ok = False
            with lock:
                sent["2xx" if ok else "other"] += 1
                sent["alerts"] += len(alerts) if ok else 0
        conn.close()

    posters = [threading.Thread(target=poster) for _ in range(2)]
    for t in posters:
        t.start()
    lists, healths, list_fail = [], [], 0
    ingest_done = None
    while time.monotonic() - started < bound:
        h = health(k.port, timeout=30)
        healths.append(h if h is not None else 30.0)
        try:
            a = call(k.port, "GET", "/api/v2/alerts", timeout=120)
            lists.append(a.seconds)
            row.count(a.status)
        except HttpError:
            list_fail += 1
            row.count(None)
        if ingest_done is None and not any(t.is_alive() for t in posters):
            ingest_done = time.monotonic() - started
        if ingest_done is not None and time.monotonic() - started > ingest_done + 10:
            break
        time.sleep(0.5)
    stop.set()
    for t in posters:
        t.join()
    settled = try_call(k.port, "GET", "/api/v2/alerts", timeout=120)
    med = lambda xs: statistics.median(xs) if xs else None
    row.note(f"ingested {sent['alerts']} alerts in {sent['2xx']} batches of {batch} "
             f"({sent['other']} failed) in {fmt_ms(ingest_done)}")
    row.note(f"during/after the burst: GET /api/v2/alerts x{len(lists)} median {fmt_ms(med(lists))} "
             f"max {fmt_ms(max(lists) if lists else None)} ({list_fail} failed); "
             f"/-/healthy median {fmt_ms(med(healths))} max {fmt_ms(max(healths) if healths else None)}; "
             f"settled list {fmt_ms(settled.seconds if settled else None)} "
             f"({len(settled.json()) if settled and settled.status == 200 else '?'} alerts); "
             f"peak RSS {mib(k.hwm_kb())}")
    row.figure(f"{sent['alerts']} alerts in one group; GET /api/v2/alerts during the burst max "
               f"{fmt_ms(max(lists) if lists else None)}, /-/healthy max {fmt_ms(max(healths) if healths else None)}")
    stop_or_count_crash(row, k, "during the burst")
    return row


# ----- 8. kill -9 during ingest ------------------------------------------------------


def cat_kill9(suite):
    row = Row("kill9")
    rounds = env_int("KILL_ROUNDS", 10)
    k = suite.klaxon_instance("kill9", log_level="warn")
    acked_alerts, acked_silences = set(), set()
    lost_alerts, lost_silences = set(), set()
    lock = threading.Lock()
    rng = suite.rng
    kills = 0

    def verify():
        alerts = k.call("GET", "/api/v2/alerts", timeout=120).json()
        have = {x["labels"].get("instance") for x in alerts if x["labels"].get("alertname") == "Acked"}
        silences = k.call("GET", "/api/v2/silences", timeout=120).json()
        sids = {s["id"] for s in silences}
        with lock:
            lost_alerts.update(acked_alerts - have)
            lost_silences.update(acked_silences - sids)

    for r in range(rounds):
        try:
            k.start(timeout=120)
        except RuntimeError as e:
            if k.reap():
                row.crashes += 1
            row.fail(f"restart {r} failed: {e}")
            break
        verify()
        stop = threading.Event()

        def alert_writer(r=r):
            conn = Conn(k.port, 10)
            i = 0
            while not stop.is_set():
                names = [f"r{r}-a{i}-{j}" for j in range(5)]
                body = dumps([alert("Acked", 0, instance=n) for n in names])
                try:
                    a = conn.request("POST", "/api/v2/alerts", body,
                                     [("Authorization", f"Bearer {TOKEN}")] + JSON_HEADERS)
                    if a.status == 200:
                        with lock:
                            acked_alerts.update(names)
                    row.count(a.status)
                except HttpError:
                    break
                i += 1
            conn.close()

        def silence_writer(r=r):
            conn = Conn(k.port, 10)
            while not stop.is_set():
                # Matching none of the alerts, so that listing them stays small.
                body = dumps(silence_body([{"name": "instance", "value": f"none-r{r}-.*", "isRegex": True}]))
                try:
                    a = conn.request("POST", "/api/v2/silences", body,
                                     [("Authorization", f"Bearer {TOKEN}")] + JSON_HEADERS)
                    if a.status == 200:
                        with lock:
                            acked_silences.add(a.json()["silenceID"])
                    row.count(a.status)
                except (HttpError, ValueError, KeyError):
                    break
            conn.close()

        writers = [threading.Thread(target=alert_writer), threading.Thread(target=silence_writer)]
        for t in writers:
            t.start()
        time.sleep(rng.uniform(0.2, 2.0))
        k.kill9()
        kills += 1
        stop.set()
        for t in writers:
            t.join(15)
    try:
        k.start(timeout=120)
        verify()
        k.stop()
    except RuntimeError as e:
        if k.reap():
            row.crashes += 1
        row.fail(f"final restart failed: {e}")
    row.lost = len(lost_alerts) + len(lost_silences)
    row.note(f"{kills} kill -9 during ingest: {len(acked_alerts)} acknowledged alerts, "
             f"{len(acked_silences)} acknowledged silences; lost {len(lost_alerts)} alerts, "
             f"{len(lost_silences)} silences")
    row.figure(f"{kills} kill -9; {len(acked_alerts)} alerts + {len(acked_silences)} silences "
               f"acknowledged, {row.lost} lost")
    if row.lost:
        row.fail(f"lost acknowledged data: {sorted(lost_alerts)[:5]} {sorted(lost_silences)[:5]}")
    return row


# ----- 9. corrupted data files ---------------------------------------------------------


def sha256(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        return f"unreadable: {e}"
    return h.hexdigest()


def corruptions(size, rng):
    def truncate(n):
        return lambda f: f.truncate(n)

    def flip(offsets):
        def apply(f):
            for off in offsets:
                f.seek(off)
                b = f.read(1)
                f.seek(off)
                f.write(bytes([(b[0] if b else 0) ^ 0xFF]))
        return apply

    def fill(off, n, byte):
        def apply(f):
            f.seek(off)
            f.write(bytes([byte]) * n)
        return apply

    def append(f):
        f.seek(0, 2)
        f.write(bytes(rng.getrandbits(8) for _ in range(4096)))

    return [
        ("truncated to 0", truncate(0)), ("truncated to 1", truncate(1)),
        ("truncated to 512", truncate(512)), ("truncated to 4096", truncate(4096)),
        ("truncated to half", truncate(size // 2)), ("truncated by 1", truncate(size - 1)),
        ("truncated by 4096", truncate(max(0, size - 4096))),
        ("magic flipped", flip([0])), ("header byte 20 flipped", flip([20])),
        ("header byte 64 flipped", flip([64])), ("first page zeroed", fill(0, 4096, 0)),
        ("16 random bytes flipped", flip(sorted(rng.randrange(size) for _ in range(16)))),
        ("middle byte flipped", flip([size // 2])), ("last page flipped", flip([size - 100])),
        ("4 KiB garbage appended", append), ("second half 0xFF", fill(size // 2, size - size // 2, 0xFF)),
    ]


def cat_corrupt(suite):
    row = Row("corrupt")
    timeout = env_int("CORRUPT_TIMEOUT", 20)
    base = suite.klaxon_instance("corrupt-base", log_level="warn").start()
    for i in range(0, 2000, 500):
        base.call("POST", "/api/v2/alerts", dumps([alert("Stored", j) for j in range(i, i + 500)]),
                  JSON_HEADERS)
    for i in range(20):
        base.call("POST", "/api/v2/silences", dumps(silence_body(comment=f"s{i}")), JSON_HEADERS)
    base.stop()
    db = os.path.join(base.data_dir, "klaxon.redb")
    size = os.path.getsize(db)
    cases = corruptions(size, suite.rng)
    cases.append(("klaxon.redb is a directory", None))
    outcomes = {}
    modified = leftover = 0
    for label, corrupt in cases:
        name = "corrupt-" + re.sub(r"[^a-z0-9]+", "-", label.lower())
        k = suite.klaxon_instance(name, log_level="warn")
        shutil.copytree(base.data_dir, k.data_dir)
        path = os.path.join(k.data_dir, "klaxon.redb")
        if corrupt is None:
            os.remove(path)
            os.mkdir(path)
        else:
            with open(path, "r+b") as f:
                corrupt(f)
        before = sha256(path)
        k.spawn()
        ready = k.wait_ready(timeout)
        row.tried += 1
        extra = ""
        if ready:
            alerts = try_call(k.port, "GET", "/api/v2/alerts", timeout=30)
            n = len(alerts.json()) if alerts and alerts.status == 200 else "?"
            extra = f" with {n}/2000 alerts"
            outcome = "started"
            k.stop()
            code = k.proc.returncode
        elif k.alive():
            outcome = "hung"
            k.kill9()
            code = None
        else:
            code = k.proc.returncode
            outcome = "crashed" if k.reap() else "refused"
        touched = sha256(path) != before
        leftovers = sorted(set(os.listdir(k.data_dir)) - {"klaxon.redb", "klaxon.lock"})
        message = k.log_tail(1)[:160]
        if outcome == "crashed":
            row.crashes += 1
            row.fail(f"{label}: crashed (exit {code}): {message}")
        elif outcome == "refused" and not touched:
            row.ok += 1
        elif outcome == "started" and extra.startswith(" with 2000/"):
            row.ok += 1
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        modified += 1 if touched else 0
        leftover += 1 if leftovers else 0
        say(f"    corrupt: {label}: {outcome}{extra} exit={code} modified={touched} "
            f"leftovers={leftovers} {message}")
        if outcome != "refused" or touched or leftovers:
            row.note(f"{label}: {outcome}{extra}, exit {code}, "
                     f"{'modified' if touched else 'unmodified'}"
                     f"{', left ' + ','.join(leftovers) if leftovers else ''}")
        shutil.rmtree(k.dir, ignore_errors=True)
    row.figure(", ".join(f"{v} {k}" for k, v in sorted(outcomes.items())) +
               f"; {modified} modified; {leftover} left files behind")
    row.notes.insert(0, f"{size} byte database, {len(cases)} variants: " +
                     ", ".join(f"{v} {k}" for k, v in sorted(outcomes.items())) +
                     f"; ok = refused untouched or started with all data")
    return row


# ----- 10. disk full ---------------------------------------------------------------------


def fill_disk(path, leave=0):
    """Writes a filler file until the file system is full (or only `leave`
    bytes are free); returns its size."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 4096):
            block = b"\0" * chunk
            while True:
                st = os.statvfs(os.path.dirname(path))
                free = st.f_bavail * st.f_frsize
                if free - chunk < leave:
                    break
                try:
                    written += f.write(block) or 0
                except OSError:
                    break
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    return written


def cat_diskfull(suite):
    row = Row("diskfull")
    if os.geteuid() != 0:
        row.skipped = "skipped: needs root"
        return row
    mnt = os.path.join(suite.work, "tmpfs")
    os.makedirs(mnt, exist_ok=True)
    size_mb = env_int("DISKFULL_MB", 64)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        row.skipped = f"skipped: mount -t tmpfs failed: {r.stderr.strip()[:80]}"
        return row
    suite.mounts.append(mnt)
    k = suite.klaxon_instance("diskfull", data_dir=os.path.join(mnt, "data"), log_level="warn")
    acked = set()
    filler = os.path.join(mnt, "filler")
    codes = {}
    parts = []
    try:
        k.start()
        for i in range(0, env_int("DISKFULL_PREFILL", 10000), 500):
            names = [f"pre-{j}" for j in range(i, i + 500)]
            a = k.call("POST", "/api/v2/alerts",
                       dumps([alert("Full", 0, instance=n) for n in names]), JSON_HEADERS)
            if a.status == 200:
                acked.update(names)
        db = os.path.join(k.data_dir, "klaxon.redb")
        parts.append(f"{size_mb}MiB tmpfs, database {os.path.getsize(db) / 1e6:.1f}MB")
        fill_disk(filler)
        reads_ok = reads = 0
        messages = set()
        for i in range(40):
            names = [f"full-{i}-{j}" for j in range(50)]
            try:
                a = k.call("POST", "/api/v2/alerts",
                           dumps([alert("Full", 0, instance=n) for n in names]), JSON_HEADERS, timeout=30)
                row.count(a.status)
                codes[a.status] = codes.get(a.status, 0) + 1
                if a.status == 200:
                    acked.update(names)
                else:
                    messages.add(re.sub(rb"/\S*/", b".../", a.body)[:90])
            except HttpError:
                row.count(None)
            if i % 10 == 0:
                s = try_call(k.port, "POST", "/api/v2/silences", dumps(silence_body()), JSON_HEADERS,
                             timeout=30, token=TOKEN)
                if s is not None:
                    row.count(s.status)
                    codes[s.status] = codes.get(s.status, 0) + 1
            g = try_call(k.port, "GET", "/api/v2/alerts?filter=instance%3D%22pre-1%22", timeout=30)
            reads += 1
            reads_ok += 1 if g is not None and g.status == 200 else 0
        ready = try_call(k.port, "GET", "/-/ready", timeout=10)
        parts.append("writes on a full disk: " + ", ".join(f"{c}x{n}" for c, n in sorted(codes.items())))
        parts.append(f"reads {reads_ok}/{reads} ok; /-/ready {ready.status if ready else 'no answer'}")
        for m in sorted(messages)[:3]:
            parts.append(f"answer: {m.decode('utf-8', 'replace')!r}")
        os.remove(filler)
        freed = time.monotonic()
        recovered = None
        while time.monotonic() - freed < env_int("DISKFULL_RECOVERY_SECONDS", 30):
            names = [f"after-{int((time.monotonic() - freed) * 10)}"]
            a = try_call(k.port, "POST", "/api/v2/alerts", dumps([alert("Full", 0, instance=names[0])]),
                         JSON_HEADERS, timeout=10, token=TOKEN)
            if a is not None and a.status == 200:
                acked.update(names)
                recovered = time.monotonic() - freed
                break
            time.sleep(0.5)
        ready = try_call(k.port, "GET", "/-/ready", timeout=10)
        parts.append(f"after freeing space: writes {'recovered in %.1fs' % recovered if recovered is not None else 'did not recover'} "
                     f"without restart, /-/ready {ready.status if ready else 'no answer'}")
        code = k.stop()
        if k.exits and k.exits[-1][1]:
            row.crashes += 1
        dbsize = os.path.getsize(db)
        fill_disk(filler, leave=dbsize // 2)
        k.spawn()
        started_ok = k.wait_ready(30)
        left = sorted(os.listdir(k.data_dir))
        parts.append(f"restart with {dbsize // 2 / 1e6:.1f}MB free (database {dbsize / 1e6:.1f}MB; stop exit {code}): "
                     f"{'ready' if started_ok else 'not ready, exit %s: %s' % (k.proc.poll(), k.log_tail(1)[:120])}; "
                     f"data dir {left}")
        if not started_ok and not k.alive() and k.reap():
            row.crashes += 1
            row.fail("klaxon crashed restarting on a nearly full disk")
        k.stop()
        os.remove(filler)
        for f in os.listdir(k.data_dir):
            if f.endswith(".verify") or f.endswith(".new"):
                os.remove(os.path.join(k.data_dir, f))
        k.start()
        alerts = k.call("GET", "/api/v2/alerts", timeout=120).json()
        have = {x["labels"].get("instance") for x in alerts if x["labels"].get("alertname") == "Full"}
        lost = acked - have
        row.lost = len(lost)
        parts.append(f"after restart with space: {len(acked)} acknowledged alerts, {len(lost)} lost")
        if lost:
            row.fail(f"lost {len(lost)} acknowledged alerts after the disk-full run")
        k.stop()
    except (RuntimeError, HttpError, OSError, ValueError) as e:
        parts.append(f"error: {e}")
        if k.proc is not None and not k.alive() and k.reap():
            row.crashes += 1
            row.fail(f"klaxon crashed: {k.log_tail(2)}")
    finally:
        k.stop()
        suite.unmount(mnt)
    for p in parts:
        row.note(p)
    row.headline = [p for p in parts if p.startswith(("writes on", "reads", "after freeing", "restart with", "error"))]
    return row


# ----- 11. hostile rule files -------------------------------------------------------------


def cat_rulefiles(suite):
    row = Row("rulefiles")
    d = os.path.join(suite.work, "rulefiles")
    os.makedirs(d, exist_ok=True)
    cap = env_int("RULEFILE_MEMORY_CAP_MB", 2048)
    timeout = env_int("RULEFILE_TIMEOUT", 20)
    big_mb = env_int("RULEFILE_BIG_MB", 8)

    def write(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    fifo = os.path.join(d, "fifo.rules")
    os.mkfifo(fifo)
    os.symlink("loop-b.rules", os.path.join(d, "loop-a.rules"))
    os.symlink("loop-a.rules", os.path.join(d, "loop-b.rules"))
    long_line = (b'group g { every 1m alert A { query prometheus `up` warning when value > 1 summary "'
                 + b"x" * (10 << 20) + b'" } } @@@\n')
    # Few YAML nodes per byte: serde-saphyr refuses more than 250,000 nodes.
    description = "the instance {{ $labels.instance }} is down; " * 16
    rule = ("  - alert: Big{i}\n    expr: up{{job=\"job-{i}\"}} == 0\n    for: 5m\n"
            "    labels:\n      severity: warning\n    annotations:\n"
            "      summary: instance {{{{ $labels.instance }}}} is down\n"
            "      description: " + description.replace("{", "{{").replace("}", "}}") + "{i}\n")
    big_yaml = "groups:\n- name: big\n  rules:\n" + "".join(
        rule.format(i=i) for i in range(max(1, (big_mb << 20) // len(rule.format(i=0)))))
    dsl_rule = ("  alert Big{i} {{\n    query prometheus `up{{job=\"job-{i}\"}} == 0`\n"
                "    warning when value > 0\n    summary \"instance {{{{ $labels.instance }}}} is down\"\n  }}\n")
    n_dsl = max(1, (big_mb << 20) // len(dsl_rule.format(i=0)))
    big_dsl = "".join(
        f"group big{g} {{\n  every 1m\n" + "".join(dsl_rule.format(i=i) for i in range(g, min(n_dsl, g + 100))) + "}\n"
        for g in range(0, n_dsl, 100))
    inputs = [
        ("/dev/zero", "/dev/zero"), ("FIFO", fifo),
        ("symlink loop", os.path.join(d, "loop-a.rules")),
        ("10 MB one-line error", write("long.rules", long_line)),
        ("10 MB one-line yaml error", write("long.yml", b"groups: [{name: g, rules: [{alert: A, expr: up, "
                                             b"annotations: {s: \"" + b"x" * (10 << 20) + b"\"}}]}] ]]\n")),
        ("deep braces", write("deep.rules", b"group g { " + b"{" * 100000 + b"\n")),
        ("deep yaml", write("deep.yml", b"groups: " + b"[" * 100000 + b"]" * 100000 + b"\n")),
        ("deep promql", write("deep-promql.yml", b"groups:\n- name: g\n  rules:\n  - alert: A\n    expr: "
                                                   + b"(" * 100000 + b"up" + b")" * 100000 + b"\n")),
        ("invalid utf-8", write("utf8.rules", b"group \xff\xfe { }\n")),
        ("nul bytes", write("nul.yml", b"\0" * 65536)),
        (f"{len(big_yaml) / 1e6:.1f} MB valid yaml", write("big.yml", big_yaml.encode())),
        (f"{len(big_dsl) / 1e6:.1f} MB valid rules", write("big.rules", big_dsl.encode())),
    ]
    out = os.path.join(d, "out")
    results = []
    for label, path in inputs:
        is_yaml = path.endswith((".yml", ".yaml"))
        tools = [("rulecheck", [suite.rulecheck, path])]
        port = free_port()
        serve = [suite.klaxon, "serve", "--prometheus.url", f"http://{LOOPBACK}:9",
                 "--data-dir", os.path.join(d, "data-" + str(port)), "--listen", f"{LOOPBACK}:{port}",
                 "--log.level", "warn"]
        serve += ["--rules", path] if is_yaml else ["--config", path]
        tools.append(("serve", serve))
        for tool, cmd in tools:
            bounded = ["prlimit", f"--data={cap << 20}", "--"] + cmd
            t = timeout * (4 if "valid" in label else 1)
            outcome, code, secs, rss, nbytes = run_bounded(
                bounded, t, out, ready_port=port if tool == "serve" else None)
            row.tried += 1
            with open(out, "rb") as f:
                head = f.read(4096).decode("utf-8", "replace")
            lines = [line.strip() for line in head.splitlines() if line.strip()]
            at = next((i for i, line in enumerate(lines) if re.search(r"\berror\b", line, re.I)), 0)
            first = " ".join(lines[at:at + (2 if lines and lines[at].endswith(":") else 1)])[:140]
            if outcome == "started":
                code = "started"
            if outcome != "timeout" and crashed(code if isinstance(code, int) else None, head):
                row.crashes += 1
                row.fail(f"{tool} {label}: crashed (exit {code}): {first}")
            elif outcome != "timeout":
                row.ok += 1
            if outcome == "timeout" or label in ("/dev/zero", "symlink loop", "10 MB one-line error") \
                    or label.endswith("valid rules"):
                row.figure(f"{tool} {label}: "
                           f"{'hung' if outcome == 'timeout' else 'exit %s' % code}, {mib(rss)}"
                           f"{', %.1fMB out' % (nbytes / 1e6) if nbytes > 1e6 else ''}")
            results.append(f"{tool} {label}: {'HUNG (killed after %ds)' % t if outcome == 'timeout' else 'exit %s' % code} "
                           f"{secs:.1f}s, peak {mib(rss)}, {nbytes} bytes output"
                           f"{': ' + first if first and code != 'started' else ''}")
            say(f"    rulefiles: {results[-1]} | {first}")
    row.notes += results
    row.notes.insert(0, f"each run under prlimit --data={cap}MiB, killed after {timeout}s; ok = ended by itself")
    return row


# ----- main ----------------------------------------------------------------------------------

CATEGORIES = [
    ("bodies", cat_bodies), ("auth", cat_auth), ("flood", cat_flood), ("sockets", cat_sockets),
    ("silences", cat_silences), ("logs", cat_logs), ("listing", cat_listing), ("kill9", cat_kill9),
    ("corrupt", cat_corrupt), ("diskfull", cat_diskfull), ("rulefiles", cat_rulefiles),
]


def table(rows, work):
    header = ["category", "tried", "ok", "4xx", "5xx", "crashes", "lost"]
    lines = ["| " + " | ".join(header) + " | notes/figures |",
             "|" + "---|" * (len(header) + 1)]
    for r in rows:
        if r.skipped:
            lines.append(f"| {r.name} | - | - | - | - | - | - | {r.skipped} |")
            continue
        notes = "; ".join(n.replace("|", "/") for n in (r.headline or r.notes)).replace(work, "$work")
        lines.append(f"| {r.name} | {r.tried} | {r.ok} | {r.c4xx} | {r.c5xx} | {r.crashes} | "
                     f"{r.lost} | {notes} |")
    return "\n".join(lines)


def main():
    global CHILDREN
    work, klaxon, rulecheck, repo = sys.argv[1:5]
    CHILDREN = Children(os.path.join(work, "pids"))
    only = set(env_list("ONLY", []))
    skip = set(env_list("SKIP", []))
    unknown = (only | skip) - {name for name, _ in CATEGORIES}
    if unknown:
        say(f"error: unknown categories {sorted(unknown)}; known: {[n for n, _ in CATEGORIES]}")
        return 2
    suite = Suite(work, klaxon, rulecheck, repo)
    suite.mounts = []

    def unmount(path):
        if path in suite.mounts:
            subprocess.run(["umount", "-l", path], capture_output=True)
            suite.mounts.remove(path)

    suite.unmount = unmount

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    rows = []
    started = time.monotonic()
    try:
        for name, fn in CATEGORIES:
            if (only and name not in only) or name in skip:
                continue
            say(f"\n==> {name}")
            t = time.monotonic()
            try:
                row = fn(suite)
            except Exception as e:  # one category failing must not hide the others
                row = Row(name)
                row.notes.append(f"suite error: {type(e).__name__}: {e}")
                say(f"    {name}: suite error: {type(e).__name__}: {e}")
                traceback.print_exc(file=sys.stderr)
            CHILDREN.kill_all()
            if not row.skipped:
                row.notes.append(f"{time.monotonic() - t:.0f}s")
            rows.append(row)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        CHILDREN.kill_all()
        for m in list(suite.mounts):
            unmount(m)
        suite.sink.close()
    print()
    print(table(rows, work))
    print()
    print("details:")
    for r in rows:
        for n in ([r.skipped] if r.skipped else r.notes):
            print(f"  {r.name}: {n}".replace(work, "$work"))
    failures = [f"{r.name}: {f}" for r in rows for f in r.failures]
    print()
    print(f"total {time.monotonic() - started:.0f}s; klaxon {klaxon}")
    if failures:
        print(f"FAILED ({len(failures)}): a crash, a 5xx on a hostile body, lost acknowledged data "
              f"or an auth bypass:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print("passed: no crash, no 5xx on a hostile body, no lost acknowledged data, no auth bypass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
