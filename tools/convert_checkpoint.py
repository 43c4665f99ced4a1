"""Converts a PyTorch checkpoint of a training-time RepMLP model into the training-time
safetensors file that repmlp-fuse reads:

    /usr/bin/python3 tools/convert_checkpoint.py --arch ARCH [--preset NAME] \\
        [--config JSON|@FILE.json] IN.pth OUT.safetensors

IN.pth is what `torch.save(model.state_dict(), ...)` writes, or a training checkpoint holding
the state_dict under `model` or `state_dict`; `module.` prefixes (DataParallel) are removed and
`num_batches_tracked` buffers dropped. Every tensor name and shape is checked against the model
that --arch/--preset/--config describe (the reference models of tools/fixtures/repmlp_models.py,
the same options as repmlp-fuse), every value must be finite, and OUT holds them as F32 in the
model's state_dict order. Exit status: 0 success, 1 bad checkpoint or config (one line on
stderr naming the file and the tensor or key; OUT is not created), 2 usage error.

The checkpoint is read by an unpickler that builds tensors and plain data only (not torch.load),
so a file from an untrusted source cannot run code.
"""

import argparse
import collections
import json
import os
import pickle
import struct
import sys
import tempfile
import zipfile
from collections.abc import Mapping

TOOL = "convert_checkpoint"
EXIT_FAILED, EXIT_USAGE = 1, 2

try:
    import torch
except ImportError:
    sys.exit(TOOL + ": PyTorch is missing: install Debian's python3-torch")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import repmlp_models as M  # noqa: E402  (the reference models: names and shapes)
import st  # noqa: E402  (safetensors writer)

NEST_KEYS = ("state_dict", "model")  # where training scripts keep the state_dict
MAX_NESTING = 4
PREFIX = "module."  # added by DataParallel / DistributedDataParallel
SKIPPED = "num_batches_tracked"


class Failure(Exception):
    """A bad input: the message names the file and the tensor or key at fault."""

    def __init__(self, where, what, code=EXIT_FAILED):
        super().__init__("%s: %s" % (where, what) if where else what)
        self.code = code


