#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""pprof_strip.py IN.pb.gz OUT.pb.gz: the same profile without symbols.

Drops every Function, every Location's Lines and the mappings' has_functions /
has_filenames / has_line_numbers / has_inline_frames flags, keeping
addresses, mappings (ranges, files, build IDs) and samples: what a profiler
that does not symbolize would write. `go tool pprof -symbolize=local` must
then find the names again from the binaries. Protobuf wire format by hand
(no protobuf module needed).
"""
import gzip
import sys

import pbwire

PROFILE_FUNCTION = 5
PROFILE_MAPPING = 3
PROFILE_LOCATION = 4
LOCATION_LINE = 4
MAPPING_FLAGS = (7, 8, 9, 10)


def submessage(num, body):
    return pbwire.put_varint(num << 3 | 2) + pbwire.put_varint(len(body)) + body


def strip(msg, drop):
    return b"".join(raw for num, _, raw, _ in pbwire.fields(msg) if num not in drop)


def main():
    data = gzip.decompress(open(sys.argv[1], "rb").read())
    out = bytearray()
    for num, wt, raw, payload in pbwire.fields(data):
        if num == PROFILE_FUNCTION:
            continue
        if num == PROFILE_LOCATION and wt == 2:
            out += submessage(num, strip(payload, (LOCATION_LINE,)))
        elif num == PROFILE_MAPPING and wt == 2:
            out += submessage(num, strip(payload, MAPPING_FLAGS))
        else:
            out += raw
    with open(sys.argv[2], "wb") as f:
        f.write(gzip.compress(bytes(out)))


if __name__ == "__main__":
    main()
