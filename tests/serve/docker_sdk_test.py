"""Placeholder replaced by the python3-docker SDK test."""
import sys
print("FAIL: not written yet", file=sys.stderr)
sys.exit(1)
