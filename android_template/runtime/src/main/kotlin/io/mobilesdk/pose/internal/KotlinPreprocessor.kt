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
 * Speed: nothing is allocated per call (after the first call with a given output buffer). Only the samples
 * the output needs are read: the crop matrix is diagonal (scale + shift), so the source coordinates are
 * separable: x = f(u), y = g(v). They are computed once per call in double (a 1920-px frame needs it: float
 * puts 1e-4 px of error on the bilinear weights) into per-column and per-row tables of (integer tap, weight)
 * — for YUV, of the taps' Y/U/V byte offsets in the stored planes — and the pixel loop only gathers four
 * taps, converts them (YUV: chroma products from 256-entry tables, branch-free clamps) and blends them in
 * float, normalising as it stores. The frame is never rotated or converted as a whole. Results are exactly
 * the earlier per-tap implementation's (same float operations in the same order). Not thread-safe (one per
 * estimator; the estimator serialises calls).
 */
internal class KotlinPreprocessor(val input: InputSpec) {
    private companion object {
        const val BITS_255 = 0x437F0000 // 255f
    }

    private val w = input.width
    private val h = input.height
    private val matrix = DoubleArray(6)
    private val inverse = DoubleArray(6)
    private val colX0 = IntArray(w)
    private val colFx = FloatArray(w)
    private val rowY0 = IntArray(h)
    private val rowFy = FloatArray(h)

    // YUV tap tables (warpYuv): per output column / row and tap, byte index parts (colIdx: Y, U, V of tap 0,
    // then of tap 1) and weights.
    private val colIdx = IntArray(6 * w)
    private val colW = FloatArray(2 * w)
    private val rowY = IntArray(2 * h)
    private val rowU = IntArray(2 * h)
    private val rowV = IntArray(2 * h)
    private val rowW = FloatArray(2 * h)
    private val values = FloatArray(3 * w * h) // output order: NCHW or NHWC, channels in model colour order
    private val bytes = if (input.dtype == InputSpec.DType.UINT8) ByteArray(3 * w * h) else null

    /** Output channel c takes RGB channel srcChannel[c] (BGR models: 2, 1, 0). */
    private val srcChannel = if (input.color == InputSpec.Color.BGR) intArrayOf(2, 1, 0) else intArrayOf(0, 1, 2)

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
            is Frame.Rgba -> warpRgba(frame)
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

    // Stored index of upright (x, y) = base + x * dx + y * dy for the rotation, set by [indexMap].
    private var mapBase = 0
    private var mapDx = 0
    private var mapDy = 0

    /** [indexMap] for a frame whose pixels are [step] apart and rows [stride] apart, starting at [origin]. */
    private fun indexMap(rotation: Int, width: Int, height: Int, origin: Int, step: Int, stride: Int) {
        when (rotation) {
            0 -> { mapBase = 0; mapDx = step; mapDy = stride }
            90 -> { mapBase = (height - 1) * stride; mapDx = -stride; mapDy = step }
            180 -> { mapBase = (height - 1) * stride + (width - 1) * step; mapDx = -step; mapDy = -stride }
            else -> { mapBase = (width - 1) * step; mapDx = stride; mapDy = -step } // 270
        }
        mapBase += origin
    }

