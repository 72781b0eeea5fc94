"""``gallery``: retrain the dashboard's gallery of ready runs into ``--out``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..runs.gallery import Preset, build_gallery


def execute(args: argparse.Namespace) -> int:
    """Train every preset, naming each on stderr as it starts and each folder written on stdout."""

    def announce(preset: Preset) -> None:
        print(f"training {preset.slug}: {preset.title}", file=sys.stderr)

    for folder in build_gallery(Path(args.out), announce):
        print(f"wrote {folder}")
    return 0
