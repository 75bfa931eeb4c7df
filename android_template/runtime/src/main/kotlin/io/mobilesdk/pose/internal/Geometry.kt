package io.mobilesdk.pose.internal

import io.mobilesdk.pose.InputSpec

/**
 * The crop matrix A (2x3, row-major a00 a01 a02 a10 a11 a12; upright-frame px -> model-input px) of
 * mobilesdk/preprocess.py `crop_matrix`, in double. [roi] null means the whole frame (0, 0, W, H); it must be
 * valid ([FrameChecks.roi]).
 */
internal object Geometry {
    fun cropMatrix(input: InputSpec, width: Int, height: Int, roi: FloatArray?, out: DoubleArray) {
        val wIn = input.width.toDouble()
        val hIn = input.height.toDouble()
        // (if/else, not `roi?.get(0)?.toDouble() ?: 0.0`, which boxes: this runs per frame and allocates nothing)
        val left = if (roi != null) roi[0].toDouble() else 0.0
        val top = if (roi != null) roi[1].toDouble() else 0.0
        val right = if (roi != null) roi[2].toDouble() else width.toDouble()
        val bottom = if (roi != null) roi[3].toDouble() else height.toDouble()
        var bw = right - left
        var bh = bottom - top
        if (input.resize == InputSpec.Resize.STRETCH) {
            val sx = wIn / bw
            val sy = hIn / bh
            set(out, sx, 0.0, (0.5 - left) * sx - 0.5, 0.0, sy, (0.5 - top) * sy - 0.5)
            return
        }
        val aspect = wIn / hIn
        if (bw > aspect * bh) bh = bw / aspect else bw = bh * aspect // grow the short side; never squash
        if (roi != null && input.resize == InputSpec.Resize.AFFINE) bw *= input.roiPadding
        val s = wIn / bw
        val cx = (left + right) / 2.0
        val cy = (top + bottom) / 2.0
        set(out, s, 0.0, wIn / 2.0 - s * cx, 0.0, s, hIn / 2.0 - s * cy)
    }

    /** The inverse of the 2x3 affine [m] into [out] (model-input px -> upright-frame px). */
    fun invert(m: DoubleArray, out: DoubleArray) {
        val det = m[0] * m[4] - m[1] * m[3]
        require(det != 0.0 && det.isFinite()) { "singular crop matrix" }
        val a = m[4] / det
        val b = -m[1] / det
        val d = -m[3] / det
        val e = m[0] / det
        set(out, a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5]))
    }

    private fun set(o: DoubleArray, a: Double, b: Double, c: Double, d: Double, e: Double, f: Double) {
        o[0] = a; o[1] = b; o[2] = c; o[3] = d; o[4] = e; o[5] = f
    }
}
