"""`studbook import`: what other registries hold, brought in through the daemon's public API.

Each source is read by a module of its own behind one small interface (`mlflow_source.Source`);
the importer (`mlflow_import`) registers what it read as any client would, so every rule of the
registry (names, gates, approvals, roles) applies to an import as to a person.
"""
