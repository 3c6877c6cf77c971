"""A stand-in for the OpenRouter API that refuses every request, for provider-error tests.

Test-only. Agents reach it through LiteLLM's OPENROUTER_API_BASE (Harbor Runner's
OPENROUTER_BASE_URL): every POST answers with the given HTTP status and an
OpenRouter-shaped error body, so the agent fails the way it would against the
real service (401: bad key, 429: rate limited, 404: unknown model, 402: no credit).

usage: python fake_openrouter.py --status 401 [--port 0]
Prints the port it listens on (127.0.0.1 only) as the first line of stdout, then
one line per request it refused.
"""

import argparse
import http.server
import json

MESSAGES = {
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    404: "No endpoints found for this model",
    429: "Rate limit exceeded: free-models-per-min",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--status", type=int, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    body = json.dumps(
        {"error": {"message": MESSAGES.get(args.status, "error"), "code": args.status}}
    ).encode()

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(args.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            print(f"refused {self.path} with {args.status}", flush=True)

        do_GET = do_POST

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Refuse)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
