"""A typed XLA FFI handler written in Python: XLA:CPU calls it like a compiled custom call.

``jax.pure_callback`` would do the same job, but JAX never writes a program with host callbacks to the
persistent compilation cache, so every process would compile the engine's segment program again (4–13 s per
shape). A custom call is named in the program instead, and the name is resolved when the program runs: the
program is cacheable, and the handler only has to be registered (on import) before it runs.

The handler speaks XLA's FFI C ABI (``xla/ffi/api/c_api.h``, shipped with jaxlib: ``jax.ffi.include_dir()``)
through ctypes. Only the structures a handler reads are mirrored here: the call frame, its argument and
result lists, a buffer, and the metadata extension through which XLA asks, at registration, which FFI
version the handler was written for. ``tests/test_jax_libm.py`` checks the pow handler and a failing one,
``tests/test_jax_engine.py`` that the engine's program reaches the cache.
"""
from __future__ import annotations

import ctypes as C
from typing import Callable

import jax
import numpy as np

API_VERSION = (0, 3)  # the c_api.h these structures follow (jaxlib 0.10.2; 0.11.2's 0.4 kept them)
METADATA_EXTENSION = 1  # XLA_FFI_Extension_Metadata
EXECUTE = 3  # XLA_FFI_ExecutionStage_EXECUTE
DTYPES = {1: np.bool_, 12: np.float64}  # XLA_FFI_DataType_PRED, _F64: the two the engine passes


class ExtensionBase(C.Structure):
    pass


ExtensionBase._fields_ = [("struct_size", C.c_size_t), ("type", C.c_int), ("next", C.POINTER(ExtensionBase))]


class ApiVersion(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("extension_start", C.c_void_p),
                ("major_version", C.c_int), ("minor_version", C.c_int)]


class Metadata(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("api_version", ApiVersion), ("traits", C.c_uint32),
                ("state_type_id", C.c_int64)]


class MetadataExtension(C.Structure):
    _fields_ = [("extension_base", ExtensionBase), ("metadata", C.POINTER(Metadata))]


class Buffers(C.Structure):
    """XLA_FFI_Args and XLA_FFI_Rets, which have the same layout."""
    _fields_ = [("struct_size", C.c_size_t), ("extension_start", C.c_void_p), ("size", C.c_int64),
                ("types", C.c_void_p), ("items", C.POINTER(C.c_void_p))]


class Attrs(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("extension_start", C.c_void_p), ("size", C.c_int64),
                ("types", C.c_void_p), ("names", C.c_void_p), ("attrs", C.c_void_p)]


class CallFrame(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("extension_start", C.POINTER(ExtensionBase)), ("api", C.c_void_p),
                ("ctx", C.c_void_p), ("stage", C.c_int), ("args", Buffers), ("rets", Buffers), ("attrs", Attrs),
                ("future", C.c_void_p)]


class Buffer(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("extension_start", C.c_void_p), ("dtype", C.c_int),
                ("data", C.c_void_p), ("rank", C.c_int64), ("dims", C.POINTER(C.c_int64))]


HANDLER = C.CFUNCTYPE(C.c_void_p, C.POINTER(CallFrame))  # returns an XLA_FFI_Error*, NULL for success
_registered: dict[str, object] = {}  # the ctypes trampolines must outlive every call


def buffer_array(pointer) -> np.ndarray:
    """An XLA buffer as a flat NumPy array over the same memory (no copy)."""
    buffer = C.cast(pointer, C.POINTER(Buffer)).contents
    size = int(np.prod([buffer.dims[i] for i in range(buffer.rank)], dtype=np.int64))
    dtype = np.dtype(DTYPES[buffer.dtype])
    return np.ctypeslib.as_array(C.cast(buffer.data, C.POINTER(C.c_char)), (size * dtype.itemsize,)).view(dtype)


def register_cpu_handler(name: str, compute: Callable[[list[np.ndarray], list[np.ndarray]], None]) -> None:
    """Register ``compute(arguments, results)`` as the XLA:CPU custom call ``name``; it fills the results in place.

    An exception inside the handler cannot be reported through ctypes, so it fills the results with NaN,
    which every parity check catches, instead of leaving them unwritten.
    """
    def handler(frame_pointer):
        frame = frame_pointer.contents
        if frame.extension_start and frame.extension_start.contents.type == METADATA_EXTENSION:
            metadata = C.cast(frame.extension_start, C.POINTER(MetadataExtension)).contents.metadata.contents
            metadata.api_version.major_version, metadata.api_version.minor_version = API_VERSION
            metadata.traits = 0
            return None
        if frame.stage != EXECUTE:
            return None
        results = [buffer_array(frame.rets.items[i]) for i in range(frame.rets.size)]
        try:
            compute([buffer_array(frame.args.items[i]) for i in range(frame.args.size)], results)
        except Exception:  # noqa: BLE001  (see the docstring)
            for r in results:
                r[...] = np.nan
        return None

    trampoline = HANDLER(handler)
    new_capsule = C.pythonapi.PyCapsule_New
    new_capsule.restype, new_capsule.argtypes = C.py_object, [C.c_void_p, C.c_char_p, C.c_void_p]
    jax.ffi.register_ffi_target(name, new_capsule(C.cast(trampoline, C.c_void_p).value, None, None),
                                platform="cpu", api_version=1)
    _registered[name] = trampoline