def one_line(text):
    """text on one line: tensor names and error messages come from untrusted files."""
    text = " ".join(str(text).split())
    return "".join("?" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


# ------------------------------------------------------------------------------ options


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as the C tools do
        raise Failure(None, message + " (try --help)", EXIT_USAGE)


def parse_args(argv):
    ap = Parser(prog="convert_checkpoint.py",
                description="Converts a PyTorch checkpoint of a training-time model into the "
                            "training-time safetensors file repmlp-fuse reads with the same "
                            "--arch/--preset/--config.",
                epilog="Exit status: 0 success, 1 bad checkpoint or config, 2 usage error.")
    ap.add_argument("--arch", choices=M.ARCHS, help="architecture (a preset implies it)")
    ap.add_argument("--preset", metavar="NAME", help="one of: " + ", ".join(M.PRESETS))
    ap.add_argument("--config", metavar="JSON",
                    help="constructor parameters as a JSON object (overrides the preset's); "
                         "@FILE.json reads it from a file")
    ap.add_argument("checkpoint", metavar="IN.pth")
    ap.add_argument("output", metavar="OUT.safetensors")
    return ap.parse_args(argv)


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError("key '%s' appears twice" % key)
        seen[key] = value
    return seen


def read_config(arg, where):
    """The --config object (None without --config); @FILE reads it from FILE."""
    if arg is None:
        return None
    text = arg
    if arg.startswith("@"):
        try:
            with open(where, "rb") as f:
                text = f.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise Failure(where, "cannot read the config: %s" % one_line(e))
    try:
        cfg = json.loads(text, object_pairs_hook=_unique_keys)
    except ValueError as e:
        raise Failure(where, "config is not valid JSON: %s" % one_line(e))
    if not isinstance(cfg, dict):
        raise Failure(where, "config is not a JSON object")
    return cfg


def config_source(args):
    """Where the config comes from, for messages."""
    if args.config is None:
        return "%s: --preset %s" % (args.checkpoint, args.preset)
    return args.config[1:] if args.config.startswith("@") else args.checkpoint + ": --config"


def resolve_model(args):
    """(arch, config) from --arch/--preset/--config, as repmlp-fuse resolves them."""
    if args.preset is not None and args.preset not in M.PRESETS:
        raise Failure(None, "unknown preset '%s' (try --help)" % args.preset, EXIT_USAGE)
    if args.preset is not None and args.arch not in (None, M.PRESETS[args.preset][0]):
        raise Failure(None, "preset '%s' is for --arch %s, not %s"
                      % (args.preset, M.PRESETS[args.preset][0], args.arch), EXIT_USAGE)
    if args.preset is None and args.arch is None:
        raise Failure(None, "--arch (or --preset) is required (try --help)", EXIT_USAGE)
    cfg = read_config(args.config, config_source(args))
    if args.preset is not None:
        return M.preset_config(args.preset, cfg)
    if cfg is None:
        raise Failure(args.checkpoint, "--arch %s needs --config%s" % (
            args.arch, " or --preset" if args.arch in ("RepMLPResNet", "RepMLPNet") else ""))
    return args.arch, cfg


def expected_shapes(arch, cfg, where):
    """name -> shape of every tensor of the training-time model, in state_dict order."""
    try:
        model = M.build(arch, cfg)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as e:
        raise Failure(where, "bad %s config: %s" % (arch, one_line(e)))
    return {name: tuple(t.shape) for name, t in model.state_dict().items()
            if not name.endswith(SKIPPED)}


# ------------------------------------------------------------------------------ checkpoint


# A checkpoint is read without torch.load: PyTorch 1.13's weights_only loader refuses float values,
# which training checkpoints hold (learning rates, metrics), and its torch.load ignores a
# restricted pickle_module. What follows reads both torch.save formats (the zip archive of
# PyTorch >= 1.6 and the older single stream) with an unpickler that knows only tensors and
# plain data, so a file from an untrusted source cannot run code.

STORAGE_DTYPES = {  # torch.save's storage type names
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16, "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64, "IntStorage": torch.int32, "ShortStorage": torch.int16,
    "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
    "ComplexFloatStorage": torch.complex64, "ComplexDoubleStorage": torch.complex128,
}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first value of a pre-1.6 torch.save stream


class BadFile(Exception):
    """Something in the checkpoint that is not as torch.save writes it."""


class StorageKind:
    """What the unpickler returns for a storage type name."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.itemsize = torch.empty((), dtype=dtype).element_size()


def _ints(values, what):
    if not (isinstance(values, (tuple, list)) and
            all(isinstance(v, int) and v >= 0 for v in values)):
        raise BadFile("bad tensor record (%s)" % what)
    return list(values)


def rebuild_tensor(storage, offset, size, stride, *_):
    """torch._utils._rebuild_tensor_v2: a view of storage, checked to lie inside it."""
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    (offset,) = _ints([offset], "offset")
    if not isinstance(storage, torch.Tensor) or len(size) != len(stride):
        raise BadFile("bad tensor record")
    if all(size) and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= storage.numel():
        raise BadFile("a tensor reaches past its storage")
    return torch.as_strided(storage, size, stride, offset)


def rebuild_parameter(data, *_):
    """torch._utils._rebuild_parameter(_with_state): the parameter's tensor."""
    if not isinstance(data, torch.Tensor):
        raise BadFile("bad parameter record")
    return data


GLOBALS = {  # every global torch.save writes for tensors, parameters and state_dicts
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
}


class SafeUnpickler(pickle.Unpickler):
    """Builds tensors and plain data only; any other class or function the file names is
    refused. `storage(kind, key, numel, view)` supplies the storage tensors."""

    def __init__(self, file, storage=None):
        super().__init__(file, encoding="utf-8")
        self.storage = storage

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageKind(STORAGE_DTYPES[name])
        if (module, name) not in GLOBALS:
            raise BadFile("it names %s.%s; only tensors and plain data load (save "
                          "model.state_dict())" % (module, name))
        return GLOBALS[(module, name)]

    def persistent_load(self, pid):
        if not (self.storage and isinstance(pid, tuple) and len(pid) in (5, 6) and
                pid[0] == "storage" and isinstance(pid[1], StorageKind) and
                isinstance(pid[2], str)):
            raise BadFile("bad storage record")
        (numel,) = _ints([pid[4]], "storage size")
        return self.storage(pid[1], pid[2], numel, pid[5] if len(pid) == 6 else None)


def _storage_tensor(kind, data):
    return torch.frombuffer(bytearray(data), dtype=kind.dtype) if data else \
        torch.empty(0, dtype=kind.dtype)


def load_zip(path):
    """PyTorch >= 1.6: a zip archive of `<name>/data.pkl` and one record per storage."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise BadFile("a zip file, but not one torch.save wrote")
        prefix = pickles[0][: -len("data.pkl")]
        if prefix + "byteorder" in names and z.read(prefix + "byteorder") != b"little":
            raise BadFile("a big-endian checkpoint")
        storages = {}

        def storage(kind, key, numel, view):
            if key not in storages:
                record = prefix + "data/" + key
                if record not in names or z.getinfo(record).file_size != numel * kind.itemsize:
                    raise BadFile("storage record %s is missing or of the wrong size" % record)
                storages[key] = _storage_tensor(kind, z.read(record))
            if storages[key].dtype != kind.dtype:
                raise BadFile("storage %s is read as two dtypes" % key)
            return storages[key]

        with z.open(pickles[0]) as f:
            return SafeUnpickler(f, storage).load()


def load_legacy(path):
    """Before PyTorch 1.6: pickled magic number, version, system info, the object, the storage
    keys, then each storage's element count (int64) and data."""
    with open(path, "rb") as f:
        if SafeUnpickler(f).load() != LEGACY_MAGIC:
            raise BadFile("not a PyTorch checkpoint")
        SafeUnpickler(f).load()  # protocol version
        info = SafeUnpickler(f).load()
        if not isinstance(info, dict) or info.get("little_endian") is not True:
            raise BadFile("a big-endian checkpoint")
        storages = {}

        def storage(kind, key, numel, view):
            if key not in storages:
                storages[key] = torch.empty(numel, dtype=kind.dtype)  # filled below
            root = storages[key]
            if root.dtype != kind.dtype:
                raise BadFile("storage %s is read as two dtypes" % key)
            if view is None:
                return root
            _, offset, size = view
            (offset, size) = _ints([offset, size], "storage view")
            if offset + size > root.numel():
                raise BadFile("a storage view reaches past its storage")
            return root[offset: offset + size]

        result = SafeUnpickler(f, storage).load()
        keys = SafeUnpickler(f).load()
        if not isinstance(keys, list) or set(keys) != set(storages):
            raise BadFile("the storage list does not match the object")
        for key in keys:
            root = storages[key]
            header = f.read(8)
            nbytes = root.numel() * root.element_size()
            if len(header) != 8 or struct.unpack("<q", header)[0] != root.numel():
                raise BadFile("storage %s is truncated or of the wrong size" % key)
            data = f.read(nbytes)
            if len(data) != nbytes:
                raise BadFile("storage %s is truncated" % key)
            if nbytes:
                root.copy_(torch.frombuffer(bytearray(data), dtype=root.dtype))
        return result


def load_checkpoint(path):
    """The object torch.save wrote to path; only tensors and plain data are built."""
    try:
        with open(path, "rb") as f:
            is_zip = f.read(4) == b"PK\x03\x04"
        return load_zip(path) if is_zip else load_legacy(path)
    except Exception as e:  # BadFile, OSError, zip and unpickling errors, ...
        raise Failure(path, "cannot load it as a PyTorch checkpoint: %s" % one_line(e))


def find_state_dict(obj, path):
    """The state_dict: obj itself, or obj['state_dict'] / obj['model'], nested."""
    for _ in range(MAX_NESTING):
        if not isinstance(obj, Mapping):
            break
        inner = [obj[k] for k in NEST_KEYS if isinstance(obj.get(k), Mapping)]
        if not inner:
            return obj
        obj = inner[0]
    raise Failure(path, "holds no state_dict (a %s where a dict of tensors was expected)"
                  % type(obj).__name__)


def clean_names(state_dict, path):
    """The entries with `module.` prefixes removed and num_batches_tracked dropped."""
    out = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise Failure(path, "entry %s: the name is not a string" % one_line(repr(name)))
        key = name[len(PREFIX):] if name.startswith(PREFIX) else name
        if key == SKIPPED or key.endswith("." + SKIPPED):
            continue
        if key in out:
            raise Failure(path, "tensor '%s' appears twice (with and without '%s')"
                          % (one_line(key), PREFIX))
        out[key] = value
    return out


def check_entry(name, value, shape, path):
    """value as an F32 tensor of the expected shape, or a Failure naming the tensor."""
    what = "tensor '%s'" % one_line(name)
    if shape is None:
        raise Failure(path, "unexpected %s (not part of this model)" % what)
    if not isinstance(value, torch.Tensor):
        raise Failure(path, "entry '%s' is a %s, not a tensor" % (one_line(name),
                                                                type(value).__name__))
    if not value.is_floating_point():
        raise Failure(path, "%s has dtype %s; floating point expected"
                      % (what, str(value.dtype).replace("torch.", "")))
    if tuple(value.shape) != shape:
        raise Failure(path, "%s has shape %s; this model needs %s"
                      % (what, list(value.shape), list(shape)))
    if not torch.isfinite(value).all():
        raise Failure(path, "%s holds NaN or infinite values" % what)
    f32 = value.detach().to(torch.float32).contiguous()
    if not torch.isfinite(f32).all():
        raise Failure(path, "%s holds values beyond the F32 range" % what)
    return f32


def convert(tensors, shapes, path):
    """The checked F32 tensors in state_dict order."""
    checked = {name: check_entry(name, value, shapes.get(name), path)
               for name, value in tensors.items()}
    for name in shapes:
        if name not in checked:
            raise Failure(path, "tensor '%s' is missing" % name)
    return {name: checked[name] for name in shapes}


# ------------------------------------------------------------------------------ output


def write_atomic(path, tensors):
    """Writes a temporary file beside path, syncs it and renames it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                   dir=directory)
    except OSError as e:
        raise Failure(path, "cannot write: %s" % one_line(e.strerror or e))
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; give it a normal file's mode
        st.save(tmp, tensors, {"format": "pt"})
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise Failure(path, "cannot write: %s" % one_line(e.strerror or e))
        raise


def main(argv):
    args = parse_args(argv)
    arch, cfg = resolve_model(args)
    shapes = expected_shapes(arch, cfg, config_source(args))
    state_dict = find_state_dict(load_checkpoint(args.checkpoint), args.checkpoint)
    tensors = convert(clean_names(state_dict, args.checkpoint), shapes, args.checkpoint)
    write_atomic(args.output, tensors)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Failure as e:
        print(TOOL + ": " + one_line(e), file=sys.stderr)
        sys.exit(e.code)
