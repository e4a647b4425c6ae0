# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Protocol-buffer wire format by hand, for the test scripts that read or
rewrite pprof profiles (agent_receiver.py, pprof_strip.py) without needing
the protobuf module."""


class WireError(ValueError):
    pass


def varint(buf, i):
    """The varint at buf[i]: (value, index after it)."""
    shift = value = 0
    while True:
        if i >= len(buf):
            raise WireError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def put_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fields(buf):
    """Yield (field number, wire type, raw bytes of the whole field, value):
    value is the integer of a varint field, the payload bytes of a
    length-delimited one, None for fixed-size ones."""
    i = 0
    while i < len(buf):
        start = i
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            value, i = varint(buf, i)
        elif wt == 1:
            i += 8
            value = None
        elif wt == 2:
            n, i = varint(buf, i)
            value = buf[i:i + n]
            i += n
        elif wt == 5:
            i += 4
            value = None
        else:
            raise WireError("unsupported wire type %d" % wt)
        if i > len(buf):
            raise WireError("truncated field %d" % num)
        yield num, wt, buf[start:i], value
