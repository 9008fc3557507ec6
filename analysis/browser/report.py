"""BROWSER.md: what `wlh browser` saw of o1js's web build in headless Chromium, generated from the run records
(run.json, browser.json, page.jsonl, report.json of each configured browser run) and, for the leak, the node
runs of the same program (the candidate chain's release runs of bench/wlh-loop.mjs).

Prose here states only what holds for any data or is built from the figures; the explanation of the hang is
conditional on what the runs show (which exports the page forwarded by value, late frees, whether the page
answered with and without the what-if)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tabulate import tabulate

from analysis.browser.runs import BrowserRun, browser_runs, run_dir
from analysis.candidate import paths as candidate_paths
from analysis.common.config import Config
from analysis.common.units import mib, signed_mib


def _json(p: Path):
    return json.loads(p.read_text()) if p.is_file() else None


def _jsonl(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text().splitlines() if x.strip()] if p.is_file() else []


def load(cfg: Config, run: BrowserRun) -> dict:
    d = run_dir(cfg, run)
    report = _json(d / "report.json")
    return {"run": run, "record": _json(d / "run.json") or {}, "browser": _json(d / "browser.json") or {},
            "events": _jsonl(d / "page.jsonl"), "summary": (report or {}).get("summary"), "dir": d}


def _outcome(b: dict) -> str:
    if not b:
        return "not run yet"
    return {"done": "finished", "failed": "threw", "no_answer": "stopped answering", "no_o1js": "o1js never loaded"}.get(
        b.get("outcome"), str(b.get("outcome")))


def _idle(b: dict) -> str:
    idle = b.get("idle")
    if not idle:
        return "not watched (the program did not end)"
    if idle["answered"]:
        return f"answered for {idle['watched_seconds']:g} s"
    return f"**stopped answering {idle['stopped_after_seconds']:g} s after the program ended**"


def runs_table(rows: list[dict]) -> str:
    out = []
    for x in rows:
        b, run = x["browser"], x["run"]
        out.append([f"`{run.name}`", "yes" if run.traced else "no (o1js unchanged)", run.whatif or "none",
                    _outcome(b), _proofs(run, b), _idle(b), b.get("late_frees", 0) if run.traced else "n/a",
                    len(b.get("page_errors") or [])])
    return tabulate(out, headers=["run", "traced", "what-if", "program", "proofs", "idle page afterwards",
                                  "late frees of moved handles", "page errors"], tablefmt="github", disable_numparse=True)


def _proofs(run: BrowserRun, b: dict) -> str:
    """Proofs completed: counted by the tracer's snapshots, so only in traced runs."""
    return str(b.get("proofs", "n/a")) if run.traced else "not counted (untraced)"


def _errors(b: dict, n: int = 3) -> list[str]:
    seen = []
    for e in b.get("page_errors") or []:
        first = e["message"].split("\n")[0]
        if first not in seen:
            seen.append(first)
    return [f"`{m}`" for m in seen[:n]]


def _stacks(b: dict) -> list[str]:
    out = []
    for s in b.get("stacks") or []:
        where = " < ".join(s["frames"][:4]) if s.get("paused") else (s.get("error") or "did not pause within 5 s")
        out.append(f"  - {s['thread']} ({s['when']}): {where}")
    return out


def _hung(x: dict) -> bool:
    b = x["browser"]
    return b.get("outcome") == "no_answer" or (b.get("idle") or {}).get("answered") is False


def _fine(x: dict) -> bool:
    b = x["browser"]
    return b.get("outcome") == "done" and bool((b.get("idle") or {}).get("answered"))


def _groups(rows: list[dict]) -> dict:
    """trivial runs by (traced, what-if), repeats together."""
    g = {}
    for x in rows:
        if x["run"].scenario == "trivial":
            g.setdefault((x["run"].traced, x["run"].whatif), []).append(x)
    return g


def _run_line(x: dict, what: str) -> str:
    b = x["browser"]
    done = f" after {b.get('proofs') or 0} proof(s)" if x["run"].traced else ""
    text = f"- `{x['run'].name}` ({what}): the program {_outcome(b)}{done}; idle page afterwards: {_idle(b)}"
    if x["run"].whatif and b.get("whatif_counts"):
        text += f"; handles the what-if neutralised: {sum(b['whatif_counts'].values())}"
    if x["run"].traced:
        text += f"; late frees of moved handles: {b.get('late_frees', 0)}"
    if _errors(b):
        text += "; errors: " + "; ".join(_errors(b))
    return text + "."


