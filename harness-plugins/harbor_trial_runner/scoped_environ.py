"""A process environment that each attempt sees with its own secrets in it.

Many owners' trials share one runner process. Harbor and LiteLLM look an agent's provider key up in
``os.environ`` (after the agent's own ``env``; Harbor's ``agent_auth_resolution``), as they would in
a ``harbor run`` started with the key in its environment. This module replaces ``os.environ`` with
a mapping that answers, for code running in an attempt's asyncio task (and the tasks and
``asyncio.to_thread`` calls it starts, which copy its context), the runner's own environment with
that attempt's secrets laid over it. Code of another attempt sees its own secrets, or none.

What it does not do, on purpose:
- The process's C-level environment, which subprocesses started without an explicit ``env``
  inherit, never holds a secret: ``__setitem__`` writes through to it, but secrets only live in
  the overlay.
- Threads started with ``threading.Thread`` (not ``asyncio.to_thread``) run in an empty context
  and see no secret.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar

_overlay: ContextVar[Mapping[str, str] | None] = ContextVar("harbor_runner_secret_env", default=None)


class ScopedEnviron(MutableMapping[str, str]):
    """``os.environ`` with the current context's secrets laid over it."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self._base = base

    def __getitem__(self, key: str) -> str:
        overlay = _overlay.get()
        if overlay is not None and key in overlay:
            return overlay[key]
        return self._base[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._base[key] = value

    def __delitem__(self, key: str) -> None:
        del self._base[key]

    def __iter__(self) -> Iterator[str]:
        overlay = _overlay.get() or {}
        yield from overlay
        for key in self._base:
            if key not in overlay:
                yield key

    def __len__(self) -> int:
        overlay = _overlay.get() or {}
        return len(overlay) + sum(1 for key in self._base if key not in overlay)

    def __contains__(self, key: object) -> bool:
        overlay = _overlay.get()
        return (overlay is not None and key in overlay) or key in self._base

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        # Never the values: a repr ends up in logs and tracebacks.
        return f"ScopedEnviron({sorted(self)!r})"


def install() -> None:
    """Puts the scoped mapping in place of ``os.environ`` (``os.getenv`` reads it too). Idempotent."""
    if not isinstance(os.environ, ScopedEnviron):
        os.environ = ScopedEnviron(os.environ)  # type: ignore[assignment]


def enter(secrets: Mapping[str, str]) -> None:
    """Lays ``secrets`` over the environment for the current context (an attempt's task)."""
    _overlay.set(dict(secrets))
