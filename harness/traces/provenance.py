"""Where a trace came from: versions, platform, date. Stored next to every reference trace."""
from __future__ import annotations

import ctypes
import datetime
import glob
import os
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from harness import __version__


@lru_cache(maxsize=1)
def gsl_version() -> str:
    """The GSL that the NEST wheel bundles (its own copy, not the system's): read from the library."""
    try:
        spec = metadata.distribution("nest-simulator")
        libs = glob.glob(str(Path(spec.locate_file("nest_simulator.libs")) / "libgsl-*.so*"))
        lib = ctypes.CDLL(libs[0])
        return ctypes.c_char_p.in_dll(lib, "gsl_version").value.decode()
    except Exception:  # provenance must never stop a run; "unknown" is the honest record
        return "unknown"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=1)
def git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def platform_info() -> dict:
    libc, libc_version = platform.libc_ver()
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "libc": f"{libc} {libc_version}".strip(),
        "cpu_count": os.cpu_count(),
    }


def machine_description() -> str:
    """The CPU as /proc/cpuinfo names it, its widest vector unit and its core count: what the timings depend
    on (and NumPy's exp, which differs by 1 ulp on AVX-512). Recorded beside numbers, never relied on."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = set(info.get("flags", "").split())
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    family = f"family {info['cpu family']} model {info['model']}, " if "cpu family" in info else ""
    return f"{info.get('model name', platform.processor() or 'unknown CPU')} ({family}{isa}), {os.cpu_count()} cores"


def base_provenance() -> dict:
    return {
        "harness_version": __version__,
        "harness_commit": git_commit(),
        "numpy_version": package_version("numpy"),
        "platform": platform_info(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
