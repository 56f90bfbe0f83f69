"""py_asyncio_echo.py - Python's asyncio echo server, protocol-based (the
fast way: data_received writes the chunk straight back), on uvloop when it
can be imported (Debian's python3-uvloop) and on asyncio's own loop
otherwise; the first line printed says which.  SIGTERM or SIGINT closes
the server and exits 0.

Usage: /usr/bin/python3 bench/py_asyncio_echo.py PORT [--no-uvloop]
"""
import asyncio
import signal
import socket
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(port, flavour):
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set_result, None)
    # The platform's largest backlog, as every server of the benchmark.
    server = await loop.create_server(Echo, "127.0.0.1", port,
                                      backlog=socket.SOMAXCONN)
    print("py_asyncio_echo (%s) listening on 127.0.0.1:%d" % (flavour, port), flush=True)
    await stopped
    server.close()


def main():
    args = sys.argv[1:]
    use_uvloop = "--no-uvloop" not in args
    args = [a for a in args if a != "--no-uvloop"]
    if len(args) != 1 or not args[0].isdigit():
        sys.stderr.write("usage: py_asyncio_echo.py PORT [--no-uvloop]\n")
        sys.exit(2)
    flavour = "asyncio"
    if use_uvloop:
        try:
            import uvloop
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            flavour = "uvloop"
        except ImportError:
            pass
    asyncio.run(serve(int(args[0]), flavour))
    sys.exit(0)


if __name__ == "__main__":
    main()
