package io.mobilesdk.pose.testing

import android.graphics.ImageFormat
import android.graphics.PixelFormat
import android.graphics.Rect
import android.media.Image
import java.nio.ByteBuffer

/**
 * A real `android.media.Image` (the framework class under Robolectric is abstract: this subclass supplies its
 * format, size, planes and crop rect as a camera's Image would; `getCropRect` is the framework's own).
 */
class TestImage(
    private val format: Int,
    private val width: Int,
    private val height: Int,
    private val planes: Array<Plane>,
    crop: Rect? = null,
) : Image() {
    init {
        mIsImageValid = true
        if (crop != null) cropRect = crop
    }

    override fun getFormat() = format
    override fun getWidth() = width
    override fun getHeight() = height
    override fun getTimestamp() = 0L
    override fun getTransform() = 0
    override fun getScalingMode() = 0
    override fun getPlanes() = planes
    override fun close() {
        mIsImageValid = false
    }

    class TestPlane(private val buffer: ByteBuffer, private val rowStride: Int, private val pixelStride: Int) : Plane() {
        override fun getRowStride() = rowStride
        override fun getPixelStride() = pixelStride
        override fun getBuffer(): ByteBuffer = buffer
    }

    companion object {
        private fun direct(bytes: ByteArray): ByteBuffer = ByteBuffer.allocateDirect(bytes.size).put(bytes).also { it.clear() }

        /**
         * A YUV_420_888 image of [width] x [height] (even) whose region at ([left], [top]) holds the [w] x [h]
         * samples [y] (row-major), [u], [v] (half size); elsewhere a fixed pattern. Chroma [pixelStride] 1
         * (I420: three buffers) or 2 (NV12: U and V interleaved in one buffer, V a view from its second
         * byte); every row padded by [padding] bytes.
         */
        fun yuv(
            width: Int, height: Int, left: Int, top: Int, w: Int, h: Int, y: ByteArray, u: ByteArray, v: ByteArray,
            pixelStride: Int, padding: Int, crop: Rect?,
        ): TestImage {
            val yrs = width + padding
            val ybuf = ByteArray(yrs * height) { (it * 7 + 3).toByte() }
            for (r in 0 until h) System.arraycopy(y, r * w, ybuf, (top + r) * yrs + left, w)
            val cw = width / 2
            val crs = (cw - 1) * pixelStride + 1 + padding
            val ch = height / 2
            val planes: Array<Plane> = if (pixelStride == 1) {
                val ub = ByteArray(crs * ch) { (it * 5 + 1).toByte() }
                val vb = ByteArray(crs * ch) { (it * 11 + 2).toByte() }
                for (r in 0 until h / 2) {
                    System.arraycopy(u, r * (w / 2), ub, (top / 2 + r) * crs + left / 2, w / 2)
                    System.arraycopy(v, r * (w / 2), vb, (top / 2 + r) * crs + left / 2, w / 2)
                }
                arrayOf(TestPlane(direct(ybuf), yrs, 1), TestPlane(direct(ub), crs, 1), TestPlane(direct(vb), crs, 1))
            } else {
                val uv = ByteArray(crs * ch + 1) { (it * 5 + 1).toByte() } // U V U V ...; V's view needs the last byte
                for (r in 0 until h / 2) for (c in 0 until w / 2) {
                    val o = (top / 2 + r) * crs + (left / 2 + c) * 2
                    uv[o] = u[r * (w / 2) + c]
                    uv[o + 1] = v[r * (w / 2) + c]
                }
                val buf = direct(uv)
                val vView = buf.duplicate().also { it.position(1) }.slice()
                arrayOf(TestPlane(direct(ybuf), yrs, 1), TestPlane(buf, crs, 2), TestPlane(vView, crs, 2))
            }
            return TestImage(ImageFormat.YUV_420_888, width, height, planes, crop)
        }

        /**
         * An RGBA_8888 image of [width] x [height] whose region at ([left], [top]) holds [rgba] (w x h x 4,
         * row-major); rows padded by [padding] bytes; elsewhere a fixed pattern.
         */
        fun rgba(width: Int, height: Int, left: Int, top: Int, w: Int, h: Int, rgba: ByteArray, padding: Int, crop: Rect?): TestImage {
            val rs = 4 * width + padding
            val buf = ByteArray(rs * height) { (it * 13 + 5).toByte() }
            for (r in 0 until h) System.arraycopy(rgba, r * w * 4, buf, (top + r) * rs + 4 * left, 4 * w)
            return TestImage(PixelFormat.RGBA_8888, width, height, arrayOf(TestPlane(direct(buf), rs, 4)), crop)
        }
    }
}
