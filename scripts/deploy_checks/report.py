"""The ok/fail/skip lines of scripts/check-deploy, passed to the deploy checks."""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"


@dataclass
class Report:
    ok: Callable[[str], None]
    fail: Callable[[str], None]
    skip: Callable[[str], None]

    def check(self, condition, good, bad):
        (self.ok if condition else self.fail)(good if condition else bad)
        return bool(condition)
