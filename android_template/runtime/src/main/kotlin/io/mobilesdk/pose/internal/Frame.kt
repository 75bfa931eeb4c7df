package io.mobilesdk.pose.internal

import java.nio.ByteBuffer

/**
 * A validated frame as the pipelines take it: stored orientation, clockwise [rotation] to upright.
 * Kinds: [Pixels] (Bitmap.getPixels ints, 0xAARRGGBB), [Rgba] (one plane of R, G, B, A bytes), [Yuv] (three
 * planes; NV21 is a Yuv whose U and V planes are views into one interleaved buffer). A crop (an Image's
 * cropRect) is already applied: [width] x [height] is the visible region and the plane offsets point at its
 * top-left pixel.
 */
internal sealed class Frame(val width: Int, val height: Int, val rotation: Int) {
    val uprightWidth: Int get() = if (rotation == 90 || rotation == 270) height else width
    val uprightHeight: Int get() = if (rotation == 90 || rotation == 270) width else height

    class Pixels(val pixels: IntArray, width: Int, height: Int, val stride: Int, rotation: Int) :
        Frame(width, height, rotation)

    /** R, G, B, A bytes: pixel (row, col) at `offset + row * rowStride + col * 4` of [buffer] (absolute index). */
    class Rgba(val buffer: ByteBuffer, val offset: Int, val rowStride: Int, width: Int, height: Int, rotation: Int) :
        Frame(width, height, rotation)

    /**
     * `plane[i]` holds samples at `offset[i] + row * rowStride[i] + col * pixelStride[i]` (absolute indices).
     * [nv21]: the caller's layout was NV21 (plane 1 = V/U interleaved); kept so the native core gets its
     * own format.
     */
    class Yuv(
        width: Int, height: Int, rotation: Int,
        val planes: Array<ByteBuffer>, val offsets: IntArray, val rowStrides: IntArray, val pixelStrides: IntArray,
        val nv21Bytes: ByteArray? = null,
    ) : Frame(width, height, rotation)

    companion object {
        /**
         * An NV21 array (width x height Y bytes, then interleaved V/U pairs) as a [Yuv]: Y, then U and V as
         * views into the V/U bytes (U from the second byte), all with the width as row stride; the array is
         * kept as [Yuv.nv21Bytes]. The caller has checked the size and the array's length.
         */
        fun nv21(nv21: ByteArray, width: Int, height: Int, rotation: Int): Yuv {
            val n = width * height
            val buf = ByteBuffer.wrap(nv21)
            return Yuv(
                width, height, rotation,
                arrayOf(buf, buf, buf), intArrayOf(0, n + 1, n), intArrayOf(width, width, width), intArrayOf(1, 2, 2),
                nv21Bytes = nv21,
            )
        }
    }
}

/** Argument checks shared by every path, with the messages of the C API (IllegalArgumentException). */
internal object FrameChecks {
    fun rotation(rotation: Int) {
        require(rotation == 0 || rotation == 90 || rotation == 180 || rotation == 270) {
            "rotation $rotation: must be one of 0, 90, 180, 270 (clockwise degrees that make the frame upright)"
        }
    }

    fun size(width: Int, height: Int, what: String) {
        require(width > 0 && height > 0) { "$what size ${width}x$height: width and height must be > 0" }
    }

    fun pixels(pixels: IntArray, width: Int, height: Int, stride: Int) {
        size(width, height, "frame")
        require(stride >= width) { "pixel stride $stride is smaller than the width $width" }
        val need = (height - 1).toLong() * stride + width
        require(pixels.size >= need) { "${pixels.size} pixels, a ${width}x$height frame with stride $stride needs $need" }
    }

    /** A plane of [rows] x [cols] samples; [limit] readable bytes from its index 0. */
    fun plane(what: String, i: Int, limit: Int, offset: Int, rows: Int, cols: Int, rowStride: Int, pixelStride: Int) {
        require(pixelStride >= 1) { "$what plane $i: pixel stride $pixelStride must be >= 1" }
        require(rowStride >= (cols - 1) * pixelStride + 1) {
            "$what plane $i: row stride $rowStride is smaller than a row ($cols pixels x $pixelStride bytes)"
        }
        val need = offset.toLong() + (rows - 1).toLong() * rowStride + (cols - 1).toLong() * pixelStride + 1
        require(limit >= need) { "$what plane $i: ${limit - offset} bytes, a ${cols}x$rows plane needs ${need - offset}" }
    }

    fun evenYuv(width: Int, height: Int, what: String) {
        size(width, height, "$what frame")
        require(width % 2 == 0 && height % 2 == 0) { "$what frame size ${width}x$height: width and height must be even" }
    }

    /** ROI: 4 finite numbers, right > left, bottom > top, overlapping the upright frame. */
    fun roi(roi: FloatArray, width: Int, height: Int) {
        require(roi.size == 4 && roi.all { it.isFinite() }) {
            "roi ${roi.contentToString()}: must be 4 finite numbers (left, top, right, bottom)"
        }
        val (l, t, r, b) = roi
        require(r > l && b > t) { "roi ${roi.contentToString()}: right must exceed left and bottom must exceed top" }
        require(minOf(r, width.toFloat()) > maxOf(l, 0f) && minOf(b, height.toFloat()) > maxOf(t, 0f)) {
            "roi ${roi.contentToString()}: lies outside the ${width}x$height frame"
        }
    }
}
