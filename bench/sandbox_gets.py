"""How many simple GETs per second the sandbox answers on loopback (goal: at least 1,000).

The sandbox runs in its own process, as it does under ``exception-bot sandbox serve``; the
client sends keep-alive GETs of one issue from a few threads with ``http.client`` (requests'
own overhead would measure the client, not the server).

Run: python bench/sandbox_gets.py [--seconds 5] [--threads 2]
Prints one line, e.g. "sandbox: 1800 GET/s (2 threads, 5.0 s, keep-alive; server CPU 260 us per
GET) ok". The CPU time per GET is the steadier figure when other work shares the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection

from exception_bot.sandbox import DEMO, Sandbox

GOAL = 1000
ISSUE = "/api/v4/projects/security%2Fexceptions/issues/1"


def serve(pipe: Connection) -> None:
    with Sandbox(DEMO) as sandbox:
        token = sandbox.token("exception-bot")
        project = sandbox.store.project("security/exceptions")
        assert project is not None
        sandbox.store.create_issue(project, sandbox.store.users[1], "bench", "- [ ] a")
        pipe.send((sandbox.url, token))
        started = time.process_time()
        pipe.recv()  # wait until the client is done
        pipe.send(time.process_time() - started)


def hammer(host: str, port: int, token: str, stop: float, counts: list[int]) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    done = 0
    while time.monotonic() < stop:
        connection.request("GET", ISSUE, headers={"PRIVATE-TOKEN": token})
        response = connection.getresponse()
        json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"sandbox answered {response.status}")
        done += 1
    counts.append(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(theirs,), daemon=True)
    server.start()
    url, token = ours.recv()
    host, port = url.removeprefix("http://").split(":")
    counts: list[int] = []
    stop = time.monotonic() + args.seconds
    threads = [
        threading.Thread(target=hammer, args=(host, int(port), token, stop, counts))
        for _ in range(args.threads)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ours.send("done")
    cpu_seconds = float(ours.recv())
    server.join(timeout=10)
    rate = sum(counts) / elapsed
    cpu_us = cpu_seconds / max(1, sum(counts)) * 1e6
    verdict = "ok" if rate >= GOAL else f"BELOW the goal of {GOAL}"
    print(
        f"sandbox: {rate:.0f} GET/s ({args.threads} threads, {elapsed:.1f} s, keep-alive; "
        f"server CPU {cpu_us:.0f} us per GET) {verdict}"
    )


if __name__ == "__main__":
    main()
