"""Produce the Python-side golden files with the Apache Pulsar 4.0.8
*_pb2.py modules (needs the protobuf runtime they were generated for, 6.31.x).

usage: golden.py PB2_DIR SAMPLES_DIR TESTDATA_DIR
"""
import pathlib
import sys

pb2_dir, samples, out = map(pathlib.Path, sys.argv[1:4])
sys.path.insert(0, str(pb2_dir))

from google.protobuf import json_format  # noqa: E402
import Function_pb2  # noqa: E402
import InstanceCommunication_pb2  # noqa: E402

(out / "json").mkdir(parents=True, exist_ok=True)
for name, cls in [
    ("FunctionDetails", Function_pb2.FunctionDetails),
    ("MetricsData", InstanceCommunication_pb2.MetricsData),
]:
    msg = cls()
    msg.ParseFromString((samples / f"{name}.bin").read_bytes())
    # Defaults: json_name keys, zero values omitted.
    text = json_format.MessageToJson(msg, indent=None)
    (out / "json" / f"{name}.python.json").write_text(text + "\n")
    print(f"json/{name}.python.json")
