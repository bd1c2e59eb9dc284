"""Reliability of lle's cache folder: its contents are hints, never authority (issue 24).

Item 6: a forged component description (``components-<package>.json``) cannot make lle skip
trained weights; whether a model needs weights is read from its class. Item 1: nothing is
loaded from a cache folder others could write to, and a compiled library is loaded only when
it is the one lle built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lle_core import manifest

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
    entries = manifest.describe_for_shipping(manifest.registered_paths()[package])
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
        manifest.describe_path(manifest.registered_paths()["lle_auxnet"][0])
    finally:
        os.umask(old)
        manifest.forget()
    written = cache / "components-lle_auxnet.json"
    assert written.stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
