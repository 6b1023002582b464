from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TensorInfo(_message.Message):
    __slots__ = ("name", "dtype", "shape")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class OnnxInfo(_message.Message):
    __slots__ = ("ir_version", "opsets", "producer", "producer_version", "op_types", "inputs", "outputs")
    IR_VERSION_FIELD_NUMBER: _ClassVar[int]
    OPSETS_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_VERSION_FIELD_NUMBER: _ClassVar[int]
    OP_TYPES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    ir_version: int
    opsets: _containers.RepeatedScalarFieldContainer[str]
    producer: str
    producer_version: str
    op_types: _containers.RepeatedScalarFieldContainer[str]
    inputs: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    outputs: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    def __init__(self, ir_version: _Optional[int] = ..., opsets: _Optional[_Iterable[str]] = ..., producer: _Optional[str] = ..., producer_version: _Optional[str] = ..., op_types: _Optional[_Iterable[str]] = ..., inputs: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ...) -> None: ...

class GgufInfo(_message.Message):
    __slots__ = ("version", "architecture", "name", "quantization", "file_type", "context_length", "kv")
    class KvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    FILE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    KV_FIELD_NUMBER: _ClassVar[int]
    version: int
    architecture: str
    name: str
    quantization: str
    file_type: int
    context_length: int
    kv: _containers.ScalarMap[str, str]
    def __init__(self, version: _Optional[int] = ..., architecture: _Optional[str] = ..., name: _Optional[str] = ..., quantization: _Optional[str] = ..., file_type: _Optional[int] = ..., context_length: _Optional[int] = ..., kv: _Optional[_Mapping[str, str]] = ...) -> None: ...

class KerasInfo(_message.Message):
    __slots__ = ("model_class", "keras_version", "layer_count", "layers", "lambda_layers")
    MODEL_CLASS_FIELD_NUMBER: _ClassVar[int]
    KERAS_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAYER_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_LAYERS_FIELD_NUMBER: _ClassVar[int]
    model_class: str
    keras_version: str
    layer_count: int
    layers: _containers.RepeatedScalarFieldContainer[str]
    lambda_layers: bool
    def __init__(self, model_class: _Optional[str] = ..., keras_version: _Optional[str] = ..., layer_count: _Optional[int] = ..., layers: _Optional[_Iterable[str]] = ..., lambda_layers: _Optional[bool] = ...) -> None: ...

class PickleInfo(_message.Message):
    __slots__ = ("protocol", "top_level_class", "sklearn_version", "compression")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TOP_LEVEL_CLASS_FIELD_NUMBER: _ClassVar[int]
    SKLEARN_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    protocol: int
    top_level_class: str
    sklearn_version: str
    compression: str
    def __init__(self, protocol: _Optional[int] = ..., top_level_class: _Optional[str] = ..., sklearn_version: _Optional[str] = ..., compression: _Optional[str] = ...) -> None: ...

class MlflowInfo(_message.Message):
    __slots__ = ("flavors", "loader_module", "model_uuid", "mlflow_version", "has_signature")
    FLAVORS_FIELD_NUMBER: _ClassVar[int]
    LOADER_MODULE_FIELD_NUMBER: _ClassVar[int]
    MODEL_UUID_FIELD_NUMBER: _ClassVar[int]
    MLFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    HAS_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    flavors: _containers.RepeatedScalarFieldContainer[str]
    loader_module: str
    model_uuid: str
    mlflow_version: str
    has_signature: bool
    def __init__(self, flavors: _Optional[_Iterable[str]] = ..., loader_module: _Optional[str] = ..., model_uuid: _Optional[str] = ..., mlflow_version: _Optional[str] = ..., has_signature: _Optional[bool] = ...) -> None: ...

class SavedModelInfo(_message.Message):
    __slots__ = ("signatures", "tags", "variables", "tensorflow_version", "ops")
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TENSORFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    signatures: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    variables: _containers.RepeatedScalarFieldContainer[str]
    tensorflow_version: str
    ops: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, signatures: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., variables: _Optional[_Iterable[str]] = ..., tensorflow_version: _Optional[str] = ..., ops: _Optional[_Iterable[str]] = ...) -> None: ...

class HuggingFaceInfo(_message.Message):
    __slots__ = ("model_type", "architectures", "torch_dtype", "transformers_version", "license", "language", "pipeline_tag", "base_model", "base_model_relation")
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURES_FIELD_NUMBER: _ClassVar[int]
    TORCH_DTYPE_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMERS_VERSION_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_TAG_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_RELATION_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    architectures: _containers.RepeatedScalarFieldContainer[str]
    torch_dtype: str
    transformers_version: str
    license: str
    language: _containers.RepeatedScalarFieldContainer[str]
    pipeline_tag: str
    base_model: str
    base_model_relation: str
    def __init__(self, model_type: _Optional[str] = ..., architectures: _Optional[_Iterable[str]] = ..., torch_dtype: _Optional[str] = ..., transformers_version: _Optional[str] = ..., license: _Optional[str] = ..., language: _Optional[_Iterable[str]] = ..., pipeline_tag: _Optional[str] = ..., base_model: _Optional[str] = ..., base_model_relation: _Optional[str] = ...) -> None: ...

class FormatInfo(_message.Message):
    __slots__ = ("format", "framework", "framework_version", "architecture", "tensor_count", "parameters", "dtypes", "tensors", "onnx", "gguf", "keras", "pickle", "mlflow", "savedmodel", "huggingface", "details")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    TENSOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DTYPES_FIELD_NUMBER: _ClassVar[int]
    TENSORS_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    GGUF_FIELD_NUMBER: _ClassVar[int]
    KERAS_FIELD_NUMBER: _ClassVar[int]
    PICKLE_FIELD_NUMBER: _ClassVar[int]
    MLFLOW_FIELD_NUMBER: _ClassVar[int]
    SAVEDMODEL_FIELD_NUMBER: _ClassVar[int]
    HUGGINGFACE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    format: str
    framework: str
    framework_version: str
    architecture: str
    tensor_count: int
    parameters: int
    dtypes: _containers.RepeatedScalarFieldContainer[str]
    tensors: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    onnx: OnnxInfo
    gguf: GgufInfo
    keras: KerasInfo
    pickle: PickleInfo
    mlflow: MlflowInfo
    savedmodel: SavedModelInfo
    huggingface: HuggingFaceInfo
    details: _containers.ScalarMap[str, str]
    def __init__(self, format: _Optional[str] = ..., framework: _Optional[str] = ..., framework_version: _Optional[str] = ..., architecture: _Optional[str] = ..., tensor_count: _Optional[int] = ..., parameters: _Optional[int] = ..., dtypes: _Optional[_Iterable[str]] = ..., tensors: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ..., onnx: _Optional[_Union[OnnxInfo, _Mapping]] = ..., gguf: _Optional[_Union[GgufInfo, _Mapping]] = ..., keras: _Optional[_Union[KerasInfo, _Mapping]] = ..., pickle: _Optional[_Union[PickleInfo, _Mapping]] = ..., mlflow: _Optional[_Union[MlflowInfo, _Mapping]] = ..., savedmodel: _Optional[_Union[SavedModelInfo, _Mapping]] = ..., huggingface: _Optional[_Union[HuggingFaceInfo, _Mapping]] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...
