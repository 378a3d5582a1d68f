"""`make test-busy`: the whole suite with two CPU-bound processes running beside it.

The suite must stay green on a busy machine (limits in tests are generous timeouts; speed is for
`make bench`). Prints the suite's wall time and exits with pytest's code.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

BURNERS = 2  # one per core of the 2-core machines the course runs on


def burn() -> None:
    """Spin forever: a student's training run, another grader, a browser."""
    while True:
        pass


def main(pytest_args: list[str]) -> int:
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(BURNERS)]
    for burner in burners:
        burner.start()
    start = time.perf_counter()
    try:
        code = subprocess.run([sys.executable, "-m", "pytest", *pytest_args]).returncode
    finally:
        for burner in burners:
            burner.terminate()
    print(f"suite beside {BURNERS} CPU-bound processes: {time.perf_counter() - start:.0f} s, exit {code}")
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
