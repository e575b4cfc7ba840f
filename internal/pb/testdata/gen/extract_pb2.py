"""Extract the serialized FileDescriptorProto embedded in protoc-generated
*_pb2.py modules, without importing them (no protobuf runtime needed).

usage: extract_pb2.py PB2_DIR OUT_DIR
"""
import ast
import pathlib
import re
import sys

src_dir, out_dir = map(pathlib.Path, sys.argv[1:3])
out_dir.mkdir(parents=True, exist_ok=True)
for pb2 in sorted(src_dir.glob("*_pb2.py")):
    text = pb2.read_text()
    m = re.search(r"AddSerializedFile\((b'.*?')\)\s*$", text, re.S | re.M)
    if not m:
        sys.exit(f"{pb2}: no AddSerializedFile(...) call")
    data = ast.literal_eval(m.group(1))
    out = out_dir / (pb2.name[: -len("_pb2.py")] + ".desc")
    out.write_bytes(data)
    print(f"{out}: {len(data)} bytes")
