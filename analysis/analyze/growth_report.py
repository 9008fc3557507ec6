"""Markdown and plot for byteLength growth attribution and fragmentation (analysis.analyze.growth)."""
from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from analysis.analyze.growth import reuse_verdict
from analysis.common.units import mib, pct


def growth_section(growth: dict | None, frag: list[dict]) -> list[str]:
    md = ["### Why byteLength grew: the requests that forced each memory.grow", ""]
    if growth is None:
        md += ["This trace has no GROW lines (made before the tracer hooked memory.grow, or by the source route): "
               "byteLength growth is not attributed here.", ""]
    else:
        md += [f"byteLength grew {mib(growth['bytelength_growth'], 2)} MiB from after compile to the last proof; the "
               f"memory.grow calls in between add up to {mib(growth['grow_bytes'], 2)} MiB (unexplained "
               f"{growth['unexplained_bytes']:,} bytes). Attributed to a site (the JS→Rust export in progress > the Rust "
               f"function that asked, from the stack at the grow): **{pct(growth['coverage'])}** of the growth, "
               f"{pct(growth['steady_coverage'])} of the growth after proof 1.", "",
               tabulate([[r["iteration"], mib(r["bytelength_growth"], 3), mib(r["grow_bytes"], 3), r["grows"],
                          r["failed_grows"], r["requests_larger_than_free"], r["top_site"] or "",
                          mib(r["top_site_bytes"], 3)] for r in growth["rows"]],
                        headers=["proof", "byteLength growth MiB", "GROW MiB", "grows", "failed", "request > largest free",
                                 "site that grew most", "its MiB"], tablefmt="github", disable_numparse=True), "",
               "Sites, one-time (proof 1) and later proofs:", "",
               tabulate([[e["site"], mib(e["one_time"], 3), mib(e["steady"], 3), e["count"], f"{e['max_request']:,}"]
                         for e in growth["sites"][:12]],
                        headers=["site (export > Rust function)", "proof 1 MiB", "later proofs MiB", "grows",
                                 "largest request B"], tablefmt="github", disable_numparse=True), ""]
    if frag:
        md += ["### Fragmentation per iteration (heap walk)", ""]
        verdict = reuse_verdict(frag, growth)
        if verdict:
            md += [verdict, ""]
        md += [tabulate([[f["iteration"], mib(f["memory_bytes"], 2), f["free_chunks"], mib(f["free_bytes"], 3),
                          mib(f["largest_free"], 3), mib(f["top_free_bytes"], 3), mib(f["free_below_top_bytes"], 3),
                          mib(f["largest_free_below_top"], 3)] for f in frag],
                        headers=["iter", "byteLength MiB", "free chunks", "free MiB", "largest free MiB", "top chunk MiB",
                                 "free below top MiB", "largest below top MiB"], tablefmt="github", disable_numparse=True),
               ""]
    return md


def plot_fragmentation(frags: dict[str, list[dict]], out: Path) -> bool:
    """Free bytes by power-of-two size class per iteration, one panel per scenario. False if nothing to plot."""
    frags = {k: v for k, v in frags.items() if v and any(f["free_classes"] for f in v)}
    if not frags:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(frags), figsize=(6 * len(frags), 4), squeeze=False)
    for ax, (name, frag) in zip(axes[0], frags.items()):
        classes = sorted({c["log2"] for f in frag for c in f["free_classes"]})
        bottom = [0.0] * len(frag)
        xs = [str(f["iteration"]) for f in frag]
        cmap = plt.get_cmap("viridis", max(len(classes), 2))
        for i, k in enumerate(classes):
            ys = [sum(c["bytes"] for c in f["free_classes"] if c["log2"] == k) / 2**20 for f in frag]
            label = f"2^{k} B" if k < 10 else f"{2 ** (k - 10)} KiB" if k < 20 else f"{2 ** (k - 20)} MiB"
            ax.bar(xs, ys, bottom=bottom, color=cmap(i), label=f"≥ {label}")
            bottom = [b + y for b, y in zip(bottom, ys)]
        ax.set_title(f"{name}: free chunks by size class")
        ax.set_xlabel("after iteration (0 = compile)")
        ax.set_ylabel("free MiB")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return True
