"""Reaching a tracking server: refusals say what is wrong before anything is imported."""

from __future__ import annotations

import pytest
from studbook.cli.importers.mlflow_source import SourceError, open_source
from support.net import free_port


def test_no_server_at_the_url_is_said_in_one_sentence() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(SourceError, match=f"no MLflow tracking server answers at {url}"):
        open_source(url)


def test_a_ca_file_that_cannot_be_read_is_named_with_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", "/nowhere/ca.pem")

    with pytest.raises(SourceError, match=r"/nowhere/ca.pem \(\$MLFLOW_TRACKING_SERVER_CERT_PATH\)"):
        open_source("https://mlflow.example:5000")


def test_a_password_in_the_url_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://ana:s3cret@127.0.0.1:{free_port()}"

    with pytest.raises(SourceError) as refused:
        open_source(url)
    assert "s3cret" not in str(refused.value)
