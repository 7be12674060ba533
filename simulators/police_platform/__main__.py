"""Run the police-platform simulator on its own: ``python -m simulators.police_platform``."""

from __future__ import annotations

import argparse
import threading

from simulators.police_platform import PolicePlatformSimulator


def main() -> None:
    parser = argparse.ArgumentParser(description="Police platform vehicle query simulator")
    parser.add_argument("--port", type=int, default=7301)
    parser.add_argument("--token", default="sim-token")
    args = parser.parse_args()
    simulator = PolicePlatformSimulator(token=args.token, port=args.port).start()
    print(f"police platform simulator at {simulator.url} (token {args.token})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        simulator.stop()


if __name__ == "__main__":
    main()
