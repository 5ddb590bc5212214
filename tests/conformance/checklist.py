"""The HTTP/1.1 conformance checklist: every server requirement of RFC 9112 sections 2-9 and of
RFC 9110 that applies to this service, one case each, as raw request bytes and the behaviour the
RFC requires (or, where it leaves a choice, the choice this service made; docs/conformance.md says
why). Data only: test_checklist.py and differential.py send the bytes.

Each case is a fa_test.Case (its fields are described there); fa_test.outcome sends it and
fa_test.judge judges what came back.
"""
from fa_test import Case, req

DATE = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$"
GREETING = rb'^\{"myFavoriteAthlete":"Usain Bolt"\}$'

SMUGGLED = req("GET /smuggled HTTP/1.1")

CASES = [
    # --- RFC 9112 §2: message format -------------------------------------------------------------
    Case("get-origin-form", "9112 §2.1, §3.2.1", "a well-formed request is answered",
         req(), 200, False, headers={"content-length": r"^34$"}, body=GREETING),
    Case("bare-cr-in-field", "9112 §2.2", "a bare CR MUST be rejected or replaced by SP",
         b"GET / HTTP/1.1\r\nHost: test\r\nX: a\rb\r\n\r\n", 400, True),
    Case("bare-lf-in-field", "9112 §2.2", "a bare LF line terminator: MAY be recognised (choice: 400)",
         b"GET / HTTP/1.1\r\nHost: test\r\nX: a\n\r\n", 400, True),
    Case("space-before-first-field", "9112 §2.2",
         "whitespace between the start line and the first field MUST be rejected or the line consumed",
         b"GET / HTTP/1.1\r\n X: a\r\nHost: test\r\n\r\n", 400, True),
    Case("leading-empty-line", "9112 §2.2", "a CRLF before the request line SHOULD be ignored (choice: 400)",
         b"\r\n" + req(), 400, True),
    Case("version-1.0", "9112 §2.3, §9.3", "HTTP/1.0 is answered with HTTP/1.1 and closed (no keep-alive asked)",
         req("GET / HTTP/1.0", host=None), 200, True),
    Case("version-1.0-keep-alive", "9112 §9.3", "HTTP/1.0 with Connection: keep-alive MAY persist (choice: close)",
         req("GET / HTTP/1.0", "Connection: keep-alive", host=None), 200, True),
    Case("version-lowercase", "9112 §2.3", "HTTP-name is case-sensitive: an invalid request line is a 400",
         req("GET / http/1.1"), 400, True),
    Case("version-2.0", "9110 §6.2, §15.6.6", "an unsupported major version: 400 or 505",
         req("GET / HTTP/2.0"), (400, 505), True),
    # --- §3: request line ----------------------------------------------------------------------------
    Case("method-case-sensitive", "9110 §9.1", "methods are case-sensitive: get is not GET (405 + Allow)",
         req("get / HTTP/1.1"), 405, None, headers={"allow": r"^GET, HEAD$"}),
    Case("double-space", "9112 §3", "an invalid request line (two SP) SHOULD be a 400",
         req("GET  / HTTP/1.1"), 400, True),
    Case("tab-separator", "9112 §3", "HTAB is not SP in the request line: 400",
         req("GET\t/ HTTP/1.1"), 400, True),
    Case("space-in-target", "9112 §3.2", "whitespace inside the request-target: 400",
         req("GET /a b HTTP/1.1"), 400, True),
    Case("target-too-long", "9112 §3", "a request-target longer than the server parses: 414",
         req("GET /" + "a" * 5000 + " HTTP/1.1"), 414, True),
    Case("absolute-form", "9112 §3.2.2", "a server MUST accept the absolute-form",
         req("GET http://test/ HTTP/1.1"), 200, False, body=GREETING),
    Case("absolute-form-path", "9112 §3.2.2", "absolute-form: the path is routed as in origin-form",
         req("GET http://test/healthz?x=1 HTTP/1.1"), 200, False, body=rb'^\{"status":"ok"\}$'),
    Case("absolute-form-other-host", "9112 §3.2.2", "absolute-form: Host is ignored for the target's authority",
         req("GET http://other.example/ HTTP/1.1"), 200, False, body=GREETING),
    Case("authority-form-get", "9112 §3.2.3", "authority-form is only for CONNECT: 400 otherwise",
         req("GET test:80 HTTP/1.1"), 400, True),
    Case("asterisk-form-get", "9112 §3.2.4", "asterisk-form is only for OPTIONS: 400 otherwise",
         req("GET * HTTP/1.1"), 400, True),
    Case("options-asterisk", "9110 §9.3.7", "OPTIONS * (choice: not implemented, 405 + Allow)",
         req("OPTIONS * HTTP/1.1"), 405, None, headers={"allow": r"^GET, HEAD$"}),
    Case("connect-authority", "9110 §9.3.6", "CONNECT (choice: not allowed, 405 + Allow)",
         req("CONNECT test:443 HTTP/1.1"), 405, None, headers={"allow": r"^GET, HEAD$"}),
    # Host ------------------------------------------------------------------------------------------
    Case("host-missing", "9112 §3.2", "an HTTP/1.1 request without Host MUST be a 400",
         req(host=None), 400, True),
    Case("host-twice", "9112 §3.2", "more than one Host line MUST be a 400",
         req("GET / HTTP/1.1", "Host: test"), 400, True),
    Case("host-invalid", "9112 §3.2", "a Host with an invalid value MUST be a 400",
         req(host="a b"), 400, True),
    Case("host-invalid-port", "9112 §3.2, 9110 §7.2", "Host's port is digits: otherwise a 400",
         req(host="test:http"), 400, True),
    Case("host-empty", "9110 §7.2", "an empty Host is valid (no authority)", req(host=""), 200, False),
    Case("host-ipv6", "9110 §7.2", "an IP-literal Host is valid", req(host="[::1]:8080"), 200, False),
    Case("host-missing-absolute-form", "9112 §3.2", "absolute-form does not excuse a missing Host",
         req("GET http://test/ HTTP/1.1", host=None), 400, True),
    Case("host-missing-http10", "9112 §3.2", "HTTP/1.0 needs no Host", req("GET / HTTP/1.0", host=None), 200, True),
    # --- §5: field syntax ------------------------------------------------------------------------------
    Case("space-before-colon", "9112 §5.1", "whitespace between field name and colon MUST be a 400",
         req("GET / HTTP/1.1", "X-Test : a"), 400, True),
    Case("empty-field-name", "9110 §5.1", "an empty field name is invalid: 400",
         req("GET / HTTP/1.1", ": a"), 400, True),
    Case("field-without-colon", "9112 §5", "a field line without a colon is invalid: 400",
         req("GET / HTTP/1.1", "X-Test a"), 400, True),
    Case("obs-fold", "9112 §5.2", "obs-fold MUST be rejected or replaced by SP (choice: 400)",
         req("GET / HTTP/1.1", "X-Test: a", " b"), 400, True),
    Case("nul-in-field", "9110 §5.5", "NUL in a field value MUST be rejected or replaced (choice: 400)",
         req("GET / HTTP/1.1", "X-Test: a\x00b"), 400, True),
    Case("empty-field-value", "9110 §5.5", "an empty field value is valid",
         req("GET / HTTP/1.1", "X-Test:"), 200, False),
    Case("obs-text-value", "9110 §5.5", "obs-text (bytes >= 0x80) in a field value is valid",
         req("GET / HTTP/1.1", "X-Test: caf\xe9"), 200, False),
    Case("percent-in-value", "9110 §5.5", "a field value is not percent-decoded: %00 is three characters",
         req("GET / HTTP/1.1", "X-Test: %00"), 200, False),
    Case("field-ows", "9112 §5.1", "OWS around a field value is not part of it", req("GET / HTTP/1.1", "Connection:  close  "),
         200, True),
    # --- §6: message body and framing -------------------------------------------------------------------
    Case("content-length-zero", "9112 §6.3", "Content-Length: 0 is no body; the connection persists",
         req("GET / HTTP/1.1", "Content-Length: 0"), 200, False),
    Case("content-length-body", "9112 §6.3, §9.6", "a body is framed by Content-Length (choice: unread, so close)",
         req("GET / HTTP/1.1", "Content-Length: 5", body=b"hello"), 200, True),
    Case("content-length-invalid", "9112 §6.3", "an invalid Content-Length MUST be a 400 and close",
         req("GET / HTTP/1.1", "Content-Length: abc"), 400, True),
    Case("content-length-negative", "9112 §6.3", "a negative Content-Length is invalid: 400 and close",
         req("GET / HTTP/1.1", "Content-Length: -1"), 400, True),
    Case("content-length-differing", "9110 §8.6, 9112 §6.3", "differing Content-Length values MUST be a 400",
         req("GET / HTTP/1.1", "Content-Length: 1", "Content-Length: 2", body=b"ab"), 400, True),
    Case("content-length-list", "9110 §8.6", "a list of equal Content-Length values MAY be one (choice: 400)",
         req("GET / HTTP/1.1", "Content-Length: 1, 1", body=b"a"), 400, True),
    Case("te-chunked", "9112 §6.1, §7.1", "chunked is understood (choice: unread, so close)",
         req("GET / HTTP/1.1", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"), 200, True),
    Case("te-not-final-chunked", "9112 §6.3", "chunked not last in Transfer-Encoding MUST be a 400 and close",
         req("GET / HTTP/1.1", "Transfer-Encoding: chunked, gzip"), 400, True),
    Case("te-unknown", "9112 §6.1, §6.3", "an unknown transfer coding alone: 400 (chunked is not final)",
         req("GET / HTTP/1.1", "Transfer-Encoding: gzip"), 400, True),
    Case("te-unknown-then-chunked", "9112 §6.1", "a transfer coding not understood SHOULD be a 501",
         req("GET / HTTP/1.1", "Transfer-Encoding: gzip, chunked", body=b"0\r\n\r\n"), 501, True),
    Case("te-and-cl", "9112 §6.1, §6.3", "Transfer-Encoding with Content-Length MAY be rejected, MUST close (choice: 400)",
         req("POST / HTTP/1.1", "Transfer-Encoding: chunked", "Content-Length: 5", body=b"0\r\n\r\n"), 400, True),
    Case("te-http10", "9112 §6.1", "Transfer-Encoding in HTTP/1.0 is faulty framing: close (choice: 400)",
         req("GET / HTTP/1.0", "Transfer-Encoding: chunked", host=None, body=b"0\r\n\r\n"), 400, True),
    Case("smuggled-request-in-body", "9112 §6.3, §11.2", "a body's bytes never become a request",
         req("POST / HTTP/1.1", f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED), 405, None, replies=(405,)),
    # --- §9: connection management ------------------------------------------------------------------------
    Case("connection-close", "9112 §9.6", "Connection: close MUST be honoured: close after the reply",
         req("GET / HTTP/1.1", "Connection: close"), 200, True, headers={"connection": r"^close$"}),
    Case("keep-alive-default", "9112 §9.3", "HTTP/1.1 persists by default", req(), 200, False),
    Case("pipelined", "9112 §9.3.2", "pipelined requests MUST be answered in order",
         req() + req("GET /healthz HTTP/1.1") + req("GET /nope HTTP/1.1"), 200, False, replies=(200, 200, 404)),
    # --- RFC 9110: semantics -------------------------------------------------------------------------------
    Case("date", "9110 §6.6.1", "an origin server with a clock MUST send Date in 2xx, 3xx and 4xx",
         req(), 200, False, headers={"date": DATE}),
    Case("date-on-404", "9110 §6.6.1", "Date on a 4xx too", req("GET /nope HTTP/1.1"), 404, False,
         headers={"date": DATE}),
    Case("date-on-400", "9110 §6.6.1", "Date on a 400 from the parser too", req(host=None), 400, True,
         headers={"date": DATE}),
    # cpp-httplib adds Accept-Ranges to HEAD answers only; GET's have none.
    Case("head", "9110 §9.3.2", "HEAD: the GET's headers, no body", req("HEAD / HTTP/1.1"), 200, False, head=True,
         headers={"content-length": r"^34$", "content-type": r"^application/json$", "accept-ranges": None}),
    Case("post-405-allow", "9110 §15.5.6", "a 405 MUST carry Allow", req("POST / HTTP/1.1"), 405, False,
         headers={"allow": r"^GET, HEAD$"}),
    Case("unknown-method", "9110 §9.1, §15.6.2", "an unknown method SHOULD be a 501 (choice: 405, the contract)",
         req("BREW / HTTP/1.1"), 405, None, headers={"allow": r"^GET, HEAD$"}),
    Case("expect-100-no-body", "9110 §10.1.1", "100-continue with no body: a final answer, no 100 needed",
         req("GET / HTTP/1.1", "Expect: 100-continue"), 200, None),
    Case("expect-unknown", "9110 §10.1.1", "an expectation not understood MAY be a 417 (choice: ignored)",
         req("GET / HTTP/1.1", "Expect: teapot"), (200, 417), None),
    Case("upgrade-h2c", "9110 §7.8", "Upgrade MAY be ignored; never switch to an unrequested protocol",
         req("GET / HTTP/1.1", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAAP__"),
         200, None, headers={"upgrade": None}),
    Case("upgrade-websocket", "9110 §7.8", "a WebSocket Upgrade to a plain resource is not switched",
         req("GET / HTTP/1.1", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), 200, None, headers={"upgrade": None}),
    Case("range-ignored", "9110 §14.2", "a server MAY ignore Range: the whole 200", req("GET / HTTP/1.1", "Range: bytes=0-3"),
         200, False, body=GREETING),
    Case("metrics-not-public", "this service (METRICS_PORT)", "/metrics is not served on the public port", req("GET /metrics HTTP/1.1"),
         404, False),
]

assert len({c.id for c in CASES}) == len(CASES), "duplicate case id"


def corpus_files():
    """The fuzz seed corpus grown from the checklist: tests/fuzz/corpus/conformance-<id> -> bytes."""
    return {f"conformance-{c.id}": c.raw for c in CASES}


if __name__ == "__main__":
    # python3 tests/conformance/checklist.py tests/fuzz/corpus: (re)writes the conformance-* seeds.
    import os
    import sys
    corpus = sys.argv[1]
    for name in os.listdir(corpus):
        if name.startswith("conformance-") and name not in corpus_files():
            os.remove(os.path.join(corpus, name))
    for name, raw in corpus_files().items():
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(raw)
    print(f"{len(CASES)} conformance seeds in {corpus}")
