"""Inserts N rows through an openGauss listener, one of two ways:

  batch      one Batch Bind ('U') carrying all N rows, its Execute inside the
             frame as openGauss JDBC sends it, then Sync;
  pipelined  N Bind + Execute pairs of the same prepared INSERT, then one Sync.

Logs in as openGauss 3.51 with SHA256, prepares
`INSERT INTO t_batch (id, k, note) VALUES ($1, $2, $3)`, sends the rows and
waits for ReadyForQuery; exits non-zero on any ErrorResponse. Used by
benches/suites/opengauss-batch.sh:
    og_batch.py MODE PORT USER PASSWORD DATABASE ROWS
"""

import hashlib
import hmac
import socket
import struct
import sys


def frame(tag, body):
    return tag + struct.pack("!i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def recv(self):
        while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack("!i", self.buf[1:5])[0]:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                sys.exit("connection closed")
            self.buf += chunk
        n = struct.unpack("!i", self.buf[1:5])[0]
        tag, body, self.buf = self.buf[:1], self.buf[5 : 1 + n], self.buf[1 + n :]
        return tag, body

    def until_ready(self):
        while True:
            tag, body = self.recv()
            if tag == b"E":
                sys.exit("error: " + body.decode(errors="replace"))
            if tag == b"Z":
                return


def sha256_proof(password, body):
    # body after the int32 code 10: int32 method, 64 hex salt, 8 hex token,
    # int32 iterations (protocol 3.51).
    salt = bytes.fromhex(body[4:68].decode())
    token = bytes.fromhex(body[68:76].decode())
    iterations = struct.unpack("!i", body[76:80])[0]
    k = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations, 32)
    client_key = hmac.new(k, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    mask = hmac.new(stored_key, token, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(mask, client_key)).hex()


def login(conn, user, password, database):
    params = cstr("user") + cstr(user) + cstr("database") + cstr(database) + b"\0"
    body = struct.pack("!i", 0x00030033) + params
    conn.send(struct.pack("!i", len(body) + 4) + body)
    tag, body = conn.recv()
    code = struct.unpack("!i", body[:4])[0]
    if tag != b"R" or code != 10:
        sys.exit(f"expected SHA256 (R 10), got {tag!r} {code}")
    conn.send(frame(b"p", cstr(sha256_proof(password, body[4:]))))
    conn.until_ready()


def value(v):
    raw = str(v).encode()
    return struct.pack("!i", len(raw)) + raw


def main():
    mode, port, user, password, database, rows = sys.argv[1:7]
    rows = int(rows)
    conn = Conn(int(port))
    login(conn, user, password, database)
    sql = "INSERT INTO t_batch (id, k, note) VALUES ($1, $2, $3)"
    conn.send(frame(b"P", cstr("ins") + cstr(sql) + struct.pack("!h", 0)) + frame(b"S", b""))
    conn.until_ready()
    values = [value(i) + value(i * 7919 % 1000003) + value(f"row {i}") for i in range(rows)]
    if mode == "batch":
        head = struct.pack("!i", rows) + cstr("") + cstr("ins") + struct.pack("!hhh", 0, 0, 3)
        execute = b"E" + cstr("") + struct.pack("!i", 0)
        conn.send(frame(b"U", head + b"".join(values) + execute) + frame(b"S", b""))
    elif mode == "pipelined":
        execute = frame(b"E", cstr("") + struct.pack("!i", 0))
        bind_head = cstr("") + cstr("ins") + struct.pack("!hh", 0, 3)
        tail = struct.pack("!h", 0)
        out = [frame(b"B", bind_head + v + tail) + execute for v in values]
        conn.send(b"".join(out) + frame(b"S", b""))
    else:
        sys.exit(f"unknown mode {mode}")
    conn.until_ready()
    conn.send(frame(b"X", b""))


if __name__ == "__main__":
    main()
