"""Serve one or all vendor imitations: ``python -m sandbox rediffmail --port 8765``."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from . import VENDORS, RunningSandbox, make_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("vendor", choices=[*VENDORS, "all"])
    parser.add_argument("--port", type=int, help="port (one vendor only; default per vendor)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--settings", default="{}", help="JSON object of vendor settings, e.g. '{\"row_cap\": 500}'"
    )
    args = parser.parse_args(argv)
    vendors = list(VENDORS) if args.vendor == "all" else [args.vendor]
    if args.port and len(vendors) > 1:
        parser.error("--port needs a single vendor")

    running = []
    for vendor in vendors:
        app = make_app(vendor, seed=args.seed, **json.loads(args.settings))
        sandbox = RunningSandbox(app, port=args.port or VENDORS[vendor][2]).__enter__()
        running.append(sandbox)
        print(f"{vendor} sandbox on {sandbox.url}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    for sandbox in running:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
