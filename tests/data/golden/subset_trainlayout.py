#!/usr/bin/env python3
"""Cuts model_trainlayout.pt down to its first N tensors, keeping the layout the test is about.

The official training loop's checkpoint (fp16 runs) holds every tensor as a view into one of two
flat storages: '0' for the parameters of two or more dimensions, '1' for the 1-D ones, in
state_dict order. The first N tensors therefore use a prefix of each storage; this keeps those
prefixes and rewrites the pickle with the standard pickle module, which is what torch.save uses
(protocol 2, storages as persistent ids), and stores each entry 64-byte aligned as torch does.
No torch needed. The full file (4 MB, the same 217 tensors as model.pt) is in the repository's
history before this script; the cut one keeps 17 tensors, about 0.2 MB (the GPU machine's carry).

usage: subset_trainlayout.py FULL.pt OUT.pt [N]
"""
import collections, io, pickle, sys, types, zipfile

full, out = sys.argv[1], sys.argv[2]
keep = int(sys.argv[3]) if len(sys.argv) > 3 else 17


# Stand-ins that pickle under torch's names, so the rewritten pickle names the same globals.
class FloatStorage:
    pass


def _rebuild_tensor_v2(*args):
    return View(*args)


torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")
FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
_rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
torch_mod.FloatStorage, utils_mod._rebuild_tensor_v2, torch_mod._utils = FloatStorage, _rebuild_tensor_v2, utils_mod
sys.modules.update({"torch": torch_mod, "torch._utils": utils_mod})


class StorageRef:
    def __init__(self, pid):
        self.key, self.numel = pid[2], pid[4]


class View:
    def __init__(self, storage, offset, size, stride, requires_grad, hooks):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.requires_grad, self.hooks = requires_grad, hooks

    def numel(self):
        n = 1
        for s in self.size:
            n *= s
        return n

    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, self.requires_grad, self.hooks))


class Reader(pickle.Unpickler):
    def persistent_load(self, pid):
        return StorageRef(pid)


class Writer(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


src = zipfile.ZipFile(full)
state = Reader(io.BytesIO(src.read("archive/data.pkl"))).load()
cut = collections.OrderedDict(list(state.items())[:keep])
cut._metadata = state._metadata
used = collections.defaultdict(int)
for view in cut.values():
    used[view.storage.key] = max(used[view.storage.key], view.offset + view.numel())
refs = {key: StorageRef(("storage", None, key, "cpu", n)) for key, n in used.items()}
for view in cut.values():
    view.storage = refs[view.storage.key]
buf = io.BytesIO()
Writer(buf, protocol=2).dump(cut)

entries = [("archive/data.pkl", buf.getvalue())]
entries += [(f"archive/data/{key}", src.read(f"archive/data/{key}")[: 4 * n]) for key, n in sorted(used.items())]
entries.append(("archive/version", src.read("archive/version")))
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    for name, data in entries:
        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
        start = z.fp.tell() + 30 + len(name) + 4  # local header, name, the padding field's own header
        info.extra = b"FB" + ((-start) % 64).to_bytes(2, "little") + bytes((-start) % 64)
        z.writestr(info, data)
print(f"{out}: {len(cut)} of {len(state)} tensors, storages {dict(used)} floats")
