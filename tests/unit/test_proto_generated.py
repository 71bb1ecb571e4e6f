"""The committed gRPC/protobuf code must match what `make proto` generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("query_pb2.py", "query_pb2.pyi", "query_pb2_grpc.py")


def test_committed_generated_code_is_up_to_date(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT / "proto"),
         f"--python_out={tmp_path}", f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}",
         str(ROOT / "proto/faultline/v1/query.proto")],
        check=True,
    )
    for name in GENERATED:
        fresh = (tmp_path / "faultline/v1" / name).read_text()
        committed = (ROOT / "libs/core/faultline/v1" / name).read_text()
        assert committed == fresh, f"{name} is stale: run `make proto` and commit"
