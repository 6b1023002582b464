"""Garbage collection and a backup never run at once: a backup copies the blobs of one
snapshot, and a collection could delete them under it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from studbook.daemon.app.registry import Registry
from studbook.daemon.app.versions import Registration
from studbook.daemon.domain.access import Caller, Role
from studbook.daemon.domain.errors import Conflict, FailedPrecondition
from studbook.daemon.domain.model import ModelVersion
from studbook.daemon.service.convert import encode_payload

ADMIN = Caller("admin@host", Role.ADMIN)


def test_a_collection_waits_for_the_backup_being_written_and_the_other_way_round(tmp_path: Path) -> None:
    async def scenario() -> None:
        (tmp_path / "data").mkdir()
        registry = Registry(tmp_path / "data" / "catalog.duckdb", encode_payload)
        registry.start()
        try:
            (tmp_path / "src").mkdir()
            (tmp_path / "src" / "w.bin").write_bytes(b"weights")
            await registry.versions.register(
                Registration(ModelVersion("m", 0), ADMIN, source_path=str(tmp_path / "src"))
            )
            backup = registry.backups.backup(str(tmp_path / "backup"), ADMIN)
            await anext(backup)  # the backup is under way
            with pytest.raises(Conflict) as during_backup:
                await registry.retention.collect(ADMIN)
            async for _ in backup:
                pass
            collected = await registry.retention.collect(ADMIN)  # once it is done, a collection runs

            async with registry.retention._running:  # as a collection holds it while it runs
                with pytest.raises(FailedPrecondition) as during_collection:
                    await anext(registry.backups.backup(str(tmp_path / "backup"), ADMIN))

            assert during_backup.value.reason == "BACKUP_RUNNING"
            assert during_collection.value.reason == "GC_IN_PROGRESS"
            assert not collected.dry_run
        finally:
            registry.close()

    asyncio.run(scenario())
