package io.mobilesdk.pose.internal

import io.mobilesdk.pose.OutputSpec
import kotlin.math.exp

/**
 * Integral 3-D soft-argmax (mobilesdk/codecs/integral3d.py): per joint one softmax over its D * Hh * Wh
 * voxels (channel = j * D + d), coordinates the expectations of the marginals (x * W / Wh, y * H / Hh; z in
 * grid units), score the maximum of the 2-D (Hh, Wh) marginal.
 *
 * One pass of exp per voxel accumulates all four marginals (no probability volume is stored).
 */
internal class Integral3dDecoder(
    numKeypoints: Int,
    private val index: Int,
    private val depth: Int,
    private val mapW: Int,
    private val mapH: Int,
    private val strideX: Double,
    private val strideY: Double,
) : KeypointDecoder(numKeypoints) {
    private val mx = DoubleArray(mapW)
    private val my = DoubleArray(mapH)
    private val m2 = DoubleArray(mapW * mapH)

    override fun decode(outputs: Array<FloatArray>, instance: Int, dst: DecodedPose) {
        val vol = outputs[index]
        val plane = mapW * mapH
        val n = depth * plane
        for (j in 0 until numKeypoints) {
            val base = (instance * numKeypoints + j) * n
            var m = Float.NEGATIVE_INFINITY
            for (i in base until base + n) {
                val v = vol[i]
                if (!v.isFinite()) notFinite("integral-3d", "volumetric")
                if (v > m) m = v
            }
            val md = m.toDouble()
            mx.fill(0.0)
            my.fill(0.0)
            m2.fill(0.0)
            var sum = 0.0
            var zs = 0.0
            var o = base
            for (d in 0 until depth) {
                var sd = 0.0
                for (y in 0 until mapH) {
                    var sy = 0.0
                    val r = y * mapW
                    for (x in 0 until mapW) {
                        val d = vol[o++] - md
                        if (d > -40.0) { // e^-40 relative to the peak's 1 is below double precision
                            val e = exp(d)
                            sy += e
                            mx[x] += e
                            m2[r + x] += e
                        }
                    }
                    my[y] += sy
                    sd += sy
                }
                zs += d * sd
                sum += sd
            }
            var xs = 0.0
            for (x in 0 until mapW) xs += x * mx[x]
            var ys = 0.0
            for (y in 0 until mapH) ys += y * my[y]
            var peak = 0.0
            for (v in m2) if (v > peak) peak = v
            dst.x[j] = xs / sum * strideX
            dst.y[j] = ys / sum * strideY
            dst.z[j] = zs / sum
            dst.score[j] = peak / sum
        }
    }

    companion object {
        private val PARAMS = setOf("depth_bins", "heatmap_size", "sigma")

        fun create(p: Params, w: Int, h: Int, k: Int, outputs: List<OutputSpec>): Integral3dDecoder {
            p.check(PARAMS)
            val d = p.int("depth_bins", null, 1)
            val (mw, mh) = p.size("heatmap_size")
            p.positive("sigma", 1.5)
            val i = output(outputs, "volumetric", "integral-3d")
            val s = outputs[i].shape
            if (s != listOf(s[0], k * d, mh, mw)) fail("integral-3d: output '${outputs[i].name}' has shape $s, expected (N, ${k * d}, $mh, $mw)")
            return Integral3dDecoder(k, i, d, mw, mh, w.toDouble() / mw, h.toDouble() / mh)
        }
    }
}