def hang_section(rows: list[dict]) -> list[str]:
    g = _groups(rows)
    out = ["## Why the page hangs after proving", ""]
    traced_any = g.get((True, None), []) + g.get((True, "consume-forwarded"), [])
    moved = next((x["browser"].get("forwarded_by_value") for x in traced_any if x["browser"].get("forwarded_by_value")), {})
    if moved:
        out += ["o1js's web build runs most kimchi calls on the page's main thread but forwards the heavy ones to its "
                "o1js worker (`postMessage({type: 'run', message: {name, args}})`, then the main thread spin-waits "
                "for the answer). The worker rebuilds each class argument as a fresh object holding the same pointer "
                "and calls the glue. Of the exports the traced page forwarded, these take an argument **by value** "
                "(wasm-bindgen moves the pointer into Rust, which drops the value; read from the node glue of the "
                "same package, `bench/browser/consumed-args.mjs`):", "",
                tabulate([[f"`{n}`", v["calls"], ", ".join(str(a) for a in v["args"])] for n, v in sorted(moved.items())],
                         headers=["forwarded export", "calls in the run", "argument(s) moved"], tablefmt="github",
                         disable_numparse=True), "",
                "The worker's glue moves the pointer out of its copy; the main thread's own handle keeps the pointer "
                "and stays registered in the main thread's FinalizationRegistry, which frees the block again once "
                "the handle is collected: a double free, of a block Rust already freed and may have handed out again. "
                "Both threads run the same module on the same shared memory and the same allocator (dlmalloc, "
                "behind one spin lock): the first free is the worker's Rust drop, the second the main thread's "
                "finalizer, after the forwarded call returned, so they do not race; the second writes into memory "
                "the allocator already took back.", ""]
    for x in g.get((True, None), []):
        ev = [e for e in x["events"] if e.get("event") == "late_free"]
        b = x["browser"]
        out.append(f"Traced, without the what-if (`{x['run'].name}`): the program {_outcome(b)} after "
                   f"{b.get('proofs', 0)} proof(s); idle page afterwards: {_idle(b)}. The page saw "
                   f"{b.get('late_frees', 0)} finalizer free(s) on the main thread of a pointer it had moved to the "
                   "worker by value (and that no main-thread handle had taken anew since):")
        if ev:
            c = Counter((e.get("export"), e.get("arg"), e.get("type")) for e in ev)
            out += ["", tabulate([[f"`{n}`", a, f"`{t}`", k] for (n, a, t), k in c.most_common()],
                                 headers=["moved by", "argument", "class", "late frees"], tablefmt="github",
                                 disable_numparse=True),
                    "", f"The first came after {min(e.get('proofs_done', 0) for e in ev)} completed proof(s)."]
        if _errors(b):
            out += ["", "Errors the page then threw: " + "; ".join(_errors(b)) + "."]
        if b.get("stacks"):
            out += ["", "Where each thread was when it stopped answering (CDP `Debugger.pause`):", *_stacks(b)]
        out.append("")
    labels = {(False, None): "untraced, o1js unchanged", (False, "consume-forwarded"): "untraced, with the what-if",
              (True, "consume-forwarded"): "traced, with the what-if"}
    listed = [(k, x) for k in labels for x in g.get(k, [])]
    if listed:
        out += ["The other trivial runs (the what-if `consume-forwarded`: right after a forwarded call is posted, the "
                "main thread's handle of each by-value argument forgets its pointer, as the node glue's would):", ""]
        out += [_run_line(x, labels[k]) for k, x in listed]
        for k, x in listed:
            if _hung(x) and x["browser"].get("stacks"):
                out += [f"  Where the threads of `{x['run'].name}` were:", *_stacks(x["browser"])]
        out.append("")
    out += [f"**In short:** {_verdict(g)}", ""]
    return out


def _verdict(g: dict) -> str:
    without = g.get((False, None), []) + g.get((True, None), [])
    with_ = g.get((False, "consume-forwarded"), []) + g.get((True, "consume-forwarded"), [])
    if not without or not with_:
        return "the runs needed to judge the what-if (with and without it) are not all there: no conclusion is drawn."
    h_without, f_with = sum(map(_hung, without)), sum(map(_fine, with_))
    late = sum((x["browser"].get("late_frees") or 0) for x in g.get((True, None), []))
    counts = (f"without the what-if {h_without} of {len(without)} runs stopped answering; with it {f_with} of "
              f"{len(with_)} finished and kept answering")
    if h_without == len(without) and f_with == len(with_):
        return (f"{counts}, and the traced runs without it saw {late} late free(s) of moved handles: the hang follows "
                "from the double free of arguments the web build forwards by value. A fix belongs in o1js's forwarding "
                "(on the main thread, `__destroy_into_raw` for each by-value argument once the call is posted).")
    if h_without == 0:
        return f"{counts}: these runs do not show the hang, so nothing is concluded about its cause."
    return (f"{counts}. The double free of moved arguments is real ({late} late free(s) seen in the traced runs "
            "without the what-if) and removing it helps, but a run with the what-if also stopped answering: "
            "something else (not found yet) can hang the page too, or the what-if does not cover every path.")


