package io.mobilesdk.pose.internal

import io.mobilesdk.pose.InputSpec
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.math.floor

/**
 * Frame -> model input in Kotlin, equal to mobilesdk/preprocess.py (steps 1-6: frame -> RGB, rotate, crop
 * matrix, bilinear warp with black border taps, colour order, float32 `(v - mean) / std` or uint8
 * `floor(v + 0.5)`, NCHW or NHWC).
 *
 * Speed: nothing is allocated per call. The crop matrix is diagonal (scale + shift), so the source
 * coordinates are separable: x = f(u), y = g(v). They are computed once per call in double (a 1920-px frame
 * needs it: float puts 1e-4 px of error on the bilinear weights) into per-column and per-row tables of
 * (integer tap, weight); the pixel loop then only gathers four taps and blends them in float. Taps are read
 * from the stored frame through the rotation's index map, so the frame is never rotated or converted as a
 * whole. Not thread-safe (one per estimator; the estimator serialises calls).
 */
internal class KotlinPreprocessor(val input: InputSpec) {
    private val w = input.width
    private val h = input.height
    private val matrix = DoubleArray(6)
    private val inverse = DoubleArray(6)
    private val colX0 = IntArray(w)
    private val colFx = FloatArray(w)
    private val rowY0 = IntArray(h)
    private val rowFy = FloatArray(h)
    private val values = FloatArray(3 * w * h) // output order: NCHW or NHWC, channels in model colour order
    private val bytes = if (input.dtype == InputSpec.DType.UINT8) ByteArray(3 * w * h) else null
    private val meanF = FloatArray(3)
    private val invStdF = FloatArray(3)

    /** Output channel c takes RGB channel srcChannel[c] (BGR models: 2, 1, 0). */
    private val srcChannel = if (input.color == InputSpec.Color.BGR) intArrayOf(2, 1, 0) else intArrayOf(0, 1, 2)

    init {
        for (c in 0 until 3) {
            meanF[c] = input.mean[c].toFloat()
            invStdF[c] = (1.0 / input.std[c]).toFloat()
        }
    }

    /**
     * Preprocess [frame] (already validated) with an optional upright-frame [roi] into [out] (direct or heap,
     * exactly [InputSpec.bytes] from index 0, native byte order for float32); the crop matrix A goes into
     * [affineOut] (6 floats) and [matrixOut] (6 doubles) when given.
     */
    fun run(frame: Frame, roi: FloatArray?, out: ByteBuffer, affineOut: FloatArray?, matrixOut: DoubleArray? = null) {
        val upW = frame.uprightWidth
        val upH = frame.uprightHeight
        if (roi != null) FrameChecks.roi(roi, upW, upH)
        Geometry.cropMatrix(input, upW, upH, roi, matrix)
        Geometry.invert(matrix, inverse)
        tables(upW, upH)
        when (frame) {
            is Frame.Pixels -> warpPixels(frame)
            is Frame.Yuv -> warpYuv(frame)
        }
        write(out)
        if (affineOut != null) for (i in 0 until 6) affineOut[i] = matrix[i].toFloat()
        if (matrixOut != null) matrix.copyInto(matrixOut)
    }

    /** Per-column x0/fx and per-row y0/fy in double; x0 = -2 marks "both taps outside" (a black column). */
    private fun tables(upW: Int, upH: Int) {
        // Crop matrices are diagonal (Geometry.cropMatrix), so is A^-1: x = i00 u + i02, y = i11 v + i12.
        for (u in 0 until w) {
            val x = inverse[0] * u + inverse[2]
            val x0 = floor(x)
            colX0[u] = clampTap(x0, upW)
            colFx[u] = (x - x0).toFloat()
        }
        for (v in 0 until h) {
            val y = inverse[4] * v + inverse[5]
            val y0 = floor(y)
            rowY0[v] = clampTap(y0, upH)
            rowFy[v] = (y - y0).toFloat()
        }
    }

