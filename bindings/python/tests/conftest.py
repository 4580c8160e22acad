"""Paths shared by the tests: the repository root, its shared cases and the CLI."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT / "tests" / "data" / "shared"


def escalate_check() -> Path:
    """The `escalate-check` binary: `$ESCALATE_CHECK` (scripts/test passes the one its
    `cargo test` built), else one built here.

    Not `cargo run` in each test: a build of the CLI package alone resolves other
    features than `cargo test` and rebuilds the engine.
    """
    if "ESCALATE_CHECK" in os.environ:
        return Path(os.environ["ESCALATE_CHECK"])
    subprocess.run(["cargo", "build", "-q", "--bin", "escalate-check"], cwd=ROOT, check=True)
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "escalate-check"
