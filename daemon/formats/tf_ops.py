"""TensorFlow graph ops that reach files, processes or Python when a SavedModel is run.

The checkpoint ops every SavedModel carries (SaveV2, RestoreV2, MergeV2Checkpoints,
ShardedFilename, StringJoin, and v1 Save/Restore/RestoreSlice) are not listed: the saver
graph needs them, serving never calls them, and flagging every model would make the flag
meaningless. Lookup tables initialised from asset files are ordinary serving too. What is
listed is what a serving graph has no use for: Python callbacks, arbitrary file reads and
writes, summary and debug writers, and input pipelines that read files.
"""

from __future__ import annotations

UNSAFE = frozenset(
    {
        # Python: calls back into the interpreter that loads the model.
        "PyFunc",
        "PyFuncStateless",
        "EagerPyFunc",
        # Files named by a tensor: read, write, list, memory-map.
        "ReadFile",
        "WriteFile",
        "MatchingFiles",
        "ImmutableConst",
        # Summary writers create and append to files in any directory.
        "CreateSummaryFileWriter",
        "CreateSummaryDbWriter",
        "WriteSummary",
        "WriteRawProtoSummary",
        "WriteScalarSummary",
        "WriteHistogramSummary",
        "WriteImageSummary",
        "WriteAudioSummary",
        "WriteGraphSummary",
        "ImportEvent",
        "FlushSummaryWriter",
        "CloseSummaryWriter",
        # Debug ops send tensors to debug_urls (file:// or grpc://).
        "DebugIdentity",
        "DebugIdentityV2",
        "DebugIdentityV3",
        "DebugNanCount",
        "DebugNumericSummary",
        "DebugNumericSummaryV2",
        "Copy",
        "CopyHost",
        # Readers and datasets that open files by name.
        "WholeFileReader",
        "WholeFileReaderV2",
        "TextLineReader",
        "TextLineReaderV2",
        "TFRecordReader",
        "TFRecordReaderV2",
        "FixedLengthRecordReader",
        "FixedLengthRecordReaderV2",
        "LMDBReader",
        "LMDBDataset",
        "TFRecordDataset",
        "TFRecordDatasetV2",
        "TextLineDataset",
        "FixedLengthRecordDataset",
        "FixedLengthRecordDatasetV2",
        "MatchingFilesDataset",
        "ExperimentalMatchingFilesDataset",
        "CSVDataset",
        "CSVDatasetV2",
        "ExperimentalCSVDataset",
        "SaveDataset",
        "SaveDatasetV2",
        "LoadDataset",
        "DatasetToTFRecord",
        "ExperimentalDatasetToTFRecord",
        "SnapshotDataset",
        "SnapshotDatasetV2",
    }
)
# PrintV2 is harmless to stderr; its output_stream attribute may name a file instead.
PRINT = "PrintV2"
FILE_STREAM = "file://"
