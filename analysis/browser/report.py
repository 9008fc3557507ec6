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
    return {"done": "finished", "failed": "threw", "no_answer": "stopped answering", "no_o1js": "o1js never loaded"}.get(
        b.get("outcome"), str(b.get("outcome")))


def _idle(b: dict) -> str:
    idle = b.get("idle")
    if not idle:
        return "not watched (the program did not finish)"
    if idle["answered"]:
        return f"answered for {idle['watched_seconds']:g} s"
    return f"**stopped answering {idle['stopped_after_seconds']:g} s after the program ended**"


def runs_table(rows: list[dict]) -> str:
    out = []
    for x in rows:
        b, run = x["browser"], x["run"]
        out.append([f"`{run.name}`", "yes" if run.traced else "no (o1js unchanged)", run.whatif or "none",
                    _outcome(b), b.get("proofs", "n/a"), _idle(b), b.get("late_frees", 0) if run.traced else "n/a",
                    len(b.get("page_errors") or [])])
    return tabulate(out, headers=["run", "traced", "what-if", "program", "proofs", "idle page afterwards",
                                  "late frees of moved handles", "page errors"], tablefmt="github", disable_numparse=True)


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


def hang_section(rows: list[dict]) -> list[str]:
    by = {(x["run"].traced, x["run"].whatif): x for x in rows if x["run"].scenario == "trivial"}
    plain, fixed = by.get((False, None)), by.get((False, "consume-forwarded"))
    traced, traced_fixed = by.get((True, None)), by.get((True, "consume-forwarded"))
    out = ["## Why the page hangs after proving", ""]
    moved = (traced or traced_fixed or {}).get("browser", {}).get("forwarded_by_value") or {}
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
                "the handle is collected: a double free, of a block Rust already freed and may have handed out again.",
                ""]
    if traced:
        ev = [e for e in traced["events"] if e.get("event") == "late_free"]
        b = traced["browser"]
        out.append(f"Traced, without the what-if (`{traced['run'].name}`): the program {_outcome(b)} after "
                   f"{b.get('proofs', 0)} proof(s); the idle page {_idle(b)}. The page saw {b.get('late_frees', 0)} "
                   "finalizer free(s) on the main thread of a pointer it had moved to the worker by value (and that "
                   "no main-thread handle had taken anew since):")
        if ev:
            c = Counter((e.get("export"), e.get("arg"), e.get("type")) for e in ev)
            out += ["", tabulate([[f"`{n}`", a, f"`{t}`", k] for (n, a, t), k in c.most_common()],
                                 headers=["moved by", "argument", "class (minified)", "late frees"], tablefmt="github",
                                 disable_numparse=True),
                    "", f"The first came after {min(e.get('proofs_done', 0) for e in ev)} completed proof(s)."]
        if _errors(b):
            out += ["", "Errors the page then threw: " + "; ".join(_errors(b)) + "."]
        if b.get("stacks"):
            out += ["", "Where each thread was when it stopped answering (CDP `Debugger.pause`):", *_stacks(b)]
        out.append("")
    if plain:
        b = plain["browser"]
        out.append(f"Untraced, o1js unchanged (`{plain['run'].name}`): the program {_outcome(b)} after "
                   f"{b.get('proofs') or 'its'} proof(s); the idle page {_idle(b)}."
                   + (" Errors: " + "; ".join(_errors(b)) + "." if _errors(b) else ""))
        if b.get("stacks"):
            out += ["", *_stacks(b)]
        out.append("")
    for x in (fixed, traced_fixed):
        if x:
            b = x["browser"]
            counts = b.get("whatif_counts") or {}
            out.append(f"With the what-if `consume-forwarded` (`{x['run'].name}`: right after a forwarded call is "
                       "posted, the main thread's handle of each by-value argument forgets its pointer, as the node "
                       f"glue's would): the program {_outcome(b)}, {b.get('proofs') or 'n/a'} proof(s); the idle page "
                       f"{_idle(b)}" + (f"; handles neutralised: {sum(counts.values())}" if counts else "")
                       + (f"; late frees seen: {b.get('late_frees', 0)}" if x["run"].traced else "") + ".")
            out.append("")
    verdict = _verdict(plain, fixed, traced, traced_fixed)
    if verdict:
        out += [f"**In short:** {verdict}", ""]
    return out