def _side(s: dict | None) -> dict:
    if not s:
        return {}
    return {"live_first": s["live"]["first_proof"], "live_rate": s["live"]["per_proof"], "live_spread": s["live"]["spread"],
            "bl_first": s["bytelength"]["first_proof"], "bl_steps": len(s["bytelength"]["steps"]),
            "types": {r["type"]: r["bytes_per_proof"] for r in s["never_dropped_in_loop"] if r["bytes"] > 0},
            "objects": {r["type"]: r["count"] for r in s["never_dropped_in_loop"] if r["bytes"] > 0},
            "rates": {r["type"]: r["per_proof"] for r in s["type_rates"] if r["per_proof"]},
            "spreads": {r["type"]: r["spread"] for r in s["type_rates"] if r["per_proof"]},
            "checks": s["checks_ok"], "proofs": s["proofs"], "forecast": s.get("forecast_headline")}


def leak_section(cfg: Config, rows: list[dict]) -> list[str]:
    out = ["## The leak in the browser, beside node", "",
           "Same program (the Step 0 scenario: `bench/browser/www/loop.mjs` in the page, `bench/wlh-loop.mjs` in node), "
           "same release, one rayon worker; node's figures are the candidate chain's release runs (`wlh run`). The "
           "browser runs compared are those with the what-if (it changes only who frees arguments moved to the "
           "worker, which the tracer sees gone either way). Browser snapshots settle GC over task turns (Chromium has no synchronous "
           "`cleanupSome`), node's at the prover's return.", ""]
    for x in rows:
        run = x["run"]
        if not run.traced or not run.whatif or not x["summary"]:
            continue
        node_report = _json(candidate_paths.run_dir(cfg, "release", run.scenario) / "report.json")
        n, b = _side((node_report or {}).get("summary")), _side(x["summary"])
        out += [f"### {run.scenario} (`{run.name}`)", ""]
        rate = lambda s: "n/a" if s.get("live_rate") is None else (  # noqa: E731
            f"{signed_mib(s['live_rate'], 3)}" + (f" ± {mib(s['live_spread'], 4)}" if s.get("live_spread") is not None else ""))
        rows_ = [["proofs", b.get("proofs"), n.get("proofs", "n/a")],
                 ["parser checks", "ok" if b.get("checks") else "failed", ("ok" if n.get("checks") else "failed") if n else "n/a"],
                 ["live heap, first proof, MiB", signed_mib(b.get("live_first"), 3), signed_mib(n.get("live_first"), 3)],
                 ["live heap per later proof, MiB", rate(b), rate(n) if n else "n/a"],
                 ["byteLength, first proof, MiB", signed_mib(b.get("bl_first"), 1), signed_mib(n.get("bl_first"), 1)],
                 ["byteLength steps after proof 1", b.get("bl_steps"), n.get("bl_steps", "n/a")],
                 ["forecast", b.get("forecast"), n.get("forecast", "n/a")]]
        out += [tabulate(rows_, headers=["", "browser (web build)", "node"], tablefmt="github", disable_numparse=True), ""]
        types = sorted(set(b.get("types", {})) | set(n.get("types", {})) | set(b.get("rates", {})) | set(n.get("rates", {})),
                       key=lambda t: -max(abs(b.get("rates", {}).get(t, 0)), abs(n.get("rates", {}).get(t, 0))))[:8]
        if types:
            def rate_(side: dict, t: str) -> str:
                if t not in side.get("rates", {}):
                    return "0"
                e = side.get("spreads", {}).get(t)
                return f"{side['rates'][t]:+,.0f}" + (f" ± {e:,.0f}" if e is not None else "")
            out += ["By type: the steady growth of its live bytes per proof (least squares over proofs 1..N, ± its "
                    "standard error), and the objects created after the baseline snapshot that were never dropped:", "",
                    tabulate([[f"`{t}`", rate_(b, t), rate_(n, t),
                               f"{b.get('objects', {}).get(t, 0):,}", f"{n.get('objects', {}).get(t, 0):,}"] for t in types],
                             headers=["type", "browser, bytes/proof", "node, bytes/proof", "browser, objects never dropped",
                                      "node, objects never dropped"], tablefmt="github", disable_numparse=True), ""]
            same = [t for t in types if b.get("rates", {}).get(t) == n.get("rates", {}).get(t)]
            differ = [t for t in types if t not in same]
            out.append(f"Same steady rate in both: {', '.join(f'`{t}`' for t in same) or 'none'}; different: "
                       f"{', '.join(f'`{t}`' for t in differ) or 'none'}. Counts of objects never dropped can differ where "
                       "the rates do not: node takes its baseline at the first prover call, the browser loop after "
                       "compile (`wlhBaseline`), so objects made in between count in one run only.")
            out.append("")
    return out


