package io.mobilesdk.pose.internal

import io.mobilesdk.pose.OutputSpec
import kotlin.math.exp
import kotlin.math.floor
import kotlin.math.ln
import kotlin.math.max
import kotlin.math.sign

/**
 * 2-D heatmaps (mobilesdk/codecs/heatmap.py): first argmax (row-major), location zeroed where the peak is
 * <= 0, then `refine`: "none", "quarter-offset" (HRNet: 0.25 cell towards the higher neighbour where
 * 1 < p < size - 1) or "dark" (DarkPose: blur with OpenCV's Gaussian kernel, rescale to the original max,
 * log, one Newton step where 1 < p < size - 2 and det != 0); x = cell * W / Wh. Score: the pre-blur peak.
 *
 * DARK blurs only the maps it refines (the others do not need it), in double with the reference's summation
 * order; the whole map is blurred because the rescale needs the blurred maximum.
 */
internal class HeatmapDecoder(
    numKeypoints: Int,
    private val index: Int,
    private val mapW: Int,
    private val mapH: Int,
    private val strideX: Double,
    private val strideY: Double,
    private val refine: String,
    blurKernel: Int,
) : KeypointDecoder(numKeypoints) {
    private val kernel = gaussianKernel(blurKernel)
    private val radius = (blurKernel - 1) / 2
    private val rows = DoubleArray(mapW * mapH)
    private val blurred = DoubleArray(mapW * mapH)

    override fun decode(outputs: Array<FloatArray>, instance: Int, dst: DecodedPose) {
        val hm = outputs[index]
        val n = mapW * mapH
        for (j in 0 until numKeypoints) {
            val base = (instance * numKeypoints + j) * n
            var best = 0
            var m = hm[base]
            for (i in 0 until n) {
                val v = hm[base + i]
                if (!v.isFinite()) notFinite("heatmap", "heatmaps")
                if (v > m) {
                    m = v
                    best = i
                }
            }
            var cx = 0.0
            var cy = 0.0
            if (m > 0f) {
                cx = (best % mapW).toDouble()
                cy = (best / mapW).toDouble()
                when (refine) {
                    "quarter-offset" -> {
                        val px = floor(cx + 0.5).toInt()
                        val py = floor(cy + 0.5).toInt()
                        if (px > 1 && px < mapW - 1 && py > 1 && py < mapH - 1) {
                            val r = base + py * mapW
                            cx += sign(hm[r + px + 1].toDouble() - hm[r + px - 1]) * 0.25
                            cy += sign(hm[r + mapW + px].toDouble() - hm[r - mapW + px]) * 0.25
                        }
                    }
                    "dark" -> {
                        val px = cx.toInt()
                        val py = cy.toInt()
                        if (px > 1 && px < mapW - 2 && py > 1 && py < mapH - 2) {
                            dark(hm, base, m.toDouble(), px, py)
                            cx += offX
                            cy += offY
                        }
                    }
                }
            }
            dst.x[j] = cx * strideX
            dst.y[j] = cy * strideY
            dst.score[j] = m.toDouble()
        }
    }

    private var offX = 0.0
    private var offY = 0.0

    private val logs = DoubleArray(13)

    /**
     * DARK Taylor step at the integer peak (px, py) of the map at [base]; result in offX/offY (0 if det == 0).
     *
     * The reference blurs the whole map, rescales it so its maximum equals the raw maximum, floors at 1e-10
     * and takes the log. The rescale ratio is >= 1 (a normalised kernel never raises the maximum), so where
     * the 13 blurred values the step reads are all above 2e-10, the floor cannot apply and log(ratio)
     * cancels in every derivative: only those 13 values are blurred. Otherwise the whole map is blurred.
     */
    private fun dark(hm: FloatArray, base: Int, origMax: Double, px: Int, py: Int) {
        var fast = true
        for (p in 0 until 13) {
            val b = blurAt(hm, base, py + PTS[2 * p], px + PTS[2 * p + 1])
            logs[p] = b
            if (!(b > FAST_FLOOR)) fast = false
        }
        if (fast) {
            for (p in 0 until 13) logs[p] = ln(logs[p])
        } else {
            val ratio = blurAll(hm, base, origMax)
            for (p in 0 until 13) {
                logs[p] = ln(max(blurred[(py + PTS[2 * p]) * mapW + px + PTS[2 * p + 1]] * ratio, LOG_FLOOR))
            }
        }
        val l = logs
        val c = l[0]
        val dx = 0.5 * (l[1] - l[2])
        val dy = 0.5 * (l[3] - l[4])
        val dxx = 0.25 * (l[5] - 2 * c + l[6])
        val dxy = 0.25 * (l[9] - l[10] - l[11] + l[12])
        val dyy = 0.25 * (l[7] - 2 * c + l[8])
        val det = dxx * dyy - dxy * dxy
        if (det != 0.0) {
            offX = -(dyy * dx - dxy * dy) / det
            offY = -(dxx * dy - dxy * dx) / det
        } else {
            offX = 0.0
            offY = 0.0
        }
    }

    /** The zero-padded separable blur at one point: rows (x) first, then columns (y), as the reference sums. */
    private fun blurAt(hm: FloatArray, base: Int, y: Int, x: Int): Double {
        val k = kernel
        val r = radius
        var acc = 0.0
        for (t in k.indices) {
            val yy = y + t - r
            if (yy < 0 || yy >= mapH) continue
            val o = base + yy * mapW
            var row = 0.0
            for (s in k.indices) {
                val xx = x + s - r
                if (xx in 0 until mapW) row += k[s] * hm[o + xx]
            }
            acc += k[t] * row
        }
        return acc
    }

    /** The whole map blurred into [blurred]; returns the rescale ratio raw max / blurred max (1 if <= 0). */
    private fun blurAll(hm: FloatArray, base: Int, origMax: Double): Double {
        val w = mapW
        val h = mapH
        val r = radius
        val k = kernel
        for (i in 0 until h) {
            val o = base + i * w
            for (x in 0 until w) {
                var s = 0.0
                for (t in k.indices) {
                    val xx = x + t - r
                    if (xx in 0 until w) s += k[t] * hm[o + xx]
                }
                rows[i * w + x] = s
            }
        }
        var newMax = Double.NEGATIVE_INFINITY
        for (i in 0 until h) {
            for (x in 0 until w) {
                var s = 0.0
                for (t in k.indices) {
                    val yy = i + t - r
                    if (yy in 0 until h) s += k[t] * rows[yy * w + x]
                }
                blurred[i * w + x] = s
                if (s > newMax) newMax = s
            }
        }
        return if (newMax > 0) origMax / newMax else 1.0
    }

    companion object {
        private const val LOG_FLOOR = 1e-10
        private const val FAST_FLOOR = 2e-10

        /** (dy, dx) of the 13 blurred values the Taylor step reads, the centre first. */
        private val PTS = intArrayOf(0, 0, 0, 1, 0, -1, 1, 0, -1, 0, 0, 2, 0, -2, 2, 0, -2, 0, 1, 1, -1, 1, 1, -1, -1, -1)
        private val PARAMS = setOf("heatmap_size", "sigma", "refine", "blur_kernel", "shift_flip")

        // OpenCV getGaussianKernel's fixed tables for ksize 1..9 with sigma <= 0 (see heatmap.py).
        private val CV_SMALL = mapOf(
            1 to doubleArrayOf(1.0),
            3 to doubleArrayOf(0.25, 0.5, 0.25),
            5 to doubleArrayOf(0.0625, 0.25, 0.375, 0.25, 0.0625),
            7 to doubleArrayOf(0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
            9 to doubleArrayOf(4.0, 13.0, 30.0, 51.0, 60.0, 51.0, 30.0, 13.0, 4.0).map { it / 256.0 }.toDoubleArray(),
        )

        /** `cv2.getGaussianKernel(ksize, 0, CV_64F)`: the tables, else sigma = 0.3((ksize-1)/2 - 1) + 0.8. */
        fun gaussianKernel(ksize: Int): DoubleArray {
            CV_SMALL[ksize]?.let { return it.copyOf() }
            val sigma = ((ksize - 1) * 0.5 - 1) * 0.3 + 0.8
            val t = DoubleArray(ksize) {
                val x = it - (ksize - 1) * 0.5
                exp(-0.5 / (sigma * sigma) * x * x)
            }
            var total = 0.0
            for (v in t) total += v
            val inv = 1.0 / total
            return DoubleArray(ksize) { t[it] * inv }
        }

        fun create(p: Params, w: Int, h: Int, k: Int, outputs: List<OutputSpec>): HeatmapDecoder {
            p.check(PARAMS)
            val (mw, mh) = p.size("heatmap_size")
            p.positive("sigma", 2.0)
            val refine = p.choice("refine", "dark", listOf("dark", "quarter-offset", "none"))
            val blur = p.int("blur_kernel", 11, 1)
            if (blur % 2 == 0) fail("heatmap: blur_kernel must be odd, got $blur")
            p.bool("shift_flip", true)
            val i = output(outputs, "heatmaps", "heatmap")
            val s = outputs[i].shape
            if (s != listOf(s[0], k, mh, mw)) fail("heatmap: output '${outputs[i].name}' has shape $s, expected (N, $k, $mh, $mw)")
            return HeatmapDecoder(k, i, mw, mh, w.toDouble() / mw, h.toDouble() / mh, refine, blur)
        }
    }
}
