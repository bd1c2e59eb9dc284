"""Shipped pretrained weight sets: export, registration, create(pretrained=...), checksums,
the random-weights warning and the CLI's --model / default choice."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest
import torch

import lle_core
from lle_core.checkpoint import save_weights
from lle_core.cli.main import main
from lle_core.errors import RandomWeightsWarning, WeightsError
from lle_core.io import write_image
from lle_core.registry import Entry, registries
from lle_core.weight_sets import (
    WeightSet,
    default_weight_set,
    export_weight_set,
    find_weight_set,
    shipped_weight_sets,
)

SPEC = {"type": "core.unet_small", "base_width": 4}


@pytest.fixture()
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable package ``lle_fakeweights`` whose folder receives exported weights."""
    root = tmp_path / "site"
    pkg = root / "lle_fakeweights"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(root))
    yield pkg
    sys.modules.pop("lle_fakeweights", None)


def _trained_checkpoint(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(3)
    model = lle_core.create("model", SPEC)
    with torch.no_grad():  # any non-initial weights will do
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = save_weights(tmp_path / "best.safetensors", model,
                        model_spec=lle_core.parse_spec("model", SPEC))
    return path, model


def _export(tmp_path: Path, pkg: Path, storage: str = "float32", **extra: object) -> WeightSet:
    ckpt, _ = _trained_checkpoint(tmp_path)
    fields: dict[str, object] = {
        "data": "toy", "recipe": "none", "budget": "0 steps",
        "metrics": {"psnr": 17.0, "ssim": 0.7}, "mp_per_s": 1.0,
    }
    fields.update(extra)
    return export_weight_set(ckpt, pkg, "toy", storage=storage, **fields)  # type: ignore[arg-type]


def _register(pkg_name: str = "lle_fakeweights") -> None:
    """Make the package's sets the only registered ones (inside ``registries().temporary()``:
    the plugins' real shipped sets would otherwise be found first)."""
    weights = registries()["weights"]
    for entry in weights.entries():
        weights.remove(entry.name)
    for name, ws in shipped_weight_sets(pkg_name).items():
        registries()["weights"].add(Entry("weights", f"core.{name}", ws, plugin="core"))


def _images(folder: Path, n: int = 1) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    paths = []
    for i in range(n):
        p = folder / f"img{i}.png"
        write_image(p, torch.rand(3, 20, 28, generator=g) * 0.3)
        paths.append(p)
    return paths


def test_export_writes_a_checked_record(tmp_path: Path, fake_package: Path) -> None:
    ws = _export(tmp_path, fake_package)
    record = json.loads((fake_package / "weights" / "toy.json").read_text())
    assert record["sha256"] == ws.sha256 and record["file"] == "weights/toy.safetensors"
    assert record["model"]["type"] == "core.unet_small" and record["model"]["base_width"] == 4
    shipped = shipped_weight_sets("lle_fakeweights")["toy"]
    assert shipped.file == "lle_fakeweights:weights/toy.safetensors"
    assert shipped.verify() == fake_package / "weights" / "toy.safetensors"


def test_export_is_atomic_a_failed_write_leaves_the_previous_set(
    tmp_path: Path, fake_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lle_core import files

    first = _export(tmp_path, fake_package)
    folder = fake_package / "weights"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert (folder / "toy.safetensors").stat().st_mode & 0o777 == 0o644

    def crash(handle: object, payload: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_payload", crash)
    with pytest.raises(OSError, match="No space"):
        _export(tmp_path / "again", fake_package, storage="float16")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no temporary left
    assert shipped_weight_sets("lle_fakeweights")["toy"].sha256 == first.sha256


def test_a_plugin_package_weights_are_registered_by_convention(
    tmp_path: Path, fake_package: Path
) -> None:
    """weights/*.json of a plugin's package become <plugin>.<name>; its hook names only classes."""
    import importlib

    from lle_core.plugins import temporary_plugin

    ws = _export(tmp_path, fake_package)
    (fake_package / "hooks.py").write_text(
        "from lle_core.hookspecs import hookimpl\n"
        "LLE_PLUGIN_API = 1\n\n"
        "@hookimpl\n"
        "def lle_register(register):\n"
        "    register('model', 'tiny', 'lle_core.baselines:IdentityEnhancer')\n"
    )
    hooks = importlib.import_module("lle_fakeweights.hooks")
    with temporary_plugin(hooks, plugin_id="fakew") as record:
        assert record.status == "loaded", record.error
        assert "weights:fakew.toy" in record.components
        assert registries()["weights"].get("fakew.toy").resolve_factory().sha256 == ws.sha256
    assert "fakew.toy" not in registries()["weights"]
    sys.modules.pop("lle_fakeweights.hooks", None)


def test_create_pretrained_loads_the_exported_weights(tmp_path: Path, fake_package: Path) -> None:
    _, trained = _trained_checkpoint(tmp_path)
    _export(tmp_path, fake_package)
    with registries().temporary():
        _register()
        model = lle_core.create("model", "core.unet_small", pretrained=True)
        by_name = lle_core.create("model", "core.unet_small", pretrained="core.toy")
    x = torch.rand(1, 3, 24, 24) * 0.3
    with torch.no_grad():
        torch.testing.assert_close(model(x), trained.eval()(x))
        torch.testing.assert_close(by_name(x), model(x))
    assert not model.training


def test_checksum_mismatch_is_a_clear_error(tmp_path: Path, fake_package: Path) -> None:
    _export(tmp_path, fake_package)
    weights = fake_package / "weights" / "toy.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with registries().temporary():
        _register()
        with pytest.raises(WeightsError, match=r"checksum mismatch for .*toy\.safetensors"):
            lle_core.create("model", "core.unet_small", pretrained=True)


def test_pretrained_refuses_another_architecture(tmp_path: Path, fake_package: Path) -> None:
    _export(tmp_path, fake_package)
    with registries().temporary():
        _register()
        with pytest.raises(WeightsError, match="base_width"):
            lle_core.create("model", "core.unet_small", pretrained=True, base_width=8)
        with pytest.raises(WeightsError, match=r"no pretrained weights for 'core\.gamma'"):
            lle_core.create("model", "core.gamma", pretrained=True)


def test_float16_storage_halves_the_file_and_keeps_the_output(
    tmp_path: Path, fake_package: Path
) -> None:
    full = _export(tmp_path, fake_package, storage="float32")
    size32 = (fake_package / full.file).stat().st_size
    half = export_weight_set(_trained_checkpoint(tmp_path)[0], fake_package, "toy16",
                             storage="float16", data="toy", recipe="none", budget="0",
                             metrics={"psnr": 1.0})
    size16 = (fake_package / half.file).stat().st_size
    assert size16 < 0.6 * size32
    with registries().temporary():
        _register()
        m32 = lle_core.create("model", "core.unet_small", pretrained="core.toy")
        m16 = lle_core.create("model", "core.unet_small", pretrained="core.toy16")
    assert next(m16.parameters()).dtype == torch.float32  # cast back on load
    x = torch.rand(1, 3, 32, 32) * 0.3
    with torch.no_grad():
        mse = torch.mean((m32(x) - m16(x)) ** 2)
    assert 10 * torch.log10(1 / mse) > 45  # fp16 rounding changes nothing visible


def test_random_weights_warn_and_loaded_weights_do_not(
    tmp_path: Path, fake_package: Path
) -> None:
    _export(tmp_path, fake_package)
    x = torch.rand(1, 3, 16, 16) * 0.3
    with pytest.warns(RandomWeightsWarning, match="random weights"):
        lle_core.enhance(lle_core.create("model", SPEC), x)
    with registries().temporary():
        _register()
        model = lle_core.create("model", "core.unet_small", pretrained=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RandomWeightsWarning)
        lle_core.enhance(model, x)  # no warning: the weights are loaded
        lle_core.enhance(lle_core.create("model", "core.gamma"), x)  # needs no weights


def test_default_set_prefers_quality_among_fast_sets(tmp_path: Path, fake_package: Path) -> None:
    slow_best = WeightSet(model=SPEC, file="x", sha256="0", data="", recipe="", budget="",
                          metrics={"psnr": 30.0}, mp_per_s=0.01)
    fast = WeightSet(model=SPEC, file="y", sha256="0", data="", recipe="", budget="",
                     metrics={"psnr": 18.0}, mp_per_s=1.0)
    fast_worse = WeightSet(model=SPEC, file="z", sha256="0", data="", recipe="", budget="",
                           metrics={"psnr": 16.0}, mp_per_s=5.0)
    with registries().temporary() as regs:
        for entry in regs["weights"].entries():  # only the three sets below
            regs["weights"].remove(entry.name)
        for name, ws in (("slow", slow_best), ("fast", fast), ("fastworse", fast_worse)):
            regs["weights"].add(Entry("weights", f"core.{name}", ws, plugin="core"))
        assert default_weight_set()[0] == "core.fast"
        assert find_weight_set("core.slow")[1] is slow_best
        assert find_weight_set("core")[0] in {"core.fast", "core.fastworse", "core.slow"}


def test_cli_enhance_uses_the_default_set_and_model_names(
    tmp_path: Path, fake_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _export(tmp_path, fake_package)
    (src,) = _images(tmp_path / "in")
    with registries().temporary():
        _register()
        assert main(["enhance", str(src), "-o", str(tmp_path / "out.png")]) == 0
        err = capsys.readouterr().err
        assert "default shipped weights core.toy" in err
        assert (tmp_path / "out.png").is_file()
        assert main(["enhance", str(src), "-o", str(tmp_path / "b.png"), "--model",
                     "core.unet_small"]) == 0
        assert "using shipped weights core.toy" in capsys.readouterr().err
        # a parameter-free model never picks up a weight set
        assert main(["enhance", str(src), "-o", str(tmp_path / "g.png"), "--model",
                     "core.gamma"]) == 0
        assert "shipped weights" not in capsys.readouterr().err
        assert main(["weights", "--json", "--verify"]) == 0
        rows = json.loads(capsys.readouterr().out)
    (row,) = [r for r in rows if r["name"] == "core.toy"]
    assert row["default"] and row["verified"] and row["metrics"]["psnr"] == 17.0


def test_cli_without_any_weights_says_how_to_get_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (src,) = _images(tmp_path / "in")
    with registries().temporary() as regs:
        for entry in regs["weights"].entries():
            regs["weights"].remove(entry.name)
        assert main(["enhance", str(src), "-o", str(tmp_path / "o.png")]) != 0
    err = capsys.readouterr().err
    assert "no pretrained weights are installed" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


GOOD_PANEL = {f: {"color_ratio": 1.0, "clipping": 0.5, "black_level": 0.05, "border": 1.0}
              for f in ("dicm", "lime", "mef")}


def test_default_set_prefers_sets_that_suit_real_photos() -> None:
    grey = {**GOOD_PANEL, "dicm": {**GOOD_PANEL["dicm"], "color_ratio": 0.6, "border": 1.16}}
    best_lol = WeightSet(model=SPEC, file="x", sha256="0", data="", recipe="", budget="",
                         metrics={"psnr": 22.0}, mp_per_s=1.0, photo_panel=grey)
    good = WeightSet(model=SPEC, file="y", sha256="0", data="", recipe="", budget="",
                     metrics={"psnr": 19.0}, mp_per_s=1.0, photo_panel=GOOD_PANEL)
    unmeasured = WeightSet(model=SPEC, file="z", sha256="0", data="", recipe="", budget="",
                           metrics={"psnr": 25.0}, mp_per_s=1.0)
    assert best_lol.photo_misses() == ["dicm color_ratio 0.6", "dicm border 1.16"]
    assert good.photo_misses() == [] and unmeasured.photo_misses() is None
    with registries().temporary() as regs:
        for entry in regs["weights"].entries():
            regs["weights"].remove(entry.name)
        for name, ws in (("grey", best_lol), ("good", good), ("unmeasured", unmeasured)):
            regs["weights"].add(Entry("weights", f"core.{name}", ws, plugin="core"))
        assert default_weight_set()[0] == "core.good"
        # same misses: the better structure on darkened photos wins over the LOL PSNR
        blotchy = WeightSet(model=SPEC, file="b", sha256="0", data="", recipe="", budget="",
                            metrics={"psnr": 21.0}, mp_per_s=1.0,
                            photo_panel={**GOOD_PANEL, "kodak": {"psnr": 17.0, "ssim": 0.62}})
        sharp = WeightSet(model=SPEC, file="s", sha256="0", data="", recipe="", budget="",
                          metrics={"psnr": 15.0}, mp_per_s=1.0,
                          photo_panel={**GOOD_PANEL, "kodak": {"psnr": 17.5, "ssim": 0.66}})
        regs["weights"].add(Entry("weights", "core.blotchy", blotchy, plugin="core"))
        regs["weights"].add(Entry("weights", "core.sharp", sharp, plugin="core"))
        assert default_weight_set()[0] == "core.sharp"
        for name in ("core.good", "core.blotchy", "core.sharp"):
            regs["weights"].remove(name)
        assert default_weight_set()[0] == "core.grey"  # measured beats unmeasured


def test_export_keeps_the_photo_panel_and_lle_weights_shows_it(
    tmp_path: Path, fake_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    panel = {**GOOD_PANEL, "kodak": {"psnr": 21.5, "ssim": 0.7}}
    _export(tmp_path, fake_package, photo_panel=panel)
    record = json.loads((fake_package / "weights" / "toy.json").read_text())
    assert record["photo_panel"]["kodak"]["psnr"] == 21.5
    with registries().temporary():
        _register()
        assert main(["weights", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows[0]["photo_panel"]["dicm"]["border"] == 1.0 and rows[0]["photo_misses"] == []
        assert main(["weights"]) == 0
        out = capsys.readouterr().out
        assert "colour D/L/M" in out and "1.00/1.00/1.00" in out and "21.5/-" in out
