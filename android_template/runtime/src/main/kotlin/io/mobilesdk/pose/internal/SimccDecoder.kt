package io.mobilesdk.pose.internal

import io.mobilesdk.pose.OutputSpec
import kotlin.math.ceil
import kotlin.math.exp
import kotlin.math.floor
import kotlin.math.min

/**
 * SimCC (mobilesdk/codecs/simcc.py): per keypoint and axis the first argmax of the logits; x = ix / k,
 * y = iy / k (k = split_ratio); score = min(vx, vy) with v the softmax probability at the peak
 * (1 / sum(exp(l - l_max))) under `normalize`, else the raw peak value. Bx may be floor(W k) or ceil(W k).
 */
internal class SimccDecoder(
    numKeypoints: Int,
    private val splitRatio: Double,
    private val normalize: Boolean,
    private val xIndex: Int,
    private val yIndex: Int,
    private val binsX: Int,
    private val binsY: Int,
) : KeypointDecoder(numKeypoints) {
    private var peak = 0.0

    override fun decode(outputs: Array<FloatArray>, instance: Int, dst: DecodedPose) {
        val sx = outputs[xIndex]
        val sy = outputs[yIndex]
        val k = numKeypoints
        for (j in 0 until k) {
            val ix = argmax(sx, (instance * k + j) * binsX, binsX, "simcc_x")
            val vx = peak
            val iy = argmax(sy, (instance * k + j) * binsY, binsY, "simcc_y")
            val vy = peak
            dst.x[j] = ix / splitRatio
            dst.y[j] = iy / splitRatio
            dst.score[j] = min(vx, vy)
        }
    }

    /** First argmax of a[base until base + n]; its softmax probability (or raw value) goes to [peak]. */
    private fun argmax(a: FloatArray, base: Int, n: Int, name: String): Int {
        var best = 0
        var m = a[base]
        if (!m.isFinite()) notFinite("simcc", name)
        for (i in 1 until n) {
            val v = a[base + i]
            if (v > m) {
                m = v
                best = i
            } else if (!v.isFinite()) {
                notFinite("simcc", name)
            }
        }
        if (normalize) {
            val md = m.toDouble()
            var s = 0.0
            // Terms below e^-40 (4e-18) cannot change a sum >= 1 (the peak's own term) in double: skipped.
            for (i in 0 until n) {
                val d = a[base + i] - md
                if (d > -40.0) s += exp(d)
            }
            peak = 1.0 / s
        } else {
            peak = m.toDouble()
        }
        return best
    }

    companion object {
        private val PARAMS = setOf("split_ratio", "sigma", "normalize", "flip_average", "flip_shift")

        fun create(p: Params, w: Int, h: Int, k: Int, outputs: List<OutputSpec>): SimccDecoder {
            p.check(PARAMS)
            val ratio = p.positive("split_ratio", 2.0)
            val xi = output(outputs, "simcc_x", "simcc")
            val yi = output(outputs, "simcc_y", "simcc")
            val bx = bins(outputs[xi], k, w, ratio, "simcc_x")
            val by = bins(outputs[yi], k, h, ratio, "simcc_y")
            return SimccDecoder(k, ratio, p.bool("normalize", true), xi, yi, bx, by)
        }

        private fun bins(o: OutputSpec, k: Int, side: Int, ratio: Double, role: String): Int {
            val lo = floor(side * ratio + 1e-9).toInt()
            val hi = ceil(side * ratio - 1e-9).toInt()
            val s = o.shape
            if (s.size != 3 || s[1] != k || (s[2] != lo && s[2] != hi)) {
                fail("simcc: output '${o.name}' ($role) has shape $s, expected (N, $k, $lo) or (N, $k, $hi)")
            }
            return s[2]
        }
    }
}
