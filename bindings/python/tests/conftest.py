"""Paths shared by the tests: the repository root and its shared cases."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT / "tests" / "data" / "shared"
