"""AuxNet's compiled kernel: memory- and UB-clean under sanitizers, one OpenMP runtime in-process.

The sanitizer build compiles ``cpu_kernel.c`` with ``kernel_driver.c`` into one program with
``-fsanitize=address,undefined`` (where the compiler supports it; skipped elsewhere, saying
why) and runs it: every buffer the kernel touches is allocated with exactly the size it asks
for, so any out-of-bounds access or undefined behaviour fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lle_core
from lle_auxnet.cpu_kernel import SOURCE, CpuKernelAuxNet
from lle_core import native
from lle_core.inference import enhance

DRIVER = Path(__file__).with_name("kernel_driver.c")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer")


def _build_sanitized(tmp_path: Path) -> Path:
    """The sanitized driver program, or skip when this compiler cannot build one."""
    compiler = native.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler: the sanitizer build needs one")
    exe = tmp_path / "kernel_driver"
    base = [compiler, "-O1", "-g", "-std=c11", *SANITIZE, "-o", str(exe), str(SOURCE),
            str(DRIVER)]
    for extra in (["-march=native", "-fopenmp"], ["-march=native"], []):
        done = subprocess.run([*base[:1], *extra, *base[1:]], capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode == 0:
            return exe
    pytest.skip(f"{compiler} cannot build with -fsanitize=address,undefined here: "
                f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")


def test_the_kernel_is_clean_under_address_and_undefined_behaviour_sanitizers(tmp_path):
    exe = _build_sanitized(tmp_path)
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
           "UBSAN_OPTIONS": "print_stacktrace=1", "OMP_NUM_THREADS": "2"}
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600, env=env,
                          check=False)
    report = (done.stdout + done.stderr)[-3000:]
    assert done.returncode == 0, report
    assert done.stdout.startswith("ok "), report
    assert int(done.stdout.split()[1]) >= 150  # every size x band count x threads case ran


def _openmp_runtimes() -> set[str]:
    """File names of the OpenMP runtimes mapped into this process."""
    names = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1] if len(line.split()) >= 6 else ""
        name = os.path.basename(path)
        if name.startswith(("libgomp", "libiomp", "libomp")):
            names.add(os.path.realpath(path))
    return names


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_the_kernel_adds_no_second_openmp_runtime(tmp_path, monkeypatch):
    monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
    native.forget_kernels()
    try:
        model = lle_core.create("model", "auxnet.model").eval()
        fast = model.fast_inference(("fold", "native"))
        if not isinstance(fast, CpuKernelAuxNet):
            pytest.skip(f"kernel unavailable here: {native.kernel_problem('auxnet')}")
        before = _openmp_runtimes()
        out = enhance(model, torch.rand(3, 40, 50))  # loads and runs the kernel on 2 threads
        assert out.shape == (3, 40, 50)
        after = _openmp_runtimes()
        assert len(after) <= 1, f"several OpenMP runtimes mapped: {sorted(after)}"
        assert after == before or not before, (before, after)
    finally:
        native.forget_kernels()
