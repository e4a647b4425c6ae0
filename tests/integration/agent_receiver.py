#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A stand-in for a Pyroscope server, for the agent's tests.

  agent_receiver.py serve DIR [PORT]   listen on 127.0.0.1 (PORT 0: any free
                                       port, written to DIR/port); every
                                       request is stored as DIR/NNNNNN.json
                                       (method, path, query, headers) and its
                                       multipart field "profile" as
                                       DIR/NNNNNN.pb.gz
  agent_receiver.py pprof FILE...      print "time_nanos duration_nanos
                                       nsamples FILE" of each gzip'd pprof
"""
import email.parser
import email.policy
import gzip
import http.server
import json
import os
import sys
import urllib.parse

import pbwire


def pprof_summary(data):
    """time_nanos (field 9), duration_nanos (10), number of samples (2)."""
    buf = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    fields, nsamples = {}, 0
    for num, wire, _, value in pbwire.fields(buf):
        if wire == 0:
            fields[num] = value
        nsamples += num == 2 and wire == 2
    return fields.get(9, 0), fields.get(10, 0), nsamples


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        d = self.server.dir
        n = len([f for f in os.listdir(d) if f.endswith(".json")])
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        url = urllib.parse.urlsplit(self.path)
        rec = {
            "method": "POST",
            "path": url.path,
            "query": urllib.parse.parse_qs(url.query, keep_blank_values=True),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "fields": [],
        }
        ctype = self.headers.get("Content-Type", "")
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        if msg.is_multipart():
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                rec["fields"].append(name)
                if name == "profile":
                    with open(os.path.join(d, "%06d.pb.gz" % n), "wb") as f:
                        f.write(part.get_payload(decode=True))
        with open(os.path.join(d, "%06d.json.tmp" % n), "w") as f:
            json.dump(rec, f)
        os.rename(os.path.join(d, "%06d.json.tmp" % n), os.path.join(d, "%06d.json" % n))
        status = 400 if os.path.exists(os.path.join(d, "reject")) else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()


def serve(d, port):
    srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
    srv.dir = d
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    elif sys.argv[1] == "pprof":
        for path in sys.argv[2:]:
            with open(path, "rb") as f:
                print(*pprof_summary(f.read()), path)