def digest(cfg: Config, rows: list[dict]) -> dict:
    """What SUMMARY.md says of the browser (artifacts/browser/summary.json): the verdict on the hang, each
    run's outcome, and per traced scenario the never-dropped types per proof beside node's."""
    leak = {}
    for x in rows:
        if x["run"].traced and x["run"].whatif and x["summary"]:
            node = _json(candidate_paths.run_dir(cfg, "release", x["run"].scenario) / "report.json")
            b, n = _side(x["summary"]), _side((node or {}).get("summary"))
            leak[x["run"].scenario] = {"run": x["run"].name, "browser_live_per_proof": b.get("live_rate"),
                                       "node_live_per_proof": n.get("live_rate"), "browser_types": b.get("rates", {}),
                                       "node_types": n.get("rates", {})}
    return {"verdict": _verdict(_groups(rows)),
            "runs": [{"name": x["run"].name, "outcome": x["browser"].get("outcome"), "proofs": x["browser"].get("proofs"),
                      "idle": x["browser"].get("idle"), "late_frees": x["browser"].get("late_frees")} for x in rows],
            "leak": leak}


def render(cfg: Config, rows: list[dict]) -> str:
    chromium = next((x["browser"].get("chromium") for x in rows if x["browser"].get("chromium")), "n/a")
    md = ["# BROWSER.md — o1js's web build under `wlh browser`", "",
          "_Generated by the pipeline (`doit browser_report`) from the browser runs' records; do not edit by hand._", "",
          f"`wlh browser` serves a program to headless Chromium ({chromium}, Debian's package) from 127.0.0.1 with the "
          "cross-origin isolation headers, resolves `o1js` to the web build through an import map, swaps the web "
          "build's bindings wasm for one instrumented by the project's instrumenter (after naming its allocator "
          "functions: the web wasm has no names) at its one main-thread instantiation, and runs the project's tracer "
          "unchanged in the page and every worker (Node shims; lines stream out through a shared ring and one "
          "drain worker while the page runs). `wlh report` reads the result like a node run.", "",
          "## Runs", "", runs_table(rows), "",
          "Late frees: finalizer frees on the main thread of a pointer the page had moved to its worker by value, "
          "counted by the tracer's page side (traced runs only).", ""]
    md += hang_section(rows)
    md += leak_section(cfg, rows)
    md += ["## Limits", "",
           "- JavaScript creation sites name the minified bundle (`dist/web/index.js:<line>`); no source map is applied.",
           "- Browser snapshots are taken after GC settled over task turns; a program that never yields a task turn "
           "between proofs gets them unsettled at the next prover call (`wlhIdle()` lets a program wait for them).",
           "- The web wasm's allocator hooks are dlmalloc's own functions (found by structure), so a GROW's Rust "
           "caller is mostly unnamed.", ""]
    return "\n".join(md)


def write(cfg: Config, out: Path, summary: Path) -> None:
    rows = [load(cfg, run) for run in browser_runs(cfg)]
    out.write_text(render(cfg, rows))
    summary.write_text(json.dumps(digest(cfg, rows), indent=1) + "\n")


def summary_lines(digest_: dict | None) -> list[str]:
    """SUMMARY.md's section on the browser, from artifacts/browser/summary.json."""
    if not digest_:
        return []
    md = ["## In the browser (o1js's web build; details in [BROWSER.md](BROWSER.md))", ""]
    if digest_.get("verdict"):
        md += [f"Why the page hangs after proving: {digest_['verdict']}", ""]
    for scenario, x in digest_.get("leak", {}).items():
        both = sorted(set(x["browser_types"]) & set(x["node_types"]))
        rate = lambda v: "n/a" if v is None else f"{signed_mib(v, 3)} MiB"  # noqa: E731
        md.append(f"- `{scenario}` in the browser (`{x['run']}`): live heap {rate(x['browser_live_per_proof'])} per proof "
                  f"(node {rate(x['node_live_per_proof'])}); steady growth by type, browser vs node: "
                  + (", ".join(f"`{t}` {x['browser_types'][t]:+,.0f} vs {x['node_types'][t]:+,.0f} bytes per proof"
                               for t in both) or "none") + ".")
    return md + [""]
