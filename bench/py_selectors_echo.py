"""py_selectors_echo.py - the selectors echo server of the Python tutorial
"进程/线程/协程" (section "20.selectors模块") as the benchmarks run it: its prints
taken out, bound to 127.0.0.1 and the port given, and, like our
examples/echo_server.lua, a short send keeps the rest and waits for
EVENT_WRITE instead of losing it (the seed says "Hope it won't block"), and
a reset closes the connection like an end of stream.  SIGTERM or SIGINT
exits 0.

Usage: /usr/bin/python3 bench/py_selectors_echo.py PORT
"""
import selectors
import signal
import socket
import sys

sel = selectors.DefaultSelector()
unsent = {}  # conn -> the part of an echo a short send left over


def close(conn):
    sel.unregister(conn)
    conn.close()
    unsent.pop(conn, None)


def echo(conn, data):
    """Sends what it can; keeps the rest. False when conn was closed."""
    try:
        sent = conn.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        close(conn)
        return False
    if sent < len(data):
        unsent[conn] = data[sent:]
    else:
        unsent.pop(conn, None)
    return True


def write(conn, mask):
    if echo(conn, unsent[conn]) and conn not in unsent:
        sel.modify(conn, selectors.EVENT_READ, read)


def read(conn, mask):
    try:
        data = conn.recv(1000)  # Should be ready
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if data:
        if echo(conn, data) and conn in unsent:
            sel.modify(conn, selectors.EVENT_WRITE, write)
    else:
        close(conn)


def accept(sock, mask):
    try:
        conn, addr = sock.accept()  # Should be ready
    except BlockingIOError:
        return
    conn.setblocking(False)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as ours
    sel.register(conn, selectors.EVENT_READ, read)


def stop(signum, frame):
    sys.exit(0)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.stderr.write("usage: py_selectors_echo.py PORT\n")
        sys.exit(2)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(sys.argv[1])))
    # SOMAXCONN, not the seed's listen(100): on Linux a full backlog drops
    # SYNs, which clients retry only after 1 s.
    sock.listen(socket.SOMAXCONN)
    sock.setblocking(False)
    sel.register(sock, selectors.EVENT_READ, accept)
    print("py_selectors_echo listening on 127.0.0.1:%s" % sys.argv[1], flush=True)
    while True:
        events = sel.select()
        for key, mask in events:
            callback = key.data
            callback(key.fileobj, mask)


if __name__ == "__main__":
    main()
