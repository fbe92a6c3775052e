"""Whether a SavedModel is safe to load without trusting its author.

A SavedModel is a program: its graph may hold operations that read, write or delete files,
or run Python, and `tf.saved_model.load` runs some of its functions while loading (resource
initializers, custom restore functions) and the rest when called. So a SavedModel is loaded
only when the user says it is trusted, or when it has the shape of one this package exports
(`exporting.export_serving`), checked here statically, before TensorFlow runs any of it:

- a TensorFlow 2 SavedModel with an object graph (a TF1 one has its init and restore ops
  run by the loader), holding only plain objects, functions and variables (no resources,
  assets or custom restore functions, which run at load time);
- every operation in the functions the loader can call, and in the functions they call, is
  one of the pure computations this package's models and pre/post-processing use
  (`COMPUTE_OPS`): no file, process, Python or network operation.

The checkpoint functions that TF1 and C++ loaders call (`saver_def`) hold SaveV2/RestoreV2;
TensorFlow 2's `tf.saved_model.load` never calls them (it restores variables with its own
ops), so they are allowed to hold those, as long as nothing the loader calls reaches them.
"""

from pathlib import Path

from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import saved_model_pb2

from keras_colorize.errors import ModelLoadError

# Ops of the serving graphs that `export_serving` writes for every registered model, and the
# elementwise, shape and control-flow relatives a new model may add. None touches the outside
# world; an op missing here makes an export of a new model need --trust-savedmodel, not unsafe.
COMPUTE_OPS = frozenset("""
    Abs Add AddN AddV2 All Any ArgMax ArgMin AssignVariableOp AvgPool BatchMatMulV2 BatchToSpaceND
    BiasAdd BroadcastArgs BroadcastTo Cast Ceil ClipByValue ConcatV2 Const Conv2D
    Conv2DBackpropInput Cos Cumsum DepthToSpace DepthwiseConv2dNative DisableCopyOnRead Einsum Elu
    EnsureShape Equal Erf Exp ExpandDims Fill Floor FloorDiv FloorMod FusedBatchNormV3 GatherNd GatherV2 Greater
    GreaterEqual Identity IdentityN If LeakyRelu Less LessEqual Log Log1p LogicalAnd LogicalNot
    LogicalOr LogSoftmax MatMul Max MaxPool Maximum Mean Min Minimum MirrorPad Mul Neg NoOp NotEqual
    OneHot Pack Pad PadV2 PartitionedCall Pow Prod Range Rank ReadVariableOp RealDiv Reciprocal Relu
    Relu6 Reshape ResizeArea ResizeBilinear ResizeNearestNeighbor ReverseV2 Round Rsqrt ScaleAndTranslate
    Select SelectV2 Selu Shape ShapeN Sigmoid Sign Sin Size Slice Softmax Softplus SpaceToBatchND
    SpaceToDepth Split SplitV Sqrt Square SquaredDifference Squeeze StatefulPartitionedCall
    StatelessIf StatelessWhile StopGradient StridedSlice Sub Sum Tanh Tile Transpose Unpack
    VarHandleOp While ZerosLike
""".split())
SAFE_OBJECT_KINDS = frozenset({"user_object", "function", "bare_concrete_function", "variable"})
TRUST_HINT = "load it only if you trust its author: --trust-savedmodel (Colorizer.load(..., trust_savedmodel=True))"


class UntrustedSavedModel(ModelLoadError):
    """A SavedModel that does not have the shape of one this package exports."""


def check_package_export(path):
    """Raise UntrustedSavedModel naming `path` and what it holds when the SavedModel there is not
    one `exporting.export_serving` could have written; OSError or ValueError when unreadable."""
    path = Path(path)
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
    except DecodeError as error:  # worded as TensorFlow's loader words it
        raise ValueError(f"Cannot parse {path / 'saved_model.pb'}: {error}") from None
    problem = _problem(saved_model)
    if problem:
        raise UntrustedSavedModel(f"{path}: {problem}, which this package's exports never hold; {TRUST_HINT}")


def _problem(saved_model):
    """What makes `saved_model` unlike this package's exports, or None."""
    if len(saved_model.meta_graphs) != 1:
        return f"{len(saved_model.meta_graphs)} graphs"
    meta_graph = saved_model.meta_graphs[0]
    objects = meta_graph.object_graph_def
    if not objects.nodes:
        return "a TensorFlow 1 graph (its init and restore ops run on load)"
    for node in objects.nodes:
        kind = node.WhichOneof("kind")
        if kind not in SAFE_OBJECT_KINDS:
            return f"a {kind} object (run or read on load)"
        if node.saveable_objects:
            return "custom restore functions (run on load)"
    library = {function.signature.name: function for function in meta_graph.graph_def.library.function}
    for name in _reachable(objects.concrete_functions, library):
        if name not in library:
            return f"a call of missing function {name!r}"
        unsafe = sorted({node.op for node in library[name].node_def} - COMPUTE_OPS)
        if unsafe:
            return f"operations {unsafe} in function {name!r}"
    return None


def _reachable(roots, library):
    """Names of the functions `roots` name and all the functions they call, at any depth."""
    seen, pending = set(), list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in library:
            pending += [callee for node in library[name].node_def for callee in _called(node)]
    return seen


def _called(node):
    """Names of the functions a node's attributes name (a call's `f`, a loop's `body`, ...)."""
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        yield from (function.name for function in value.list.func)
