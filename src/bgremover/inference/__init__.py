"""Model catalog, fetching and ONNX sessions. Knows nothing of HTTP or databases."""
