"""A stand-in for the OpenRouter API, for tests of model-driven agents.

Test-only. Agents reach it through LiteLLM's OPENROUTER_API_BASE (Harbor Runner's
OPENROUTER_BASE_URL). Two modes:

- ``--status N`` (N >= 400): every request is refused with that HTTP status and an
  OpenRouter-shaped error body, so the agent fails the way it would against the
  real service (401: bad key, 429: rate limited, 404: unknown model, 402: no credit).
- ``--solve KEYSTROKES``: every request gets a chat completion in the reply format
  of Harbor's Terminus 2 agent that types KEYSTROKES and marks the task complete
  (Terminus asks twice before it stops), with token usage, after ``--delay``
  seconds. A "model" that solves the task, so a run passes through the real agent
  loop and writes a real trajectory.

- ``--by-model KEYSTROKES``: the mode by the request's model: ``…status-N`` refuses
  with N, any other model solves with KEYSTROKES.

In KEYSTROKES, ``{model}`` and ``{api_key}`` become the request's model and the
bearer key it was sent with: a careless model that prints its own key, to test
that the key is scrubbed from everything the run leaves. ``--echo-key`` puts the
key into refusals' messages too, as some providers do.

usage: python fake_openrouter.py (--status 401 | --solve "echo hi > f\n" | --by-model …)
       [--delay 1] [--port 0] [--echo-key]
Prints the port it listens on (127.0.0.1 only) as the first line of stdout, then
one line per request it answered.
"""

import argparse
import http.server
import json
import re
import time

MESSAGES = {
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    404: "No endpoints found for this model",
    429: "Rate limit exceeded: free-models-per-min",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--status", type=int)
    mode.add_argument("--solve")
    mode.add_argument("--by-model")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--echo-key", action="store_true")
    args = parser.parse_args()

    def answer(request: bytes, key: str) -> tuple[int, bytes]:
        """The status and body for one request sent with `key`."""
        status, keystrokes = args.status, args.solve
        model = str(json.loads(request or b"{}").get("model", ""))
        if args.by_model is not None:
            refused = re.search(r"status-(\d{3})$", model)
            status, keystrokes = (int(refused.group(1)), None) if refused else (200, args.by_model)
        if keystrokes is not None:
            keystrokes = keystrokes.replace("{model}", model).replace("{api_key}", key)
            return 200, json.dumps(completion(keystrokes)).encode()
        message = MESSAGES.get(status, "error") + (f" (key {key})" if args.echo_key else "")
        return status, json.dumps({"error": {"message": message, "code": status}}).encode()

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
            key = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
            status, body = answer(self.rfile.read(int(self.headers.get("content-length") or 0)), key)
            if status == 200:
                time.sleep(args.delay)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            print(f"answered {self.path} with {status}", flush=True)

        do_GET = do_POST

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Refuse)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def completion(keystrokes: str) -> dict:
    """An OpenAI-style chat completion whose message is a Terminus 2 reply."""
    reply = {
        "analysis": "The task asks for a file; it does not exist yet.",
        "plan": "Write the file with the expected content, then finish.",
        "commands": [{"keystrokes": keystrokes, "duration": 0.2}],
        "task_complete": True,
    }
    return {
        "id": "gen-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "openai/gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(reply)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280},
    }


if __name__ == "__main__":
    main()
