"""The CLI floor: parse every env.py under a folder once with libcst, timing only the parses.

Usage: cli_floor.py FOLDER  ->  one JSON line on stdout:
  {"files": N, "parse_ms_sum": ..., "parse_ms_median": ..., "import_libcst_ms": ..., "wall_ms": ...}

`parse_ms_sum` is the "1,000 x one libcst parse" of the CLI budget (reading the files and
importing libcst are not in it; both are reported separately).
"""

import json
import os
import statistics
import sys
import time

t_start = time.perf_counter()
folder = sys.argv[1]
paths = []
for base, dirs, files in os.walk(folder):
    dirs.sort()
    if "env.py" in files:
        paths.append(os.path.join(base, "env.py"))
paths.sort()
sources = []
for p in paths:
    with open(p, encoding="utf-8") as f:
        sources.append(f.read())

t = time.perf_counter()
import libcst  # noqa: E402

import_ms = (time.perf_counter() - t) * 1000

times = []
for src in sources:
    t = time.perf_counter()
    libcst.parse_module(src)
    times.append((time.perf_counter() - t) * 1000)

print(
    json.dumps(
        {
            "files": len(times),
            "parse_ms_sum": round(sum(times), 3),
            "parse_ms_median": round(statistics.median(times), 4) if times else None,
            "import_libcst_ms": round(import_ms, 3),
            "wall_ms": round((time.perf_counter() - t_start) * 1000, 3),
        }
    )
)
