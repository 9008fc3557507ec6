"""The browser runs of config `browser.runs`: `<scenario>[/untraced][+<what-if>]`, e.g. `trivial`,
`trivial/untraced+consume-forwarded`. Each is one `wlh browser` run directory under artifacts/browser/."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from analysis.common.config import Config, ConfigError

NAME = re.compile(r"^(trivial|recursive)(/untraced)?(\+([a-z-]+))?$")
WHATIFS = ("consume-forwarded",)  # bench/browser/www/wlh/whatif-<name>.js


@dataclass(frozen=True)
class BrowserRun:
    scenario: str
    traced: bool
    whatif: str | None

    @property
    def name(self) -> str:
        return f"{self.scenario}{'' if self.traced else '/untraced'}{f'+{self.whatif}' if self.whatif else ''}"

    @property
    def id(self) -> str:
        return self.name.replace("/", "-")


def parse_run(text: str) -> BrowserRun:
    m = NAME.match(text)
    if not m:
        raise ConfigError(f"browser.runs: '{text}' is not <trivial|recursive>[/untraced][+<what-if>]")
    if m.group(4) and m.group(4) not in WHATIFS:
        raise ConfigError(f"browser.runs: '{text}': unknown what-if '{m.group(4)}' (known: {', '.join(WHATIFS)})")
    return BrowserRun(m.group(1), not m.group(2), m.group(4))


def browser_runs(cfg: Config) -> list[BrowserRun]:
    return [parse_run(t) for t in cfg["browser"]["runs"]]


def folder(cfg: Config) -> Path:
    return cfg.artifacts / "browser"


def run_dir(cfg: Config, run: BrowserRun) -> Path:
    return folder(cfg) / run.id


def summary_path(cfg: Config) -> Path:
    return folder(cfg) / "browser.json"
