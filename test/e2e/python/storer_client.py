"""A StorerService client in Python, generated from gen/wolk.binpb (see docs/contracts.md).

Stores and reads a chunk and a file against a storer, computing the chunk id and the filehash itself
from the definitions in lib/merkle/file.ts, so it also checks that another language derives the same
filehash as the storer. Prints one JSON object with what it observed.

Usage: PYTHONPATH=<generated stubs> python3 storer_client.py HOST:PORT
"""
import hashlib
import json
import os
import sys

import grpc
from wolk.common.v1 import storage_pb2
from wolk.storer.v1 import storer_pb2, storer_pb2_grpc

CHUNK = 4096


def sha256(b):
    return hashlib.sha256(b).digest()


def tree_root(leaves):
    """RFC 6962 MTH over leaf hashes: split at the largest power of two below n."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + tree_root(leaves[:k]) + tree_root(leaves[k:]))


def filehash(data, chunk_size=CHUNK):
    leaves = [sha256(b"\x00" + data[i:i + chunk_size]) for i in range(0, len(data), chunk_size)]
    return sha256(b"\x02" + len(data).to_bytes(8, "big") + chunk_size.to_bytes(4, "big") + tree_root(leaves))


def set_file(stub, info, data, piece=65536):
    def messages():
        yield storer_pb2.SetFileRequest(info=info)
        for i in range(0, len(data), piece):
            yield storer_pb2.SetFileRequest(data=data[i:i + piece])
    return stub.SetFile(messages(), timeout=60)


def get_file(stub, fh, **kw):
    out = bytearray()
    first_info = None
    for msg in stub.GetFile(storer_pb2.GetFileRequest(filehash=fh, **kw), timeout=60):
        if first_info is None:
            first_info = msg.info
        out += msg.data
    return bytes(out), first_info


def main():
    endpoint = sys.argv[1]
    stub = storer_pb2_grpc.StorerServiceStub(grpc.insecure_channel(endpoint))
    result = {}

    info = stub.GetInfo(storer_pb2.GetInfoRequest(), timeout=30)
    result["storer_id"] = info.storer_id.hex()

    chunk = os.urandom(4000)
    res = stub.SetShare(storer_pb2.SetShareRequest(data=chunk, chunk_id=sha256(chunk)), timeout=30)
    result["chunk_id_matches"] = res.chunk_id == sha256(chunk)
    got = stub.GetShare(storer_pb2.GetShareRequest(chunk_id=sha256(chunk)), timeout=30)
    result["chunk_round_trip"] = got.data == chunk

    data = os.urandom(1024 * 1024 + 777)
    fh = filehash(data)
    result["filehash"] = fh.hex()
    file_info = storage_pb2.FileInfo(filehash=fh, size=len(data), chunk_size=CHUNK)
    # Before the real upload: once a filehash is stored, SetFile answers at once without reading.
    bad = bytearray(data)
    bad[5] ^= 1
    try:
        set_file(stub, file_info, bytes(bad))
        result["tampered_upload"] = "OK"
    except grpc.RpcError as e:
        result["tampered_upload"] = e.code().name

    stored = set_file(stub, file_info, data)
    result["replica_root_len"] = len(stored.replica_root)
    whole, first_info = get_file(stub, fh)
    result["file_round_trip"] = whole == data
    result["first_message_info_size"] = first_info.size
    part, _ = get_file(stub, fh, offset=len(data) - 100, length=50)
    result["range_read"] = part == data[len(data) - 100:len(data) - 50]

    try:
        get_file(stub, fh, offset=len(data) + 1)
        result["past_end"] = "OK"
    except grpc.RpcError as e:
        result["past_end"] = e.code().name

    audit = stub.VerifyFile(storer_pb2.VerifyFileRequest(filehash=fh, challenge=os.urandom(32), k=4), timeout=30).audit
    result["audit_leaves"] = len(audit.leaves)
    result["audit_chunks_are_file_chunks"] = all(
        leaf.chunk == data[leaf.file_branch.leaf_index * CHUNK:(leaf.file_branch.leaf_index + 1) * CHUNK] for leaf in audit.leaves
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
