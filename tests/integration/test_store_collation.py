"""Listings sort text by its bytes on both backends, whatever collation the PostgreSQL database
was created with: the same order as DuckDB's, and keyset pages that seek as they sort."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from studbook.daemon.domain.model import Model
from studbook.daemon.domain.ordering import OrderTerm
from studbook.daemon.store.postgres.catalog import PostgresCatalog

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ["B", "a", "Ab", "b", "_x", "é", "Z9"]


@pytest.fixture
def icu_catalog(postgres_server) -> Iterator[PostgresCatalog]:  # type: ignore[no-untyped-def]
    """A catalog in a database whose default collation is English's (a before B), not bytes."""
    name = f"t_icu_{uuid.uuid4().hex[:12]}"
    with postgres_server.connect() as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                     "LOCALE 'C' ENCODING 'UTF8'")  # fmt: skip
    catalog = PostgresCatalog(postgres_server.url(name))
    yield catalog
    catalog.close()
    postgres_server.drop_database(name)


def test_models_list_in_byte_order_and_page_in_it_too(icu_catalog: PostgresCatalog) -> None:
    tx = icu_catalog.transaction()
    tx.begin()
    for name in NAMES:
        tx.insert_model(Model(name=name, owner=name, create_time=T0, update_time=T0), "")
    tx.commit()
    order = [OrderTerm("owner", True)]
    collated = [row[0] for row in icu_catalog.query("SELECT name FROM models ORDER BY owner DESC")]

    listed = icu_catalog.list_models(None, order, show_archived=False, limit=100).items
    paged: list[str] = []
    after = None
    while True:
        page = icu_catalog.list_models(None, order, show_archived=False, limit=2, after=after)
        paged.extend(page.items)
        if page.next_after is None:
            break
        after = page.next_after

    assert collated != sorted(NAMES, key=lambda n: n.encode(), reverse=True), "the database's own order is not bytes"
    assert listed == sorted(NAMES, key=lambda n: n.encode(), reverse=True)
    assert paged == listed