    /** floor(coordinate) as an Int; far-outside values collapse to -2 or n + 1 (both taps black either way). */
    private fun clampTap(x0: Double, n: Int): Int = when {
        x0 < -1.0 -> -2
        x0 > n.toDouble() -> n + 1
        else -> x0.toInt()
    }

    /** Stored index of upright (x, y) = base + x * dx + y * dy for the rotation (see Frame). */
    private class IndexMap(val base: Int, val dx: Int, val dy: Int)

    private fun indexMap(rotation: Int, width: Int, height: Int, stride: Int): IndexMap = when (rotation) {
        0 -> IndexMap(0, 1, stride)
        90 -> IndexMap((height - 1) * stride, -stride, 1)
        180 -> IndexMap((height - 1) * stride + width - 1, -1, -stride)
        else -> IndexMap(width - 1, stride, -1) // 270
    }

    private fun warpPixels(f: Frame.Pixels) {
        val px = f.pixels
        val upW = f.uprightWidth
        val upH = f.uprightHeight
        val m = indexMap(f.rotation, f.width, f.height, f.stride)
        val base = m.base
        val dx = m.dx
        val dy = m.dy
        val plane = w * h
        val nchw = input.layout == InputSpec.Layout.NCHW
        val c0 = srcChannel[0]
        val c2 = srcChannel[2]
        for (v in 0 until h) {
            val y0 = rowY0[v]
            val fy = rowFy[v]
            val gy = 1f - fy
            val okY0 = y0 in 0 until upH
            val okY1 = y0 + 1 in 0 until upH
            val row0 = base + y0 * dy
            val row1 = row0 + dy
            for (u in 0 until w) {
                val x0 = colX0[u]
                val fx = colFx[u]
                val gx = 1f - fx
                val okX0 = x0 in 0 until upW
                val okX1 = x0 + 1 in 0 until upW
                val o0 = x0 * dx
                val p00 = if (okY0 && okX0) px[row0 + o0] else 0
                val p01 = if (okY0 && okX1) px[row0 + o0 + dx] else 0
                val p10 = if (okY1 && okX0) px[row1 + o0] else 0
                val p11 = if (okY1 && okX1) px[row1 + o0 + dx] else 0
                val r = gy * (gx * ((p00 shr 16) and 0xFF) + fx * ((p01 shr 16) and 0xFF)) +
                    fy * (gx * ((p10 shr 16) and 0xFF) + fx * ((p11 shr 16) and 0xFF))
                val g = gy * (gx * ((p00 shr 8) and 0xFF) + fx * ((p01 shr 8) and 0xFF)) +
                    fy * (gx * ((p10 shr 8) and 0xFF) + fx * ((p11 shr 8) and 0xFF))
                val b = gy * (gx * (p00 and 0xFF) + fx * (p01 and 0xFF)) +
                    fy * (gx * (p10 and 0xFF) + fx * (p11 and 0xFF))
                store(v * w + u, plane, nchw, if (c0 == 0) r else b, g, if (c2 == 2) b else r)
            }
        }
    }

    private fun warpYuv(f: Frame.Yuv) {
        val upW = f.uprightWidth
        val upH = f.uprightHeight
        val plane = w * h
        val nchw = input.layout == InputSpec.Layout.NCHW
        val c0 = srcChannel[0]
        val c2 = srcChannel[2]
        val sampler = YuvSampler(f)
        // Stored (sx, sy) of upright (x, y): sx = bx + x * xx + y * xy, sy = by + x * yx + y * yy.
        val ws = f.width - 1
        val hs = f.height - 1
        val bx: Int; val xx: Int; val xy: Int; val by: Int; val yx: Int; val yy: Int
        when (f.rotation) {
            0 -> { bx = 0; xx = 1; xy = 0; by = 0; yx = 0; yy = 1 }
            90 -> { bx = 0; xx = 0; xy = 1; by = hs; yx = -1; yy = 0 }
            180 -> { bx = ws; xx = -1; xy = 0; by = hs; yx = 0; yy = -1 }
            else -> { bx = ws; xx = 0; xy = -1; by = 0; yx = 1; yy = 0 }
        }
        val rgb = sampler.rgb
        for (v in 0 until h) {
            val y0 = rowY0[v]
            val fy = rowFy[v]
            val gy = 1f - fy
            for (u in 0 until w) {
                val x0 = colX0[u]
                val fx = colFx[u]
                val gx = 1f - fx
                var r = 0f
                var g = 0f
                var b = 0f
                for (t in 0 until 4) {
                    val x = x0 + (t and 1)
                    val y = y0 + (t shr 1)
                    if (x < 0 || x >= upW || y < 0 || y >= upH) continue // black tap
                    val wt = (if (t and 1 == 0) gx else fx) * (if (t shr 1 == 0) gy else fy)
                    sampler.sample(bx + x * xx + y * xy, by + x * yx + y * yy)
                    r += wt * rgb[0]
                    g += wt * rgb[1]
                    b += wt * rgb[2]
                }
                store(v * w + u, plane, nchw, if (c0 == 0) r else b, g, if (c2 == 2) b else r)
            }
        }
    }

