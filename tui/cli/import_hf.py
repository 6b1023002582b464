"""`studbook import hf PATH`: models from a Hugging Face cache or model folder, offline.

The daemon reads each snapshot as it reads a dropped Hugging Face folder (card fields,
model-index metrics, datasets, base model); this side finds the snapshots, uploads their
files and names where each came from.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from studbook.cli import importing
from studbook.client import hf_cache, local_tree

if TYPE_CHECKING:
    from studbook.cli.commands import Context
    from studbook.v1 import registry_pb2

HELP = "import models from a Hugging Face cache (every models--ORG--NAME in it), one model's folder, a snapshot or a model folder"
EPILOG = """\
Each model becomes MODEL = ORG--NAME (lower case) unless --model names it; its version
holds the snapshot's files (links into the cache's blobs followed), the card's fields as
tags, model-index results as metrics, datasets and base_model as lineage (the base model
as a parent when it is in the registry: a cache's models are imported bases first), and
hf://ORG/NAME@REVISION as its source. Running it again imports only what is new.

examples:
  studbook import hf ~/.cache/huggingface/hub
  studbook import hf ~/.cache/huggingface/hub/models--org--name --revision main
  studbook import hf ./my-finetune --model reviews-classifier
  studbook import hf ~/.cache/huggingface/hub --dry-run
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a cache folder, a models--ORG--NAME folder, a snapshot or a model folder")
    parser.add_argument("--model", help="the registry model to import into (one repository or folder only)")
    parser.add_argument("--revision", help="a commit or ref (main, refs/pr/1) of each repository (default: main)")
    parser.add_argument("--dvc", metavar="FILE", help="a dvc.lock or .dvc file naming the data it was trained on")
    parser.add_argument("--allow-unsafe", action="store_true",
                        help="import content that runs code when loaded (remote code, pickles); maintainer role")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="say what would be imported and skipped; change nothing")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.commands import EXIT_OK, exit_code

    found = hf_cache.find(Path(args.path), model=args.model, revision=args.revision)
    dvc_file = importing.read_dvc_file(args.dvc)
    report = importing.Report(skipped=found.skipped)
    ordered = bases_first(found.snapshots)
    if args.dry_run:
        report.planned = []
        for snapshot in ordered:
            label = _label(snapshot)
            importing.plan_each(report, label, partial(_plan, ctx, snapshot, label))
        ctx.emit(report.as_json(), report.human)
        return EXIT_OK
    for snapshot in ordered:
        label = _label(snapshot)
        if len(ordered) == 1:  # one model: its refusal is the command's error, as `register` says it
            report.outcomes.append(importing.Outcome(label, version=_import(ctx, snapshot, dvc_file, args)))
        else:
            importing.each(report, label, partial(_import, ctx, snapshot, dvc_file, args))
    ctx.emit(report.as_json(), report.human)
    first = report.first_error
    return exit_code(first) if first is not None else EXIT_OK


def _label(snapshot: hf_cache.Snapshot) -> str:
    return f"{snapshot.repo_id}@{snapshot.revision[:12]}" if snapshot.repo_id else str(snapshot.folder)


def _plan(ctx: Context, snapshot: hf_cache.Snapshot, label: str) -> importing.Planned:
    return importing.plan(ctx, snapshot.model, hf_cache.files(snapshot), label)


def _import(ctx: Context, snapshot: hf_cache.Snapshot, dvc_file: bytes,
            args: argparse.Namespace) -> registry_pb2.RegisterModelVersionResponse:  # fmt: skip
    from studbook.client import calls

    listed = hf_cache.files(snapshot)
    tags = {"hf.repo": snapshot.repo_id, "hf.revision": snapshot.revision} if snapshot.repo_id else {}
    request = calls.register_request(
        snapshot.model,
        path=snapshot.folder,
        tags=tags,
        request_id=hf_cache.request_id(snapshot, listed),
        created_from=snapshot.source,
        environment=False,  # this shell's packages say nothing of the model's
        git=False,
        entry_point="",
        allow_unsafe=args.allow_unsafe,
    )
    request.dvc_file = dvc_file
    return importing.register_files(ctx, request, listed, snapshot.repo_id or snapshot.folder.name)


def bases_first(snapshots: list[hf_cache.Snapshot]) -> list[hf_cache.Snapshot]:
    """Snapshots in name order, except that one whose card mentions another repository of the
    same import comes after it: the daemon links a base model only when it is registered."""
    by_repo = {s.repo_id: s for s in snapshots if s.repo_id}
    mentions = {s.repo_id: [r for r in by_repo if r != s.repo_id and r in _card_text(s)] for s in by_repo.values()}
    ordered: list[hf_cache.Snapshot] = []
    placed: set[str] = set()

    def place(snapshot: hf_cache.Snapshot, path: tuple[str, ...]) -> None:
        if snapshot.repo_id in placed or snapshot.repo_id in path:
            return  # placed already, or a cycle of cards naming each other
        for other in mentions.get(snapshot.repo_id, []):
            place(by_repo[other], (*path, snapshot.repo_id))
        placed.add(snapshot.repo_id)
        ordered.append(snapshot)

    for snapshot in snapshots:
        if snapshot.repo_id:
            place(snapshot, ())
        else:
            ordered.append(snapshot)
    return ordered


def _card_text(snapshot: hf_cache.Snapshot) -> str:
    """The card's first 64 KB, only searched for repository ids (the daemon reads the card itself)."""
    card = snapshot.folder / "README.md"
    if not local_tree.within(card, snapshot.repo_folder or snapshot.folder):
        return ""  # a link out of the model's folder; the import refuses it anyway
    try:
        with open(card, "rb") as handle:
            return handle.read(1 << 16).decode("utf-8", errors="replace")
    except OSError:
        return ""
