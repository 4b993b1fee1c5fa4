#!/usr/bin/python3
"""A client that knows only the .proto files walks the whole organisation.

It compiles proto/ into a descriptor set with protoc, builds message classes from it at run
time (no generated code), and calls OrgService over plain gRPC with the bearer token of
$OPSTEAM_TOKEN: every department through ListDepartments (children, all pages) and every
position through ListPositions and GetPosition. Prints one JSON line with what it saw.

usage: OPSTEAM_TOKEN=<jwt> walk_org.py <proto dir> <host:port> <as_of>
"""

import json
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def load_messages(proto_dir):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "org.pb")
        subprocess.run(
            ["protoc", f"--proto_path={proto_dir}", "--include_imports",
             f"--descriptor_set_out={out}", "opsteam/org/v1/org_service.proto"],
            check=True)
        with open(out, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    service = pool.FindServiceByName("opsteam.org.v1.OrgService")
    methods = {}
    for m in service.methods:
        methods[m.name] = (factory.GetPrototype(m.input_type), factory.GetPrototype(m.output_type))
    return methods


def main():
    proto_dir, address, as_of = sys.argv[1:4]
    token = os.environ.get("OPSTEAM_TOKEN", "")
    if not token:
        sys.exit("walk_org.py: OPSTEAM_TOKEN must hold a bearer token")
    metadata = [("authorization", f"Bearer {token}")]
    methods = load_messages(proto_dir)
    channel = grpc.insecure_channel(address)

    def call(method, **fields):
        req_cls, resp_cls = methods[method]
        stub = channel.unary_unary(f"/opsteam.org.v1.OrgService/{method}",
                                   request_serializer=req_cls.SerializeToString,
                                   response_deserializer=resp_cls.FromString)
        return stub(req_cls(**fields), timeout=10, metadata=metadata)

    def pages(method, items, **fields):
        token = ""
        while True:
            resp = call(method, page_size=7, page_token=token, **fields)
            yield from getattr(resp, items)
            token = resp.next_page_token
            if not token:
                return

    departments, positions, seats, depth = [], [], 0, 0
    stack = [(d, 0) for d in pages("ListDepartments", "departments", as_of=as_of)]
    while stack:
        dept, level = stack.pop()
        departments.append(dept.name)
        depth = max(depth, level)
        for p in pages("ListPositions", "positions", department=dept.name, as_of=as_of):
            full = call("GetPosition", name=p.name, as_of=as_of).position
            assert full.department == dept.name, (full.name, full.department)
            positions.append(full.name)
            seats += full.headcount
        stack.extend((c, level + 1) for c in
                     pages("ListDepartments", "departments", parent=dept.name, as_of=as_of))
    print(json.dumps({"departments": len(departments), "unique_departments": len(set(departments)),
                      "positions": len(positions), "seats": seats, "depth": depth}))


if __name__ == "__main__":
    main()
