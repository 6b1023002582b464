"""`studbook import wandb PATH`: a W&B artifact folder (wandb_manifest.json) or an offline
run folder (config.yaml -> params, wandb-summary.json -> metrics), read by the daemon as
it reads the same folder dropped into a watched root."""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from studbook.cli import importing
from studbook.client import local_tree
from studbook.client.errors import StudbookError
from studbook.client.hf_cache import model_id_for

if TYPE_CHECKING:
    from studbook.cli.commands import Context

HELP = "import a W&B artifact folder (wandb_manifest.json) or an offline run folder (config.yaml, wandb-summary.json)"
EPILOG = """\
The version holds the folder's files; a run's config becomes its params, its summary its
metrics (at the run's last step) and the run its lineage; an artifact's manifest is checked
against the files. MODEL defaults to the artifact's name without :vN, or wandb-RUNID for a
run. Running it again changes nothing.

examples:
  studbook import wandb ./artifacts/reviews-model:v3
  studbook import wandb ./wandb/offline-run-20260105_101500-k3x9q2ab --model reviews
  studbook import wandb ./artifacts/reviews-model:v3 --dry-run
"""
# `offline-run-20260105_101500-abc123` or `run-20260105_101500-abc123`.
_RUN_FOLDER = re.compile(r"(?:offline-)?run-\d{8}_\d{6}-(?P<id>[A-Za-z0-9]{1,64})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="an artifact folder or an offline run folder")
    parser.add_argument("--model", help="the registry model to import into")
    parser.add_argument("--dvc", metavar="FILE", help="a dvc.lock or .dvc file naming the data it was trained on")
    parser.add_argument("--allow-unsafe", action="store_true",
                        help="import content that runs code when loaded (pickles); maintainer role")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="say what would be imported; change nothing")


def default_model(folder: Path) -> str:
    run = _RUN_FOLDER.fullmatch(folder.name)
    if run:
        return f"wandb-{run.group('id').lower()}"
    return model_id_for(re.sub(r":v\d+$", "", folder.name)) or "wandb"


def run(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.commands import EXIT_OK
    from studbook.client import calls

    folder = Path(args.path).expanduser().absolute()
    if not folder.is_dir():
        raise StudbookError("INVALID_ARGUMENT", "PATH_NOT_FOUND", f"{folder} is not a folder: give a W&B artifact "
                            "folder or an offline run folder")  # fmt: skip
    model = args.model or default_model(folder)
    listed = local_tree.files(folder, folder)
    if args.dry_run:
        report = importing.Report(planned=[importing.plan(ctx, model, listed, folder.name)])
        ctx.emit(report.as_json(), report.human)
        return EXIT_OK
    digest = hashlib.sha256(
        "\0".join([model, *(f"{f.rel}:{f.sha256}" for f in listed)]).encode("utf-8", "surrogateescape")
    )
    request = calls.register_request(
        model,
        path=folder,
        request_id="import-wandb-" + digest.hexdigest()[:32],
        created_from=f"wandb:{folder}",
        environment=False,
        git=False,
        entry_point="",
        allow_unsafe=args.allow_unsafe,
    )
    request.dvc_file = importing.read_dvc_file(args.dvc)
    report = importing.Report()
    report.outcomes.append(importing.Outcome(folder.name, version=importing.register_files(ctx, request, listed,
                                                                                           folder.name)))  # fmt: skip
    ctx.emit(report.as_json(), report.human)
    return EXIT_OK
