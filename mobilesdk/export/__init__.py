"""Exporters (ExecuTorch, LiteRT) and the graph rewrites they share."""

# The name of the manifest embedded in every artifact: the ExecuTorch method / the TFLite metadata entry that
# returns / holds it (read by mobilesdk.manifest, the runtimes, the native core and the Kotlin runtime).
EMBED_KEY = "mobilesdk_manifest"
