"""Reliability of lle's cache folder: its contents are hints, never authority (issue 24).

Item 6: a forged component description (``components-<package>.json``) cannot make lle skip
trained weights; whether a model needs weights is read from its class. Item 1: nothing is
loaded from a cache folder others could write to, and a compiled library is loaded only when
it is the one lle built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lle_core import manifest
from lle_core.cli.manifests import registered_paths

CLI = "import sys; from lle_core.cli.main import main; sys.exit(main(sys.argv[1:]))"
POSIX = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="needs POSIX owners and modes")


def _lle(cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLE_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", CLI, *argv], env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def _photo(path: Path) -> Path:
    arr = (np.random.default_rng(0).random((24, 32, 3)) * 60).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def _forge(cache: Path, package: str, change: dict[str, dict[str, object]]) -> Path:
    """Write a private, fingerprint-valid cache file whose entries are changed as given.

    ``change`` maps a ``"module:Class"`` path to capability values (``"summary"`` replaces
    the summary). The fingerprint is computed the way lle computes it, so the file is what
    an attacker who can write the cache folder (or read the sources) can produce.
    """
    entries = manifest.describe_for_shipping(registered_paths()[package])
    for path, values in change.items():
        item = entries[path]
        for key, value in values.items():
            if key == "summary":
                item["summary"] = value
            else:
                item["capabilities"][key] = value
    cache.mkdir(mode=0o700, exist_ok=True)
    target = cache / f"components-{package}.json"
    target.write_text(json.dumps({"format": manifest.FORMAT,
                                  "fingerprint": manifest.fingerprint(package),
                                  "entries": entries}))
    target.chmod(0o600)
    return target


UNET = "lle_core.models.unet_small:UNetSmall"
HF2 = "lle_hf2.model:HF2UNet"


def test_a_forged_needs_weights_false_cannot_skip_the_shipped_weights(tmp_path):
    # Issue 24, case: the cache said needs_weights: false, so --model core.unet_small skipped
    # core.lol and wrote its (random-weight) result with one warning.
    cache = tmp_path / "cache"
    forged = _forge(cache, "lle_core", {UNET: {"needs_weights": False}})
    photo = _photo(tmp_path / "p.png")
    done = _lle(cache, "enhance", str(photo), "-o", str(tmp_path / "out"),
                "--model", "core.unet_small")
    assert done.returncode == 0, done.stderr
    assert "using shipped weights core.lol" in done.stderr, done.stderr
    assert "random weights" not in done.stderr
    # the description the class gives replaced the forged one
    entry = json.loads(forged.read_text())["entries"][UNET]
    assert entry["capabilities"]["needs_weights"] is True


def test_a_forged_needs_weights_false_never_builds_a_model_without_weights(tmp_path):
    # Issue 24, case: hf2.model built with its ImageNet prior and tried to reach the model hub.
    cache = tmp_path / "cache"
    _forge(cache, "lle_hf2", {HF2: {"needs_weights": False}})
    code = (
        "from lle_core.inference.loading import model_for_inference\n"
        "from lle_core.registry import registries\n"
        "from lle_core.errors import WeightsError\n"
        "print('NEEDS', registries()['model'].get('hf2.model').capabilities.needs_weights)\n"
        "try:\n"
        "    model_for_inference('hf2.model')\n"
        "    print('BUILT')\n"
        "except WeightsError as err:\n"
        "    print('REFUSED', 'needs trained weights' in str(err))\n"
    )
    env = {**os.environ, "LLE_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert "NEEDS True" in done.stdout and "REFUSED True" in done.stdout, done.stdout + done.stderr


def test_a_forged_description_shows_in_listing_only_until_the_class_is_used(tmp_path):
    cache = tmp_path / "cache"
    forged = _forge(cache, "lle_core", {UNET: {"summary": "FORGED SUMMARY"}})
    listed = _lle(cache, "list", "model")
    assert "FORGED SUMMARY" in listed.stdout  # listing reads the hint (no import)...
    shown = _lle(cache, "show", "core.unet_small")
    assert shown.returncode == 0 and "FORGED" not in shown.stdout  # ...nothing else does
    assert json.loads(forged.read_text())["entries"][UNET]["summary"] != "FORGED SUMMARY"
    assert "FORGED" not in _lle(cache, "list", "model").stdout


@POSIX
@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_cache_file_others_can_write_is_ignored(tmp_path, where):
    cache = tmp_path / "cache"
    forged = _forge(cache, "lle_core", {UNET: {"summary": "FORGED SUMMARY"}})
    (forged if where == "file" else cache).chmod(0o666 if where == "file" else 0o777)
    listed = _lle(cache, "list", "model")
    assert listed.returncode == 0, listed.stderr
    assert "core.unet_small" in listed.stdout and "FORGED" not in listed.stdout


def test_the_fingerprint_follows_the_content_not_size_and_time(tmp_path, monkeypatch):
    package = tmp_path / "lle_fp_probe"
    package.mkdir()
    source = package / "__init__.py"
    source.write_text("A = 1\n")
    before_stat = source.stat()
    monkeypatch.syspath_prepend(str(tmp_path))
    before = manifest.fingerprint("lle_fp_probe")
    source.write_text("A = 2\n")  # same size...
    os.utime(source, ns=(before_stat.st_atime_ns, before_stat.st_mtime_ns))  # ...same time
    assert source.stat().st_size == before_stat.st_size
    assert manifest.fingerprint("lle_fp_probe") != before


@POSIX
def test_cache_files_are_private_under_any_umask(tmp_path, monkeypatch):
    cache = tmp_path / "a" / "cache"
    monkeypatch.setenv("LLE_CACHE_DIR", str(cache))
    monkeypatch.setattr(manifest, "SHIPPED", "no-such-file.json")
    manifest.forget()
    old = os.umask(0)
    try:
        manifest.describe_path(registered_paths()["lle_auxnet"][0])
    finally:
        os.umask(old)
        manifest.forget()
    written = cache / "components-lle_auxnet.json"
    assert written.stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700


# -- item 1: nothing is loaded from the kernel cache that lle did not build --------------------

ADDER = "int lle_add(int a, int b) { return a + b; }\n"
PLANTED = textwrap.dedent(
    """
    #include <stdio.h>
    #include <stdlib.h>
    __attribute__((constructor)) static void planted(void) {
        const char *marker = getenv("LLE_TEST_PLANT_MARKER");
        FILE *f = marker ? fopen(marker, "w") : NULL;
        if (f) { fputs("the planted library ran\\n", f); fclose(f); }
    }
    int lle_add(int a, int b) { return -1; }
    int auxnet_scratch_floats(int a, int b, int c, int d) { return -1; }
    """
)
LOAD = textwrap.dedent(
    """
    import ctypes, os, sys
    if len(sys.argv) > 2:
        os.umask(int(sys.argv[2], 8))
    from lle_core import native
    lib = native.load_kernel("adder", sys.argv[1])
    if lib is None:
        print("NONE", native.kernel_problem("adder"))
    else:
        lib.lle_add.restype = ctypes.c_int
        print("ADD", lib.lle_add(2, 3))
    """
)
OTHER_USER = 65534  # "nobody"
AS_ROOT = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                             reason="planting a file as another user needs root")


def _compiler() -> str:
    from lle_core import native

    found = native.find_compiler()
    if found is None:
        pytest.skip("no C compiler: no kernel is ever built or loaded")
    return found


class _Kernels:
    """A fresh cache, a kernel source, a planted library and a marker its constructor writes."""

    def __init__(self, root: Path) -> None:
        self.cache = root / "cache"
        self.folder = self.cache / "kernels"
        self.source = root / "adder.c"
        self.source.write_text(ADDER)
        self.marker = root / "planted-ran"
        self.planted = root / "planted.so"
        c_file = root / "planted.c"
        c_file.write_text(PLANTED)
        subprocess.run([_compiler(), "-shared", "-fPIC", "-o", str(self.planted), str(c_file)],
                       check=True, capture_output=True, timeout=120)

    def load(self, umask: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LLE_CACHE_DIR": str(self.cache),
               "LLE_TEST_PLANT_MARKER": str(self.marker)}
        env.pop("LLE_NATIVE", None)
        argv = [sys.executable, "-c", LOAD, str(self.source), *([umask] if umask else [])]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300,
                              check=False)

    def libraries(self) -> list[Path]:
        return sorted(self.folder.glob("adder-*.so"))

    def built(self) -> list[Path]:
        """Build the kernel once (as lle does) and return its library files."""
        done = self.load()
        assert "ADD 5" in done.stdout, done.stdout + done.stderr
        found = self.libraries()
        assert found
        return found


def _assert_not_loaded(kernels: _Kernels, done: subprocess.CompletedProcess[str]) -> None:
    assert not kernels.marker.exists(), "the planted library was loaded: its constructor ran"
    assert "ADD -1" not in done.stdout, done.stdout


@pytest.mark.parametrize("how", ["without a record", "with the old record", "as a symlink"])
def test_a_library_planted_in_the_kernel_cache_is_not_loaded_but_rebuilt(tmp_path, how):
    # Issue 24, case: a shared library planted under the expected name was loaded, and its
    # constructor ran.
    kernels = _Kernels(tmp_path)
    for library in kernels.built():
        if how == "as a symlink":
            library.unlink()
            library.symlink_to(kernels.planted)
        else:
            shutil.copyfile(kernels.planted, library)
        if how == "without a record":
            for record in library.parent.glob(library.name + ".*"):
                record.unlink()
    done = kernels.load()
    _assert_not_loaded(kernels, done)
    assert "ADD 5" in done.stdout, done.stdout + done.stderr  # rebuilt and loaded
    assert all(not p.is_symlink() and p.read_bytes() != kernels.planted.read_bytes()
               for p in kernels.libraries())


@POSIX
def test_the_kernel_folder_and_files_are_private_under_umask_000(tmp_path):
    # Issue 24, case: lle created the kernel folder 0777 under umask 000.
    kernels = _Kernels(tmp_path)
    done = kernels.load(umask="000")
    assert "ADD 5" in done.stdout, done.stdout + done.stderr
    assert kernels.folder.stat().st_mode & 0o777 == 0o700
    assert kernels.cache.stat().st_mode & 0o777 == 0o700
    for path in kernels.folder.iterdir():
        assert path.stat().st_mode & 0o022 == 0, (path, oct(path.stat().st_mode))


@POSIX
def test_a_kernel_folder_others_could_write_is_made_private_and_nothing_planted_loads(tmp_path):
    # Issue 24, case: the folder lle created 0777 under umask 000 (by an older lle) holds a
    # library someone else put there.
    kernels = _Kernels(tmp_path)
    for library in kernels.built():
        shutil.copyfile(kernels.planted, library)
    kernels.folder.chmod(0o777)
    done = kernels.load()
    _assert_not_loaded(kernels, done)
    assert "ADD 5" in done.stdout, done.stdout + done.stderr  # rebuilt
    assert kernels.folder.stat().st_mode & 0o777 == 0o700


def test_a_kernel_folder_lle_cannot_use_is_refused_in_one_line(tmp_path):
    kernels = _Kernels(tmp_path)
    kernels.cache.mkdir(mode=0o700)
    kernels.folder.write_text("not a folder")
    done = kernels.load()
    assert "NONE" in done.stdout and str(kernels.folder) in done.stdout, done.stdout
    assert "is not a folder" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one line, no traceback


@AS_ROOT
@pytest.mark.parametrize("what", ["library", "folder"])
def test_a_library_or_folder_of_another_user_is_never_loaded(tmp_path, what):
    # Issue 24, cases: planted by another user in a shared cache folder; another user renamed a
    # library over the compiled one. The planted file even comes with a matching record, so
    # only its owner gives it away.
    kernels = _Kernels(tmp_path)
    for library in kernels.built():
        foreign = library.with_name(".foreign.tmp")
        shutil.copyfile(kernels.planted, foreign)
        os.chown(foreign, OTHER_USER, OTHER_USER)
        os.replace(foreign, library)
        digest = hashlib.sha256(library.read_bytes()).hexdigest()
        for record in library.parent.glob(library.name + ".*"):
            record.write_text(digest + "\n")
    if what == "folder":
        os.chown(kernels.folder, OTHER_USER, OTHER_USER)
    done = kernels.load()
    _assert_not_loaded(kernels, done)
    if what == "folder":
        assert "NONE" in done.stdout and "owned by user id 65534" in done.stdout, done.stdout
    else:
        assert "ADD 5" in done.stdout, done.stdout + done.stderr  # rebuilt over it


def test_lle_enhance_with_auxnet_never_runs_a_planted_kernel(tmp_path):
    # Issue 24, case as reported: `lle enhance --model auxnet` ran the planted constructor.
    kernels = _Kernels(tmp_path)
    photo = _photo(tmp_path / "p.png")
    env_cache = kernels.cache
    first = _lle(env_cache, "enhance", str(photo), "-o", str(tmp_path / "a"), "--model", "auxnet")
    assert first.returncode == 0, first.stderr
    planted = sorted((env_cache / "kernels").glob("auxnet-*.so"))
    if not planted:
        pytest.skip("the AuxNet kernel was not built on this machine (no OpenMP/compiler)")
    for library in planted:
        shutil.copyfile(kernels.planted, library)
    again = subprocess.run(
        [sys.executable, "-c", CLI, "enhance", str(photo), "-o", str(tmp_path / "b"),
         "--model", "auxnet"],
        env={**os.environ, "LLE_CACHE_DIR": str(env_cache), "HF_HUB_OFFLINE": "1",
             "LLE_TEST_PLANT_MARKER": str(kernels.marker)},
        capture_output=True, text=True, timeout=600, check=False)
    assert not kernels.marker.exists(), "the planted library was loaded: its constructor ran"
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "b" / "p.png").read_bytes() == (tmp_path / "a" / "p.png").read_bytes()


@POSIX
def test_a_cache_folder_the_user_named_and_others_can_write_is_not_used_nor_changed(
        tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("LLE_CACHE_DIR", str(shared))
    monkeypatch.setattr(manifest, "SHIPPED", "no-such-file.json")
    manifest.forget()
    try:
        manifest.describe_path(registered_paths()["lle_auxnet"][0])
    finally:
        manifest.forget()
    assert list(shared.iterdir()) == []  # nothing cached where others could change it
    assert shared.stat().st_mode & 0o777 == 0o777  # and the user's folder left as it was


@POSIX
@pytest.mark.parametrize("folder_ok", [True, False])
def test_torch_compile_gets_a_private_cache_folder_or_is_skipped(tmp_path, monkeypatch, folder_ok):
    # Inductor dlopens what it finds in <tmp>/torchinductor_<user>, a folder another user can
    # create first; the "compile" fast path points it at lle's private cache folder instead.
    import torch
    from torch import nn

    from lle_core.inference import fast
    from lle_core.registry import Capabilities

    cache = tmp_path / "cache"
    monkeypatch.setenv("LLE_CACHE_DIR", str(cache))
    monkeypatch.delenv(fast.INDUCTOR_CACHE_ENV, raising=False)
    if not folder_ok:
        cache.mkdir(mode=0o700)
        (cache / "inductor").write_text("not a folder")
    seen: list[str | None] = []
    monkeypatch.setattr(torch, "compile",
                        lambda m: seen.append(os.environ.get(fast.INDUCTOR_CACHE_ENV)) or m)
    model = nn.Conv2d(3, 3, 1).eval()
    fast.fast_model(model, Capabilities(fast_path=("compile",)), torch.device("cpu"), plain=False)
    if folder_ok:
        assert seen == [str(cache / "inductor")]
        assert (cache / "inductor").stat().st_mode & 0o777 == 0o700
    else:
        assert seen == []  # compile skipped: nothing is loaded from an unusable folder
