"""studbook: a local model registry. The generated v1 contract lives in `studbook.v1`."""
