#!/usr/bin/env python3
"""A fast stand-in for Prometheus's instant-query API, for bench/cluster.sh.

    prometheus_stub.py PORTFILE [FIRING_PERCENT]

Binds 127.0.0.1:0 and writes the port to PORTFILE. `GET|POST /api/v1/query`
answers every query at once without evaluating it: a query naming
`rule="N"` gets one series with value 1 when N % 100 < FIRING_PERCENT
(default 10), so that alert fires, and an empty vector otherwise.
`GET /counts` returns the number of queries answered so far, total and per
group (the `group="..."` of the query), as JSON. Standard library only.
"""

import http.server
import json
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

PORTFILE = sys.argv[1]
FIRING_PERCENT = int(sys.argv[2]) if len(sys.argv) > 2 else 10
RULE = re.compile(r'rule="(\d+)"')
GROUP = re.compile(r'group="([^"]+)"')

lock = threading.Lock()
total = 0
per_group = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in one write and without Nagle's delay: the
    # stub must never be what the evaluator waits for.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.wfile.write(head + body)

    def answer(self, params):
        global total
        query = (params.get("query") or [""])[0]
        at = (params.get("time") or [""])[0] or f"{time.time():.3f}"
        group = GROUP.search(query)
        with lock:
            total += 1
            if group:
                per_group[group.group(1)] = per_group.get(group.group(1), 0) + 1
        rule = RULE.search(query)
        result = ""
        if rule and int(rule.group(1)) % 100 < FIRING_PERCENT:
            result = f'{{"metric":{{"instance":"db-{rule.group(1)}"}},"value":[{at},"1"]}}'
        body = ('{"status":"success","data":{"resultType":"vector","result":[' + result + "]}}").encode()
        self.reply("200 OK", body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/api/v1/query":
            self.answer(parse_qs(url.query))
        elif url.path == "/counts":
            with lock:
                body = json.dumps({"total": total, "groups": per_group}).encode()
            self.reply("200 OK", body)
        else:
            self.reply("404 Not Found", b'{"status":"error","error":"not found"}')

    def do_POST(self):
        url = urlsplit(self.path)
        form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if url.path == "/api/v1/query":
            params = parse_qs(url.query)
            params.update(parse_qs(form))
            self.answer(params)
        else:
            self.reply("404 Not Found", b'{"status":"error","error":"not found"}')


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