def _verdict(plain, fixed, traced, traced_fixed) -> str | None:
    def hung(x):
        return x is not None and (x["browser"].get("outcome") == "no_answer"
                                  or (x["browser"].get("idle") or {}).get("answered") is False)

    def fine(x):
        return x is not None and x["browser"].get("outcome") == "done" and (x["browser"].get("idle") or {}).get("answered")

    if (hung(plain) or hung(traced)) and (fine(fixed) or fine(traced_fixed)):
        return ("the page stops answering without the what-if and keeps answering with it, and the traced run saw "
                f"{(traced or {}).get('browser', {}).get('late_frees', 'n/a')} late free(s) of moved handles: the hang "
                "follows from the double free of arguments the web build forwards by value. A fix belongs in o1js's "
                "forwarding (mirror `__destroy_into_raw` on the main thread for by-value arguments).")
    if not (hung(plain) or hung(traced)):
        return ("in these runs the page did not stop answering without the what-if: the double free (if late frees "
                "were seen) did not hit a block in use within the watch; a longer watch or more proofs may be needed.")
    return "the runs do not separate the cases (see the table): no conclusion is drawn here."


def _side(s: dict | None) -> dict:
    if not s:
        return {}
    return {"live_first": s["live"]["first_proof"], "live_rate": s["live"]["per_proof"], "live_spread": s["live"]["spread"],
            "bl_first": s["bytelength"]["first_proof"], "bl_steps": len(s["bytelength"]["steps"]),
            "types": {r["type"]: r["bytes_per_proof"] for r in s["never_dropped_in_loop"] if r["bytes"] > 0},
            "checks": s["checks_ok"], "proofs": s["proofs"], "forecast": s.get("forecast_headline")}


def leak_section(cfg: Config, rows: list[dict]) -> list[str]:
    out = ["## The leak in the browser, beside node", "",
           "Same program (the Step 0 scenario: `bench/browser/www/loop.mjs` in the page, `bench/wlh-loop.mjs` in node), "
           "same release, one rayon worker; node's figures are the candidate chain's release runs (`wlh run`). The "
           "browser runs use the what-if (without it the page does not get through the proofs; it only changes who "
           "frees moved arguments). Browser snapshots settle GC over task turns (Chromium has no synchronous "
           "`cleanupSome`), node's at the prover's return.", ""]
    for x in rows:
        run = x["run"]
        if not run.traced or not x["summary"]:
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
        types = sorted(set(b.get("types", {})) | set(n.get("types", {})),
                       key=lambda t: -max(b.get("types", {}).get(t, 0), n.get("types", {}).get(t, 0)))[:8]
        if types:
            out += ["Never dropped after the baseline, MiB per proof, by type:", "",
                    tabulate([[f"`{t}`", mib(b.get("types", {}).get(t), 4) if t in b.get("types", {}) else "0",
                               mib(n.get("types", {}).get(t), 4) if t in n.get("types", {}) else "0"] for t in types],
                             headers=["type", "browser", "node"], tablefmt="github", disable_numparse=True), ""]
            both = [t for t in types if t in b.get("types", {}) and t in n.get("types", {})]
            only = [t for t in types if (t in b.get("types", {})) != (t in n.get("types", {}))]
            out.append(f"Types that leak in both: {', '.join(f'`{t}`' for t in both) or 'none'}; in one only: "
                       f"{', '.join(f'`{t}`' for t in only) or 'none'}.")
            out.append("")
    return out


def render(cfg: Config) -> str:
    rows = [load(cfg, run) for run in browser_runs(cfg)]
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


def write(cfg: Config, out: Path) -> None:
    out.write_text(render(cfg))
