package io.mobilesdk.pose.internal

import io.mobilesdk.pose.CodecSpec
import io.mobilesdk.pose.OutputSpec
import io.mobilesdk.pose.PoseException

/**
 * Decoded keypoints of one instance in model-input pixels (index convention), as mobilesdk/codecs returns
 * them: x, y, z (NaN for 2-D codecs), score and visibility (filled by [fillVisibility]), K each.
 */
internal class DecodedPose(val numKeypoints: Int) {
    val x = DoubleArray(numKeypoints)
    val y = DoubleArray(numKeypoints)
    val z = DoubleArray(numKeypoints) { Double.NaN }
    val score = DoubleArray(numKeypoints)
    val visibility = DoubleArray(numKeypoints)

    /** visibility[j] = [calibration] of score[j] (the double score, as the reference and the native core). */
    fun fillVisibility(calibration: io.mobilesdk.pose.VisibilityCalibration) {
        for (j in 0 until numKeypoints) visibility[j] = calibration.visibility(score[j])
    }
}

/**
 * A Kotlin decoder equal to one of mobilesdk/codecs (same decode rules; computed in double). [decode] reads
 * instance [instance] of the raw float32 outputs, given in manifest order (each array holds N instances).
 * Decoders keep scratch memory: one per estimator, not thread-safe.
 */
internal abstract class KeypointDecoder(val numKeypoints: Int) {
    abstract fun decode(outputs: Array<FloatArray>, instance: Int, dst: DecodedPose)

    companion object {
        /**
         * The decoder for [codec] with model input [inputWidth] x [inputHeight], K = [numKeypoints], reading
         * [outputs] (shapes with the batch dim) by role. Bad parameters or shapes: PoseException INVALID_MANIFEST.
         */
        fun create(codec: CodecSpec, inputWidth: Int, inputHeight: Int, numKeypoints: Int, outputs: List<OutputSpec>): KeypointDecoder {
            val p = Params(codec)
            return when (codec.name) {
                "simcc" -> SimccDecoder.create(p, inputWidth, inputHeight, numKeypoints, outputs)
                "heatmap" -> HeatmapDecoder.create(p, inputWidth, inputHeight, numKeypoints, outputs)
                "integral-3d" -> Integral3dDecoder.create(p, inputWidth, inputHeight, numKeypoints, outputs)
                else -> throw PoseException(
                    PoseException.INVALID_MANIFEST,
                    "codec '${codec.name}' is not supported by this runtime (simcc, heatmap, integral-3d)",
                )
            }
        }

        internal fun output(outputs: List<OutputSpec>, role: String, codec: String): Int {
            val i = outputs.indexOfFirst { it.role == role }
            if (i < 0) fail("$codec: the model has no output with role '$role' (has ${outputs.map { it.role }})")
            return i
        }

        internal fun fail(message: String): Nothing = throw PoseException(PoseException.INVALID_MANIFEST, message)

        /** NaN or inf in an output: the native core's MSDK_ERR_NUMERIC. */
        internal fun notFinite(codec: String, output: String): Nothing =
            throw PoseException(PoseException.NUMERIC, "$codec: output '$output' contains NaN or inf")
    }
}

/** Typed access to codec params with the reference's validation (unknown names are refused). */
internal class Params(private val codec: CodecSpec) {
    private val name = codec.name

    fun check(valid: Set<String>) {
        val unknown = codec.params.keys - valid
        if (unknown.isNotEmpty()) {
            KeypointDecoder.fail("$name: unknown param '${unknown.sorted()[0]}'; valid params: ${valid.joinToString()}")
        }
    }

    fun positive(key: String, default: Double?): Double {
        val v = codec.params[key] ?: default ?: KeypointDecoder.fail("$name: missing required param '$key'")
        val d = (v as? Number)?.toDouble()
        if (v is Boolean || d == null || !d.isFinite() || d <= 0) KeypointDecoder.fail("$name: $key must be a finite number > 0, got $v")
        return d
    }

    fun int(key: String, default: Int?, minimum: Int): Int {
        val v = codec.params[key] ?: default ?: KeypointDecoder.fail("$name: missing required param '$key'")
        val d = (v as? Number)?.toDouble()
        if (v is Boolean || d == null || d != Math.floor(d) || d < minimum) KeypointDecoder.fail("$name: $key must be an integer >= $minimum, got $v")
        return d.toInt()
    }

    fun bool(key: String, default: Boolean): Boolean {
        val v = codec.params[key] ?: return default
        return v as? Boolean ?: KeypointDecoder.fail("$name: $key must be true or false, got $v")
    }

    fun choice(key: String, default: String, choices: List<String>): String {
        val v = codec.params[key] ?: return default
        if (v !is String || v !in choices) KeypointDecoder.fail("$name: $key must be one of ${choices.joinToString()}; got $v")
        return v
    }

    /** `{"width": W, "height": H}` -> (W, H). */
    fun size(key: String): Pair<Int, Int> {
        val v = codec.params[key] as? Map<*, *> ?: KeypointDecoder.fail("$name: $key must be {width, height}, got ${codec.params[key]}")
        val w = (v["width"] as? Number)?.toInt()
        val h = (v["height"] as? Number)?.toInt()
        if (w == null || h == null || w < 1 || h < 1 || v.size != 2) KeypointDecoder.fail("$name: $key must be {width, height} > 0, got $v")
        return w to h
    }
}
