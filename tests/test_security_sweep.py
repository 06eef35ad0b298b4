"""bench/security_sweep.py (issue 9, F): its judgements, and that it only probes
this machine. The sweep itself runs against a live instance (see its docstring)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import security_sweep  # noqa: E402


@pytest.mark.parametrize("location", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                      "/%2F%2Fevil.example", "/%252F%252Fevil.example",
                                      "/\t/evil.example", "javascript:alert(1)"])
def test_offsite_locations_are_caught(location):
    assert security_sweep.offsite(location)


@pytest.mark.parametrize("location", ["/", "/admin/", "/records/?page=2", ""])
def test_local_locations_pass(location):
    assert not security_sweep.offsite(location)


def test_only_loopback_instances_are_probed():
    assert security_sweep.loopback("http://127.0.0.1:8000")
    assert security_sweep.loopback("http://[::1]:8000") and security_sweep.loopback("http://localhost")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "security_sweep.py"),
                           "http://portal.example.edu.cn"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "only an instance on this machine" in done.stderr
