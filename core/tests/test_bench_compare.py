"""lle_core.bench.compare: subprocess-per-case inference comparison against baselines."""

from __future__ import annotations

import json

import pytest

from lle_core.bench.compare import (
    BASELINES,
    InferenceCase,
    add_ratios,
    compare_inference,
    print_comparison,
    run_cli,
)

FIGURES = {"params", "seconds", "seconds_min", "times", "img_per_s", "mpix_per_s",
           "cpu_seconds", "tensor_peak_mb", "peak_rss_mb", "rss_growth_mb",
           "max_abs_diff_vs_fp32", "threads", "out_shape", "ratios", "cpu_ratios"}
UNET = {"type": "core.unet_small", "base_width": 8}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    cases = [InferenceCase("unet", UNET), InferenceCase("unet bf16", UNET, precision="bf16")]
    return compare_inference(cases, height=24, width=40, repeats=1, threads=1)


def test_rows_have_baselines_first_and_every_figure(rows):
    assert [r["label"] for r in rows] == [*BASELINES, "unet", "unet bf16"]
    for r in rows:
        assert "error" not in r, r.get("error")
        assert set(r) >= FIGURES, FIGURES - set(r)
        assert (r["width"], r["height"]) == (40, 24)
        assert r["out_shape"] == [1, 3, 24, 40]
        assert r["seconds"] > 0 and r["cpu_seconds"] >= 0 and len(r["times"]) == 1
        assert r["img_per_s"] == pytest.approx(1 / r["seconds"])
        assert r["peak_rss_mb"] > 0 and r["rss_growth_mb"] >= 0
    unet = rows[2]
    assert unet["params"] > 0 and rows[0]["params"] == 0
    assert unet["tensor_peak_mb"] > 0  # the U-Net allocates activations
    assert unet["max_abs_diff_vs_fp32"] is None
    assert rows[3]["max_abs_diff_vs_fp32"] is not None and rows[3]["max_abs_diff_vs_fp32"] >= 0


def test_ratios_use_the_baselines_of_the_same_run(rows):
    ref = {r["label"]: r for r in rows}
    for r in rows:
        for b in BASELINES:
            assert r["ratios"][b] == pytest.approx(r["seconds"] / ref[b]["seconds"])
    gamma, identity = ref["core.gamma"], ref["core.identity"]  # across baselines, not to itself
    assert gamma["ratios"]["core.identity"] == pytest.approx(gamma["seconds"] / identity["seconds"])
    if identity["cpu_seconds"] > 0:
        assert gamma["cpu_ratios"]["core.identity"] == pytest.approx(
            gamma["cpu_seconds"] / identity["cpu_seconds"])
    else:
        assert gamma["cpu_ratios"]["core.identity"] is None


def test_print_comparison_lists_every_case(rows, capsys):
    print_comparison(rows)
    out = capsys.readouterr().out
    for label in ("core.identity", "core.gamma", "unet bf16", "40x24"):
        assert label in out


def test_add_ratios_marks_missing_or_failed_baselines_as_none():
    rows = [{"label": "core.identity", "seconds": 2.0, "cpu_seconds": 4.0},
            {"label": "core.gamma", "error": "boom"},
            {"label": "m", "seconds": 6.0, "cpu_seconds": 2.0}]
    add_ratios(rows)
    assert rows[2]["ratios"] == {"core.identity": 3.0, "core.gamma": None}
    assert rows[2]["cpu_ratios"] == {"core.identity": 0.5, "core.gamma": None}
    assert "ratios" not in rows[1]


def test_case_validation_and_duplicate_labels():
    with pytest.raises(ValueError, match="precision"):
        InferenceCase("x", {"type": "core.identity"}, precision="fp16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="type"):
        InferenceCase("x", {"base_width": 8})
    case = InferenceCase("x", {"type": "core.identity"})
    with pytest.raises(ValueError, match="unique"):
        compare_inference([case, case])


def test_run_cli_only_baselines_writes_json(tmp_path, capsys):
    path = tmp_path / "rows.json"
    rows = run_cli([], "doc", argv=["--size", "20x16", "--repeats", "1", "--json", str(path)])
    assert [r["label"] for r in rows] == list(BASELINES)
    saved = json.loads(path.read_text())
    assert saved[1]["ratios"]["core.identity"] == pytest.approx(
        saved[1]["seconds"] / saved[0]["seconds"])
    assert "20x16" in capsys.readouterr().out
