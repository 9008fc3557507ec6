"""The subcommands of `wlh`, one class per module: `add_arguments(parser)` and `run(args) -> exit code`."""
from analysis.wlh.commands.browser import BrowserCommand
from analysis.wlh.commands.check import CheckCommand
from analysis.wlh.commands.compare import CompareCommand
from analysis.wlh.commands.report import ReportCommand
from analysis.wlh.commands.run import RunCommand

COMMANDS = [RunCommand, BrowserCommand, ReportCommand, CompareCommand, CheckCommand]
