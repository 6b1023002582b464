"""ProductionService: translates calls to the production feedback use cases.

Each RPC the daemon does not serve yet answers UNIMPLEMENTED (the generated base class).
"""

from __future__ import annotations

from studbook.daemon.app.registry import Registry
from studbook.v1 import production_pb2_grpc


class ProductionServicer(production_pb2_grpc.ProductionServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
