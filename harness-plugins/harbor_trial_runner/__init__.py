"""The trial runner: one long-lived process per execution host that imports Harbor once and runs
each attempt as a Harbor ``Trial`` in-process, as ``harbor run -n C`` and ``harbor serve`` do.

Started by the worker under the supervisor (src/hosts/supervise.sh), detached, so that it and its
attempts outlive the worker; driven over a Unix socket (server.py). See docs/warm-harness.md.
"""
