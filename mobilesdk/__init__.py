"""mobilesdk: ship PyTorch human-pose models to Android (ExecuTorch / LiteRT)."""

__version__ = "0.1.0"