    /** Store the three output channels (already in model colour order) of pixel [i] into [values]. */
    @Suppress("NOTHING_TO_INLINE")
    private inline fun store(i: Int, plane: Int, nchw: Boolean, a: Float, b: Float, c: Float) {
        if (nchw) {
            values[i] = a
            values[plane + i] = b
            values[2 * plane + i] = c
        } else {
            val o = 3 * i
            values[o] = a
            values[o + 1] = b
            values[o + 2] = c
        }
    }

    private fun write(out: ByteBuffer) {
        val n = values.size
        val nchw = input.layout == InputSpec.Layout.NCHW
        val plane = w * h
        val bb = bytes
        if (bb != null) {
            for (i in 0 until n) {
                val q = floor(values[i] + 0.5f).toInt()
                bb[i] = (if (q < 0) 0 else if (q > 255) 255 else q).toByte()
            }
            val dup = out.duplicate()
            dup.clear()
            dup.put(bb)
            return
        }
        for (c in 0 until 3) {
            val m = meanF[c]
            val k = invStdF[c]
            if (nchw) {
                for (i in c * plane until (c + 1) * plane) values[i] = (values[i] - m) * k
            } else {
                var i = c
                while (i < n) {
                    values[i] = (values[i] - m) * k
                    i += 3
                }
            }
        }
        val fb = out.duplicate().order(ByteOrder.nativeOrder()).also { it.clear() }.asFloatBuffer()
        fb.put(values)
    }
}

/**
 * Reads one stored pixel of a YUV frame and converts it to RGB (JFIF, clamped to [0, 255], not rounded;
 * chroma nearest: each 2x2 block shares its U and V), into [rgb].
 */
internal class YuvSampler(f: Frame.Yuv) {
    val rgb = FloatArray(3)
    private val yp = f.planes[0]
    private val up = f.planes[1]
    private val vp = f.planes[2]
    private val yo = f.offsets[0]
    private val uo = f.offsets[1]
    private val vo = f.offsets[2]
    private val yrs = f.rowStrides[0]
    private val yps = f.pixelStrides[0]
    private val urs = f.rowStrides[1]
    private val ups = f.pixelStrides[1]
    private val vrs = f.rowStrides[2]
    private val vps = f.pixelStrides[2]

    fun sample(sx: Int, sy: Int) {
        val yv = (yp.get(yo + sy * yrs + sx * yps).toInt() and 0xFF).toFloat()
        val cx = sx shr 1
        val cy = sy shr 1
        val uv = (up.get(uo + cy * urs + cx * ups).toInt() and 0xFF) - 128f
        val vv = (vp.get(vo + cy * vrs + cx * vps).toInt() and 0xFF) - 128f
        rgb[0] = clamp(yv + 1.402f * vv)
        rgb[1] = clamp(yv - 0.344136f * uv - 0.714136f * vv)
        rgb[2] = clamp(yv + 1.772f * uv)
    }

    private fun clamp(x: Float): Float = if (x < 0f) 0f else if (x > 255f) 255f else x
}
