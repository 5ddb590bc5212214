"""Sends a checklist case's raw bytes to a server on 127.0.0.1 and judges what comes back.
Standard library only; every read has a deadline, so a server that wedges fails, never hangs."""
import collections
import re
import socket
import time

from fa_test import Reader, connect

Response = collections.namedtuple("Response", "status headers body")
# responses: what was parsed; after: "open" (a follow-up GET / was answered, its status in
# followup), "closed" (EOF or reset), or "silent" (neither within the deadline); error: why
# parsing stopped early, if it did.
Outcome = collections.namedtuple("Outcome", "responses after followup error")

FOLLOW_UP = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
DEADLINE = 3.0


def exchange(port, case):
    """Sends case.raw on a new connection; reads its responses, then probes the connection."""
    conn = Reader(connect(port, timeout=DEADLINE))
    deadline = time.monotonic() + DEADLINE
    responses, error = [], None
    try:
        try:
            conn.sock.sendall(case.raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            for i in range(len(case.replies or (1,))):
                responses.append(Response(*conn.response(case.head and i == 0, deadline)))
        except EOFError:
            error = "closed before a response" if not responses else "closed before every response"
        except socket.timeout:
            error = "no response within the deadline"
        except ValueError as e:
            error = str(e)
        if conn.eof:
            return Outcome(responses, "closed", None, error)
        # Did the server close? A follow-up request tells at once: answered, or EOF/reset.
        try:
            conn.sock.sendall(FOLLOW_UP)
            status = conn.response(False, time.monotonic() + DEADLINE)[0]
            return Outcome(responses, "open", status, error)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            return Outcome(responses, "closed", None, error)
        except (socket.timeout, ValueError):
            return Outcome(responses, "silent", None, error)
    finally:
        conn.sock.close()


def summary(outcome):
    """What the differential table compares: the statuses, then whether the connection stayed open."""
    statuses = "+".join(str(r.status) for r in outcome.responses) or "none"
    return f"{statuses} {outcome.after}"


def judge(case, outcome):
    """The ways outcome breaks case's requirement (empty: it conforms)."""
    wanted = case.replies or (case.status,)
    problems = []
    if outcome.error and len(outcome.responses) < len(wanted):
        problems.append(outcome.error)
    if not outcome.responses:
        return problems or ["no response"]
    first = outcome.responses[0]
    allowed = case.status if isinstance(case.status, tuple) else (case.status,)
    if first.status not in allowed:
        problems.append(f"status {first.status}, required {case.status}")
    if case.replies and [r.status for r in outcome.responses] != list(case.replies):
        problems.append(f"replies {[r.status for r in outcome.responses]}, required {list(case.replies)}")
    for name, pattern in case.headers.items():
        value = first.headers.get(name)
        if pattern is None and value is not None:
            problems.append(f"{name}: {value!r} must be absent")
        elif pattern is not None and (value is None or not re.search(pattern, value)):
            problems.append(f"{name}: {value!r} does not match {pattern!r}")
    if case.body is not None and not re.search(case.body, first.body):
        problems.append(f"body {first.body[:80]!r} does not match {case.body!r}")
    if case.head and first.body:
        problems.append("a body after a HEAD response")
    if case.close is True and outcome.after != "closed":
        problems.append(f"connection {outcome.after}, must be closed")
    if case.close is False and (outcome.after != "open" or outcome.followup != 200):
        problems.append(f"connection {outcome.after} (follow-up: {outcome.followup}), must stay open")
    return problems
