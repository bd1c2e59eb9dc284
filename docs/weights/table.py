"""Print the Markdown table of docs/weights.md from the installed weight sets' records.

    .venv/bin/python docs/weights/table.py

tests/test_shipped_weights.py checks that docs/weights.md contains exactly this table, so the
page cannot drift from the records the plugins register.
"""

from __future__ import annotations

from lle_core.weights import default_weight_set, weight_sets

HEADER = (
    "| weight set | model | PSNR | SSIM | PSNR GT-mean | SSIM GT-mean | MP/s | stored |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
)


def table() -> str:
    """The table, one row per registered weight set (best PSNR first)."""
    sets = weight_sets()
    try:
        default = default_weight_set()[0]
    except Exception:
        default = ""
    rows = []
    for name, ws in sorted(sets.items(), key=lambda kv: -kv[1].metrics.get("psnr", 0.0)):
        m = ws.metrics
        mark = " (default)" if name == default else ""
        speed = f"{ws.mp_per_s:.3g}" if ws.mp_per_s is not None else "-"
        rows.append(
            f"| `{name}`{mark} | `{ws.model_type}` | {m['psnr']:.2f} | {m['ssim']:.3f} | "
            f"{m['psnr_gt_mean']:.2f} | {m['ssim_gt_mean']:.3f} | {speed} | {ws.storage} |"
        )
    return "\n".join([HEADER, *rows])


if __name__ == "__main__":
    print(table())
