def onnx_rows(targets, bundle_info, progress):
    from mobilesdk.emulate.plugin import EmulateError

    raise EmulateError(
        "--compare onnxruntime with --emulate: the arm64 bundle has no ONNX Runtime engine yet"
    )
