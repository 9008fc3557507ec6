"""The browser runs of config `browser.runs`: `<scenario>[/untraced][+<what-if>][#<n>]`, e.g. `trivial`,
`trivial/untraced+consume-forwarded#2` (#n: the n-th repeat of the same run; whether a page hangs depends on
when GC runs its finalizers, so a conclusion needs repeats). Each is one `wlh browser` run directory under
artifacts/browser/."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from analysis.common.config import Config, ConfigError

NAME = re.compile(r"^(trivial|recursive)(/untraced)?(\+([a-z-]+))?(#([2-9]))?$")
WHATIFS = ("consume-forwarded",)  # bench/browser/www/wlh/whatif-<name>.js


@dataclass(frozen=True)
class BrowserRun:
    scenario: str
    traced: bool
    whatif: str | None
    repeat: int = 1

    @property
    def kind(self) -> str:
        """The run without its repeat number: what repeats have in common."""
        return f"{self.scenario}{'' if self.traced else '/untraced'}{f'+{self.whatif}' if self.whatif else ''}"

    @property
    def name(self) -> str:
        return self.kind + (f"#{self.repeat}" if self.repeat > 1 else "")

    @property
    def id(self) -> str:
        return self.name.replace("/", "-").replace("#", "-")


def parse_run(text: str) -> BrowserRun:
    m = NAME.match(text)
    if not m:
        raise ConfigError(f"browser.runs: '{text}' is not <trivial|recursive>[/untraced][+<what-if>][#<2-9>]")
    if m.group(4) and m.group(4) not in WHATIFS:
        raise ConfigError(f"browser.runs: '{text}': unknown what-if '{m.group(4)}' (known: {', '.join(WHATIFS)})")
    return BrowserRun(m.group(1), not m.group(2), m.group(4), int(m.group(6) or 1))


def browser_runs(cfg: Config) -> list[BrowserRun]:
    return [parse_run(t) for t in cfg["browser"]["runs"]]


def folder(cfg: Config) -> Path:
    return cfg.artifacts / "browser"


def run_dir(cfg: Config, run: BrowserRun) -> Path:
    return folder(cfg) / run.id


def summary_path(cfg: Config) -> Path:
    return folder(cfg) / "summary.json"
