"""`python -m studbook.daemon.policy_check FILE`: what `studbook policy check` runs, offline.

It loads the file exactly as a daemon loads its policy at start-up, so a pull request that
changes a policy gets the errors the daemon would give, before any daemon reads it.
Exit 0 when the policy is valid, 7 when it is not (the CLI's "invalid argument").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.domain.errors import InvalidArgument

EXIT_INVALID = 7


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="studbook policy check", description="Check a policy file as a daemon would load it."
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    try:
        state = PolicyStore(args.file).state()
    except InvalidArgument as exc:
        if args.json:
            print(json.dumps({"file": str(args.file), "valid": False, "reason": exc.reason, "error": exc.message}))
        else:
            print(f"studbook: {exc.message} [{exc.reason}]", file=sys.stderr)
        return EXIT_INVALID
    data = {"file": str(args.file), "valid": True, "sha256": state.sha256, "model_rules": state.model_rules,
            "stage_gates": state.stage_gates, "monitors": state.monitors}  # fmt: skip
    if args.json:
        print(json.dumps(data))
    else:
        print(f"{args.file}: a valid policy ({state.model_rules} model rules, {state.stage_gates} stage gates, "
              f"{state.monitors} monitor{'s' * (state.monitors != 1)}; "
              f"sha256 {state.sha256[:12]})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
