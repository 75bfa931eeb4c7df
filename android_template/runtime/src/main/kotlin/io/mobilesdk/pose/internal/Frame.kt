package io.mobilesdk.pose.internal

import android.graphics.ImageFormat
import android.graphics.PixelFormat
import android.media.Image
import io.mobilesdk.pose.RgbaFrame
import io.mobilesdk.pose.YuvFrame
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

/**
 * The public inputs (Image, [YuvFrame], [RgbaFrame]) as validated [Frame]s that read the caller's buffers in
 * place (nothing is copied or allocated beyond the small Frame objects).
 */
internal object FrameInputs {
    /**
     * An `android.media.Image` (YUV_420_888 or RGBA_8888) cropped to its `cropRect`. YUV crops with an odd
     * edge are widened to even (left/top down, right/bottom up; the image size is even), so each 2x2 chroma
     * block stays whole; RGBA crops are exact.
     */
    fun image(image: Image, rotation: Int): Frame {
        FrameChecks.rotation(rotation)
        val format = image.format
        val w = image.width
        val h = image.height
        val yuv = format == ImageFormat.YUV_420_888
        require(yuv || format == PixelFormat.RGBA_8888) {
            "image format $format is neither YUV_420_888 (${ImageFormat.YUV_420_888}) nor RGBA_8888 (${PixelFormat.RGBA_8888}); " +
                "for JPEG images decode them to a Bitmap"
        }
        FrameChecks.size(w, h, "image")
        val crop = image.cropRect
        var l = crop.left
        var t = crop.top
        var r = crop.right
        var b = crop.bottom
        require(l >= 0 && t >= 0 && r <= w && b <= h && r > l && b > t) {
            "image cropRect $crop: must be non-empty and inside the ${w}x$h image"
        }
        val p = image.planes
        if (!yuv) {
            require(p.size == 1) { "an RGBA_8888 image has 1 plane, got ${p.size}" }
            return rgba(p[0].buffer, p[0].rowStride, p[0].pixelStride, w, h, l, t, r - l, b - t, rotation)
        }
        require(p.size == 3) { "a YUV_420_888 image has 3 planes, got ${p.size}" }
        FrameChecks.evenYuv(w, h, "YUV_420_888")
        l = l and 1.inv()
        t = t and 1.inv()
        r += r and 1
        b += b and 1
        return yuv(
            p[0].buffer, p[0].rowStride, p[0].pixelStride, p[1].buffer, p[1].rowStride, p[1].pixelStride,
            p[2].buffer, p[2].rowStride, p[2].pixelStride, w, h, l, t, r - l, b - t, rotation,
        )
    }

    fun yuv(frame: YuvFrame, rotation: Int): Frame.Yuv {
        FrameChecks.rotation(rotation)
        FrameChecks.evenYuv(frame.width, frame.height, "YUV_420_888")
        val (y, u, v) = Triple(frame.y, frame.u, frame.v)
        return yuv(
            y.buffer, y.rowStride, y.pixelStride, u.buffer, u.rowStride, u.pixelStride, v.buffer, v.rowStride, v.pixelStride,
            frame.width, frame.height, 0, 0, frame.width, frame.height, rotation,
        )
    }

    fun rgba(frame: RgbaFrame, rotation: Int): Frame.Rgba {
        FrameChecks.rotation(rotation)
        FrameChecks.size(frame.width, frame.height, "RGBA frame")
        val p = frame.plane
        return rgba(p.buffer, p.rowStride, p.pixelStride, frame.width, frame.height, 0, 0, frame.width, frame.height, rotation)
    }

    /** The [cw] x [ch] region at ([cl], [ct]) (even) of a [w] x [h] YUV_420_888 frame's planes. */
    private fun yuv(
        y: ByteBuffer, yrs: Int, yps: Int, u: ByteBuffer, urs: Int, ups: Int, v: ByteBuffer, vrs: Int, vps: Int,
        w: Int, h: Int, cl: Int, ct: Int, cw: Int, ch: Int, rotation: Int,
    ): Frame.Yuv {
        val buffers = arrayOf(y, u, v)
        val rs = intArrayOf(yrs, urs, vrs)
        val ps = intArrayOf(yps, ups, vps)
        val offsets = IntArray(3)
        for (i in 0 until 3) {
            val sub = if (i == 0) 1 else 2
            // the whole plane must fit, as for an uncropped frame
            FrameChecks.plane("YUV_420_888", i, buffers[i].limit(), 0, h / sub, w / sub, rs[i], ps[i])
            offsets[i] = (ct / sub) * rs[i] + (cl / sub) * ps[i]
        }
        return Frame.Yuv(cw, ch, rotation, buffers, offsets, rs, ps)
    }

    /** The [cw] x [ch] region at ([cl], [ct]) of a [w] x [h] RGBA_8888 plane. */
    private fun rgba(
        buf: ByteBuffer, rowStride: Int, pixelStride: Int, w: Int, h: Int, cl: Int, ct: Int, cw: Int, ch: Int, rotation: Int,
    ): Frame.Rgba {
        require(pixelStride == 4) { "RGBA_8888 plane: pixel stride must be 4, got $pixelStride" }
        require(rowStride >= 4 * w) { "RGBA_8888 plane: row stride $rowStride is smaller than a row ($w pixels x 4 bytes)" }
        val need = (h - 1).toLong() * rowStride + 4L * w
        require(buf.limit() >= need) { "RGBA_8888 plane: ${buf.limit()} bytes, a ${w}x$h frame needs $need" }
        return Frame.Rgba(buf, ct * rowStride + 4 * cl, rowStride, cw, ch, rotation)
    }
}
