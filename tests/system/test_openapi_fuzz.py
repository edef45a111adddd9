"""schemathesis against the OpenAPI document a real service serves (gunicorn on a demo
database, an admin's bearer token, which reaches every operation): whatever it generates
from the document, valid or not, is never answered with a 5xx nor with a response that
breaks the document's schema. tests/pg runs it again on PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import WAREHOUSE, running_service, warehouse_command

SCHEMATHESIS = Path(WAREHOUSE).parent / "schemathesis"
# Examples per operation and phase: about a minute a database on the test machine.
EXAMPLES = 10
# Fixed, so that a run in CI can be repeated as it was.
SEED = 13
# Its body is a carrier's label (PDF or ZPL), which schemathesis cannot generate.
SKIPPED = "/api/shipments/{shipment_id}/cartons/{number}/label"
# Rows the demo has, so that operations on one reach past the 404 into their work.
KNOWN = """
[parameters]
"path.order_id" = 3
"path.sku" = "SKU-0004"
"""


def test_no_generated_request_gets_a_5xx_or_breaks_the_schema(
    empty_database_url: str, tmp_path: Path
) -> None:
    url = empty_database_url
    warehouse_command(url, "init")
    warehouse_command(url, "demo")
    token = warehouse_command(url, "token", "create", "ada").strip().splitlines()[-1]
    settings = tmp_path / "schemathesis.toml"
    settings.write_text(KNOWN)
    with running_service(url) as base:
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(settings),
                "run",
                f"{base}/api/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--generation-database",
                "none",
                "--exclude-path",
                SKIPPED,
                "--no-color",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # where it keeps its cache
        )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "passed" in run.stdout and "Tested: " in run.stdout, run.stdout
