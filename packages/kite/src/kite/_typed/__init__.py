"""Typed methods: plain Python functions served as kite methods.

`_types` compiles an annotation into a converter and a JSON Schema, `_signature` binds a
request's `withArgs` to a function's parameters, `_handler` registers the function
(`Kite.method`).
"""

from ._handler import MethodRegistry, describe_signature, register_method, typed_handler
from ._signature import Param, TypedSignature, compile_signature
from ._types import MismatchError, TypeSpec, compile_type, describe_value

__all__ = [
    "MethodRegistry",
    "MismatchError",
    "Param",
    "TypeSpec",
    "TypedSignature",
    "compile_signature",
    "compile_type",
    "describe_signature",
    "describe_value",
    "register_method",
    "typed_handler",
]