    private fun warpPixels(f: Frame.Pixels) {
        val px = f.pixels
        val upW = f.uprightWidth
        val upH = f.uprightHeight
        indexMap(f.rotation, f.width, f.height, 0, 1, f.stride)
        val base = mapBase
        val dx = mapDx
        val dy = mapDy
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

    /** RGBA bytes: as [warpPixels] (same float operations), reading R, G, B at a pixel's first three bytes. */
    private fun warpRgba(f: Frame.Rgba) {
        val buf = f.buffer
        if (buf.hasArray()) {
            val a = buf.array()
            val o = buf.arrayOffset()
            warpRgbaWith(f) { a[o + it] }
        } else {
            warpRgbaWith(f) { buf.get(it) }
        }
    }

    private inline fun warpRgbaWith(f: Frame.Rgba, crossinline at: (Int) -> Byte) {
        val upW = f.uprightWidth
        val upH = f.uprightHeight
        indexMap(f.rotation, f.width, f.height, f.offset, 4, f.rowStride)
        val base = mapBase
        val dx = mapDx
        val dy = mapDy
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
                var r = 0f
                var g = 0f
                var b = 0f
                for (c in 0 until 3) {
                    val p00 = if (okY0 && okX0) at(row0 + o0 + c).toInt() and 0xFF else 0
                    val p01 = if (okY0 && okX1) at(row0 + o0 + dx + c).toInt() and 0xFF else 0
                    val p10 = if (okY1 && okX0) at(row1 + o0 + c).toInt() and 0xFF else 0
                    val p11 = if (okY1 && okX1) at(row1 + o0 + dx + c).toInt() and 0xFF else 0
                    val value = gy * (gx * p00 + fx * p01) + fy * (gx * p10 + fx * p11)
                    when (c) {
                        0 -> r = value
                        1 -> g = value
                        else -> b = value
                    }
                }
                store(v * w + u, plane, nchw, if (c0 == 0) r else b, g, if (c2 == 2) b else r)
            }
        }
    }

    /**
     * YUV: per output pixel, its four bilinear taps converted to RGB one by one (only the samples the output
     * needs are read). The rotation is an axis permutation, so a tap's stored Y / U / V byte index is a
     * column part plus a row part: [tapTables] holds, per output column and row and per tap (0: floor,
     * 1: floor + 1), those parts and the tap's weight (0 for a tap outside the frame, whose index is then any
     * valid one). The value is `sum(w_col * w_row * rgb(tap))` over the taps in order (0,0), (1,0), (0,1),
     * (1,1): the same float operations as adding only the taps inside the frame.
     */
    private fun warpYuv(f: Frame.Yuv) {
        tapTables(f)
        val yb = f.planes[0]
        val ub = f.planes[1]
        val vb = f.planes[2]
        if (yb.hasArray() && ub.hasArray() && vb.hasArray()) {
            warpYuvArrays(yb.array(), yb.arrayOffset(), ub.array(), ub.arrayOffset(), vb.array(), vb.arrayOffset())
        } else {
            warpYuvBuffers(yb, ub, vb)
        }
    }

    private fun warpYuvArrays(ya: ByteArray, yo: Int, ua: ByteArray, uo: Int, va: ByteArray, vo: Int) =
        warpYuvWith({ ya[yo + it] }, { ua[uo + it] }, { va[vo + it] })

    private fun warpYuvBuffers(yb: ByteBuffer, ub: ByteBuffer, vb: ByteBuffer) =
        warpYuvWith({ yb.get(it) }, { ub.get(it) }, { vb.get(it) })

    // JFIF products per chroma byte b (c = b - 128f), the same float products the conversion would compute,
    // interleaved: uTab[2b] = 0.344136 c (G), uTab[2b + 1] = 1.772 c (B); vTab[2b] = 1.402 c (R), vTab[2b + 1] = 0.714136 c (G).
    private val uTab = FloatArray(512) { if (it and 1 == 0) 0.344136f * ((it shr 1) - 128f) else 1.772f * ((it shr 1) - 128f) }
    private val vTab = FloatArray(512) { if (it and 1 == 0) 1.402f * ((it shr 1) - 128f) else 0.714136f * ((it shr 1) - 128f) }

    /**
     * The pixel loop for one kind of plane storage ([yAt] etc. read the byte at an absolute index). A tap's
     * RGB is JFIF from its Y, U, V (`R = Y + 1.402 V'`, `G = Y - 0.344136 U' - 0.714136 V'`,
     * `B = Y + 1.772 U'`, U' = U - 128, each clamped to [0, 255], not rounded).
     */
    private inline fun warpYuvWith(crossinline yAt: (Int) -> Byte, crossinline uAt: (Int) -> Byte, crossinline vAt: (Int) -> Byte) {
        val plane = w * h
        val nchw = input.layout == InputSpec.Layout.NCHW
        val c0 = srcChannel[0]
        val c2 = srcChannel[2]
        val ci = colIdx
        val cW = colW
        val ut = uTab
        val vt = vTab
        for (v in 0 until h) {
            val rY0 = rowY[2 * v]
            val rY1 = rowY[2 * v + 1]
            val rU0 = rowU[2 * v]
            val rU1 = rowU[2 * v + 1]
            val rV0 = rowV[2 * v]
            val rV1 = rowV[2 * v + 1]
            val wy0 = rowW[2 * v]
            val wy1 = rowW[2 * v + 1]
            for (u in 0 until w) {
                val a = 2 * u
                val b = a + 1
                val o = 6 * u
                // taps in the order (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1), summed from 0
                var wt = cW[a] * wy0
                var y = (yAt(ci[o + 0] + rY0).toInt() and 0xFF).toFloat()
                var cu = (uAt(ci[o + 1] + rU0).toInt() and 0xFF) shl 1
                var cv = (vAt(ci[o + 2] + rV0).toInt() and 0xFF) shl 1
                var r = wt * clamp(y + vt[cv])
                var g = wt * clamp(y - ut[cu] - vt[cv + 1])
                var bl = wt * clamp(y + ut[cu + 1])
                wt = cW[b] * wy0
                y = (yAt(ci[o + 3] + rY0).toInt() and 0xFF).toFloat()
                cu = (uAt(ci[o + 4] + rU0).toInt() and 0xFF) shl 1
                cv = (vAt(ci[o + 5] + rV0).toInt() and 0xFF) shl 1
                r += wt * clamp(y + vt[cv])
                g += wt * clamp(y - ut[cu] - vt[cv + 1])
                bl += wt * clamp(y + ut[cu + 1])
                wt = cW[a] * wy1
                y = (yAt(ci[o + 0] + rY1).toInt() and 0xFF).toFloat()
                cu = (uAt(ci[o + 1] + rU1).toInt() and 0xFF) shl 1
                cv = (vAt(ci[o + 2] + rV1).toInt() and 0xFF) shl 1
                r += wt * clamp(y + vt[cv])
                g += wt * clamp(y - ut[cu] - vt[cv + 1])
                bl += wt * clamp(y + ut[cu + 1])
                wt = cW[b] * wy1
                y = (yAt(ci[o + 3] + rY1).toInt() and 0xFF).toFloat()
                cu = (uAt(ci[o + 4] + rU1).toInt() and 0xFF) shl 1
                cv = (vAt(ci[o + 5] + rV1).toInt() and 0xFF) shl 1
                r += wt * clamp(y + vt[cv])
                g += wt * clamp(y - ut[cu] - vt[cv + 1])
                bl += wt * clamp(y + ut[cu + 1])
                store(v * w + u, plane, nchw, if (c0 == 0) r else bl, g, if (c2 == 2) bl else r)
            }
        }
    }

    @Suppress("NOTHING_TO_INLINE")
    private inline fun clamp(x: Float): Float {
        // Branch-free clamp to [0, 255] on the float's bits (no NaN here; -0 becomes +0, which no sum tells
        // apart): a negative float's sign bit clears all bits (+0), and for non-negative floats the bits
        // order as the values, so an int min against 255f's bits caps it.
        val bits = java.lang.Float.floatToRawIntBits(x)
        return java.lang.Float.intBitsToFloat(Math.min(bits and (bits shr 31).inv(), BITS_255))
    }

    /**
     * Fills colIdx/colW and rowY/U/V/W for [f] from the tap tables (see [warpYuv]). Upright x is stored x for
     * rotations 0 and 180 and stored y for 90 and 270 (reversed for 180 / 90 as the rotation's index map).
     */
    private fun tapTables(f: Frame.Yuv) {
        val upW = f.uprightWidth
        val upH = f.uprightHeight
        val swap = f.rotation == 90 || f.rotation == 270
        // upright x -> stored coordinate along that axis: sx (or sy when swapped) = xBase + xSign * x
        val xRev = f.rotation == 90 || f.rotation == 180
        val yRev = f.rotation == 180 || f.rotation == 270
        val xN = upW - 1
        val yN = upH - 1
        // byte strides of the stored axis upright x (resp. y) moves along, per plane (Y, then chroma U and V)
        val xY = if (swap) f.rowStrides[0] else f.pixelStrides[0]
        val xU = if (swap) f.rowStrides[1] else f.pixelStrides[1]
        val xV = if (swap) f.rowStrides[2] else f.pixelStrides[2]
        val yY = if (swap) f.pixelStrides[0] else f.rowStrides[0]
        val yU = if (swap) f.pixelStrides[1] else f.rowStrides[1]
        val yV = if (swap) f.pixelStrides[2] else f.rowStrides[2]
        for (u in 0 until w) {
            val x0 = colX0[u]
            val fx = colFx[u]
            for (t in 0 until 2) {
                val x = x0 + t
                val ok = x in 0 until upW
                val s = if (!ok) 0 else if (xRev) xN - x else x
                colIdx[6 * u + 3 * t] = s * xY
                colIdx[6 * u + 3 * t + 1] = (s shr 1) * xU
                colIdx[6 * u + 3 * t + 2] = (s shr 1) * xV
                colW[2 * u + t] = if (!ok) 0f else if (t == 0) 1f - fx else fx
            }
        }
        for (v in 0 until h) {
            val y0 = rowY0[v]
            val fy = rowFy[v]
            for (t in 0 until 2) {
                val y = y0 + t
                val ok = y in 0 until upH
                val s = if (!ok) 0 else if (yRev) yN - y else y
                rowY[2 * v + t] = f.offsets[0] + s * yY
                rowU[2 * v + t] = f.offsets[1] + (s shr 1) * yU
                rowV[2 * v + t] = f.offsets[2] + (s shr 1) * yV
                rowW[2 * v + t] = if (!ok) 0f else if (t == 0) 1f - fy else fy
            }
        }
    }

    /**
     * Store the three output channels (already in model colour order) of pixel [i] into [values]: float32
     * inputs normalised here (`(v - mean) * (1 / std)`, the single pass [write] then copies), uint8 raw.
     */
    @Suppress("NOTHING_TO_INLINE")
    private inline fun store(i: Int, plane: Int, nchw: Boolean, a: Float, b: Float, c: Float) {
        var x = a
        var y = b
        var z = c
        if (bytes == null) {
            x = (a - m0) * k0
            y = (b - m1) * k1
            z = (c - m2) * k2
        }
        if (nchw) {
            values[i] = x
            values[plane + i] = y
            values[2 * plane + i] = z
        } else {
            val o = 3 * i
            values[o] = x
            values[o + 1] = y
            values[o + 2] = z
        }
    }

    private val m0 = input.mean[0].toFloat()
    private val m1 = input.mean[1].toFloat()
    private val m2 = input.mean[2].toFloat()
    private val k0 = (1.0 / input.std[0]).toFloat()
    private val k1 = (1.0 / input.std[1]).toFloat()
    private val k2 = (1.0 / input.std[2]).toFloat()

    // A float view of the last output buffer (the pipeline passes the same one every call: no per-call view).
    private var lastOut: ByteBuffer? = null
    private var lastFloats: java.nio.FloatBuffer? = null
    private var lastBytes: ByteBuffer? = null

    private fun write(out: ByteBuffer) {
        val bb = bytes
        if (bb != null) {
            for (i in bb.indices) {
                val q = floor(values[i] + 0.5f).toInt()
                bb[i] = (if (q < 0) 0 else if (q > 255) 255 else q).toByte()
            }
            var view = lastBytes
            if (view == null || lastOut !== out) {
                view = out.duplicate()
                lastOut = out
                lastBytes = view
                lastFloats = null
            }
            view!!.clear()
            view.put(bb)
            return
        }
        var fb = lastFloats
        if (fb == null || lastOut !== out) {
            fb = out.duplicate().order(ByteOrder.nativeOrder()).also { it.clear() }.asFloatBuffer()
            lastOut = out
            lastFloats = fb
            lastBytes = null
        }
        fb!!.clear()
        fb.put(values)
    }
}
