"""The C-API functions generated code may call, by name, with their C signatures.

Result kinds (what the lowering must do with the result):
  new       a new reference, NULL with an exception set on error
  borrowed  a borrowed reference, NULL (maybe with an exception) when absent
  status    int: -1 with an exception set on error (>= 0 otherwise)
  value     a plain value that cannot fail
"""

# name: (result kind, result C type, parameter C types)
CAPI = {
    # numbers
    **{f"PyNumber_{n}": ("new", "obj", ["obj", "obj"]) for n in (
        "Add", "And", "FloorDivide", "Lshift", "MatrixMultiply", "Multiply", "Remainder",
        "Or", "Rshift", "Subtract", "TrueDivide", "Xor",
        "InPlaceAdd", "InPlaceAnd", "InPlaceFloorDivide", "InPlaceLshift",
        "InPlaceMatrixMultiply", "InPlaceMultiply", "InPlaceRemainder", "InPlaceOr",
        "InPlaceRshift", "InPlaceSubtract", "InPlaceTrueDivide", "InPlaceXor")},
    "PyNumber_Power": ("new", "obj", ["obj", "obj", "obj"]),
    "PyNumber_InPlacePower": ("new", "obj", ["obj", "obj", "obj"]),
    "PyNumber_Negative": ("new", "obj", ["obj"]),
    "PyNumber_Positive": ("new", "obj", ["obj"]),
    "PyNumber_Invert": ("new", "obj", ["obj"]),
    "PyLong_FromLong": ("new", "obj", ["ssize"]),
    "PyFloat_FromDouble": ("new", "obj", ["double"]),
    "PyBool_FromLong": ("new", "obj", ["ssize"]),
    "PyObject_Size": ("status", "ssize", ["obj"]),
    "PyObject_IsInstance": ("status", "int", ["obj", "obj"]),
    "PyType_IsSubtype": ("value", "int", ["ptr", "ptr"]),   # reads tp_mro / tp_base
    # libm (loaded with libpython), for math.sqrt/sin/cos on C doubles
    "sqrt": ("value", "f64", ["f64"]),
    "sin": ("value", "f64", ["f64"]),
    "cos": ("value", "f64", ["f64"]),
    # objects
    "PyObject_RichCompare": ("new", "obj", ["obj", "obj", "int"]),
    "PyObject_IsTrue": ("status", "int", ["obj"]),
    "_PyUnicode_Equal": ("value", "int", ["obj", "obj"]),     # two exact strs: 1 if equal
    "PyObject_GetAttr": ("new", "obj", ["obj", "obj"]),
    "PyObject_SetAttr": ("status", "int", ["obj", "obj", "obj"]),
    "_PyObject_GetMethod": ("status", "int", ["obj", "obj", "ptr"]),
    "PyObject_GetItem": ("new", "obj", ["obj", "obj"]),
    "PyObject_SetItem": ("status", "int", ["obj", "obj", "obj"]),
    "PyObject_DelItem": ("status", "int", ["obj", "obj"]),
    "PyObject_GetIter": ("new", "obj", ["obj"]),
    "PyIter_Next": ("new", "obj", ["obj"]),
    # PySendResult: PYGEN_ERROR -1 (exception set), PYGEN_RETURN 0, PYGEN_NEXT 1
    "PyIter_Send": ("status", "int", ["obj", "obj", "ptr"]),
    # PyIter_Send and PyIter_Next resuming a suspended generator (coroutine) through
    # coconut_hook without the layers between (runtime/coroutines.py)
    "coconut_send": ("status", "int", ["ptr", "obj", "obj", "ptr"]),
    "coconut_gen_next": ("new", "obj", ["ptr", "obj"]),
    "PySequence_Contains": ("status", "int", ["obj", "obj"]),
    "PySequence_GetItem": ("new", "obj", ["obj", "ssize"]),
    "PySequence_SetItem": ("status", "int", ["obj", "ssize", "obj"]),
    "PyObject_Format": ("new", "obj", ["obj", "obj"]),
    "PyObject_Str": ("new", "obj", ["obj"]),
    "PyObject_Repr": ("new", "obj", ["obj"]),
    "PyObject_ASCII": ("new", "obj", ["obj"]),
    # containers
    "PyTuple_New": ("new", "obj", ["ssize"]),
    "PyList_New": ("new", "obj", ["ssize"]),
    "PyList_Append": ("status", "int", ["obj", "obj"]),
    "PySet_New": ("new", "obj", ["obj"]),
    "PySet_Add": ("status", "int", ["obj", "obj"]),
    "_PyDict_NewPresized": ("new", "obj", ["ssize"]),
    "PyDict_SetItem": ("status", "int", ["obj", "obj", "obj"]),
    "PyDict_GetItemWithError": ("borrowed", "obj", ["obj", "obj"]),
    "PySlice_New": ("new", "obj", ["obj", "obj", "obj"]),
    "_PyUnicode_JoinArray": ("new", "obj", ["obj", "ptr", "ssize"]),
    "PySequence_Tuple": ("new", "obj", ["obj"]),
    # functions and cells
    "PyFunction_New": ("new", "obj", ["obj", "obj"]),
    "PyCell_New": ("new", "obj", ["obj"]),
    # errors
    "PyErr_Occurred": ("borrowed", "obj", []),
    "PyErr_SetObject": ("value", "void", ["obj", "obj"]),
    # runtime
    "_PyEval_EvalFrameDefault": ("new", "obj", ["ptr", "ptr", "int"]),
    "_Py_CheckRecursiveCall": ("status", "int", ["ptr", "ptr"]),
    "_Py_Dealloc": ("value", "void", ["obj"]),
    "Py_MakePendingCalls": ("status", "int", []),
    "PyEval_SaveThread": ("value", "ptr", []),
    "PyEval_RestoreThread": ("value", "void", ["ptr"]),
    # coconut's own runtime helpers (emitted by coconut.runtime, called by address)
    "coconut_eval_breaker": ("value", "int", ["ptr"]),
    "coconut_resume": ("new", "obj", ["ptr", "ptr", "int"]),
    "coconut_deopt_check": ("value", "int", ["ptr"]),
    # PyObject_Vectorcall's contract, with the thread state first (runtime/calls.py)
    "coconut_call": ("new", "obj", ["ptr", "obj", "ptr", "u64", "obj"]),
    # an inlined callee's frame, materialized: pushed (taking `n` values), then run
    # and/or cleared and popped (runtime/calls.py, lowering/inline.py)
    "coconut_inl_push": ("value", "ptr", ["ptr", "obj", "ssize", "ssize", "ptr", "ssize"]),
    "coconut_inl_dealloc": ("value", "void", ["ptr", "obj", "ssize", "obj", "ptr", "ssize"]),
    "coconut_inl_finish": ("new", "obj", ["ptr", "ptr", "int", "obj"]),
    # LOAD_GLOBAL's lookup, refilling the site's cache (runtime/namespaces.py)
    "coconut_load_global": ("borrowed", "obj", ["obj", "obj", "obj", "ptr"]),
    # a class attribute read through an instance, filling the site's cache; NULL (no
    # exception): not one (runtime/attributes.py)
    "coconut_class_attr": ("borrowed", "obj", ["obj", "obj", "ptr"]),
    # an attribute / an unbound method from the site's polymorphic cache, filling it;
    # NULL (no exception): the generic lookup (runtime/pic.py)
    "coconut_attr_pic": ("borrowed", "obj", ["obj", "obj", "ptr"]),
    "coconut_method_pic": ("borrowed", "obj", ["obj", "obj", "ptr"]),
    # STORE_ATTR through the site's polymorphic cache: the old value (NULL: none), and
    # *stored whether `value` was stored (its reference taken)
    "coconut_store_pic": ("value", "obj", ["obj", "obj", "obj", "ptr", "ptr"]),
    # an unboxed local boxed into its frame slot, the stale box released (virtual.py)
    "coconut_sync_i64": ("value", "void", ["ptr", "ssize", "ssize"]),
    "coconut_sync_f64": ("value", "void", ["ptr", "ssize", "double"]),
    "coconut_sync_bool": ("value", "void", ["ptr", "ssize", "ssize"]),
    # new reference; NULL with an exception set, or without one: deopt (coroutines.py)
    "coconut_get_awaitable": ("new", "obj", ["obj"]),
    # GET_AITER / GET_ANEXT with ceval's messages (coroutines.py)
    "coconut_get_aiter": ("new", "obj", ["obj"]),
    "coconut_get_anext": ("new", "obj", ["obj"]),
    "coconut_async_gen_wrap": ("new", "obj", ["ptr", "obj"]),     # ASYNC_GEN_WRAP's wrapper
    # `x in seq` of an exact str (contains.py): 1, 0, -2: not answered
    "coconut_contains_str": ("value", "int", ["obj", "obj"]),
    # `s += t` of strs into the slot `s` came from, in place where it can (str_append.py)
    "coconut_str_iadd": ("new", "obj", ["obj", "obj"]),
    # PyObject_IsTrue where no code runs: 1, 0; -2: not answered (truth.py)
    "coconut_truth": ("value", "int", ["obj"]),
    # RETURN_GENERATOR: the generator; NULL with an exception, or without one: deopt
    "coconut_return_generator": ("new", "obj", ["ptr", "ptr"]),
    "PyErr_GivenExceptionMatches": ("value", "int", ["obj", "obj"]),
    # exception handlers (runtime/exceptions.py): the caught exception, a new reference
    # (never NULL); CHECK_EXC_MATCH's test
    "coconut_catch": ("value", "obj", ["int"]),
    "coconut_exc_match": ("status", "int", ["obj", "obj"]),
    # RAISE_VARARGS's do_raise: steals exc and cause; 1: a bare re-raise (no new
    # traceback entry), 0: raised (runtime/exceptions.py)
    "coconut_do_raise": ("value", "int", ["ptr", "obj", "obj"]),
    # an ErrorExit that leaves the frame: always NULL (runtime/exceptions.py)
    "coconut_raise_out": ("new", "obj", ["ptr", "ptr", "int"]),
    # MATCH_CLASS / MATCH_KEYS: a tuple, None (no match) or NULL (runtime/patterns.py)
    "coconut_match_class": ("new", "obj", ["obj", "obj", "ssize", "obj"]),
    "coconut_match_keys": ("new", "obj", ["obj", "obj"]),
    "PyException_GetTraceback": ("new", "obj", ["obj"]),   # NULL (no exception) if none
    "PyErr_Restore": ("value", "void", ["obj", "obj", "obj"]),   # steals all three
    # namespaces, imports, unpacking (coconut.lowering.namespace_ops)
    "PyDict_New": ("new", "obj", []),
    "PyDict_DelItem": ("status", "int", ["obj", "obj"]),
    "PyDict_Update": ("status", "int", ["obj", "obj"]),
    "_PyDict_MergeEx": ("status", "int", ["obj", "obj", "int"]),
    "_PyDict_Next": ("value", "int", ["obj", "ptr", "ptr", "ptr", "ptr"]),
    "_PyDict_Contains_KnownHash": ("status", "int", ["obj", "obj", "ssize"]),
    "PyModule_GetDict": ("borrowed", "obj", ["obj"]),
    "PyImport_ImportModuleLevelObject": ("new", "obj", ["obj", "obj", "obj", "obj", "int"]),
    "_PyLong_AsInt": ("value", "int", ["obj"]),   # -1 with an exception set on error
    "_PyType_Lookup": ("borrowed", "obj", ["ptr", "obj"]),   # never sets an exception
    "_PyObject_LookupSpecial": ("new", "obj", ["obj", "obj"]),
    "PyObject_CallNoArgs": ("new", "obj", ["obj"]),
    "PyObject_Call": ("new", "obj", ["obj", "obj", "obj"]),
    "_PyList_Extend": ("new", "obj", ["obj", "obj"]),
    "PyList_AsTuple": ("new", "obj", ["obj"]),
    "PyList_GetItem": ("borrowed", "obj", ["obj", "ssize"]),
    "PyList_GetSlice": ("new", "obj", ["obj", "ssize", "ssize"]),
    "PyTuple_GetItem": ("borrowed", "obj", ["obj", "ssize"]),
    "PyTuple_GetSlice": ("new", "obj", ["obj", "ssize", "ssize"]),
    "PySequence_List": ("new", "obj", ["obj"]),
    "PySequence_Check": ("value", "int", ["obj"]),
    "_PySet_Update": ("status", "int", ["obj", "obj"]),
    "PyErr_ExceptionMatches": ("value", "int", ["obj"]),
    "PyErr_Clear": ("value", "void", []),
}
