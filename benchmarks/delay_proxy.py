"""A TCP proxy on loopback that delays every byte by a fixed time each way,
to stand for the network between an app and its Redis server.

    python benchmarks/delay_proxy.py --delay-ms 0.25 --target 127.0.0.1:6379

Each direction of each connection has a reader thread, which stamps what it
reads with the time it arrived, and a sender thread, which sends it on once
``delay`` has passed since. Delays pipeline as on a real link: bytes sent
back to back arrive back to back, each ``delay`` late.
:meth:`DelayProxy.round_trip` measures what a round trip really costs
through the proxy: the delays plus the proxy's own work.
"""

from __future__ import annotations

import argparse
import queue
import socket
import threading
import time
import typing as t


class DelayProxy:
    """Listens on a free loopback port and forwards to ``target``.

    :param target: ``(host, port)`` of the server.
    :param delay: Seconds added in each direction.
    """

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target = target
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sockets += [client, server]
            self._pipe(client, server)
            self._pipe(server, client)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                chunks.put((time.perf_counter() + self.delay, data))
                if not data:
                    return

        def send() -> None:
            while True:
                due, data = chunks.get()
                # Sleep most of the wait, then spin: sleeping the whole
                # wait would oversleep by tens of microseconds.
                wait = due - time.perf_counter()
                if wait > 2e-4:
                    time.sleep(wait - 2e-4)
                while time.perf_counter() < due:
                    pass
                if not data:
                    _shutdown(sink)
                    return
                try:
                    sink.sendall(data)
                except OSError:
                    _shutdown(source)
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=send, daemon=True).start()

    def round_trip(self, count: int = 200) -> float:
        """The median time of a ``PING`` through the proxy, in seconds."""
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            times = []
            for _ in range(count):
                start = time.perf_counter()
                sock.sendall(b"PING\r\n")
                sock.recv(64)
                times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    def close(self) -> None:
        """Stop listening and close every connection."""
        self.closed = True
        self.listener.close()
        for sock in self.sockets:
            _shutdown(sock)
            sock.close()

    def __enter__(self) -> DelayProxy:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=0.25)
    parser.add_argument("--target", default="127.0.0.1:6379")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    with DelayProxy((host, int(port)), args.delay_ms / 1000) as proxy:
        print(f"127.0.0.1:{proxy.port} -> {args.target}, +{args.delay_ms} ms each way")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
