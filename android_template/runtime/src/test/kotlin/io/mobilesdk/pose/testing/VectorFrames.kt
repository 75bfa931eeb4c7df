package io.mobilesdk.pose.testing

import io.mobilesdk.pose.internal.Frame
import io.mobilesdk.pose.internal.NativeCore
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.json.JSONObject

/** A vector case's frame as the runtime takes it (Kotlin Frame, native planes, ARGB ints). */
class VectorFrame(val v: Vectors, val doc: JSONObject) {
    val format: String = doc.getString("format")
    val width = doc.getInt("width")
    val height = doc.getInt("height")
    private val planeDocs = doc.getJSONArray("planes").let { a -> (0 until a.length()).map { a.getJSONObject(it) } }
    val data: List<ByteArray> = planeDocs.map { v.uint8(it.getJSONObject("data")) }
    val rowStrides = planeDocs.map { it.getInt("row_stride") }
    val pixelStrides = planeDocs.map { it.getInt("pixel_stride") }

    val isPacked get() = format == "rgb" || format == "rgba" || format == "bgra"

    /** Packed formats as Bitmap.getPixels ints 0xAARRGGBB (stride = width). */
    fun argb(): IntArray {
        check(isPacked)
        val (ro, go, bo) = if (format == "bgra") Triple(2, 1, 0) else Triple(0, 1, 2)
        val bytes = data[0]
        return IntArray(width * height) { i ->
            val o = (i / width) * rowStrides[0] + (i % width) * pixelStrides[0]
            val a = if (format == "rgb") 255 else bytes[o + 3].toInt() and 0xFF
            (a shl 24) or ((bytes[o + ro].toInt() and 0xFF) shl 16) or ((bytes[o + go].toInt() and 0xFF) shl 8) or (bytes[o + bo].toInt() and 0xFF)
        }
    }

    internal fun kotlinFrame(rotation: Int): Frame = when (format) {
        "rgb", "rgba", "bgra" -> Frame.Pixels(argb(), width, height, width, rotation)
        "nv21" -> {
            val y = ByteBuffer.wrap(data[0])
            val vu = ByteBuffer.wrap(data[1])
            Frame.Yuv(width, height, rotation, arrayOf(y, vu, vu), intArrayOf(0, 1, 0),
                intArrayOf(rowStrides[0], rowStrides[1], rowStrides[1]), intArrayOf(1, 2, 2))
        }
        else -> Frame.Yuv(width, height, rotation, Array(3) { ByteBuffer.wrap(data[it]) }, IntArray(3),
            rowStrides.toIntArray(), pixelStrides.toIntArray())
    }

    val nativeFormat: Int
        get() = when (format) {
            "rgb" -> 1
            "rgba" -> NativeCore.FORMAT_RGBA8888
            "bgra" -> NativeCore.FORMAT_BGRA8888
            "nv21" -> NativeCore.FORMAT_NV21
            else -> NativeCore.FORMAT_YUV_420_888
        }

    fun direct(i: Int): ByteBuffer? = data.getOrNull(i)?.let { ByteBuffer.allocateDirect(it.size).order(ByteOrder.nativeOrder()).put(it).also { b -> b.clear() } }

    fun nativePreprocess(handle: Long, rotation: Int, roi: FloatArray?, input: ByteBuffer, affine: FloatArray) {
        NativeCore.nativePreprocess(
            handle, nativeFormat, width, height, rotation,
            direct(0)!!, rowStrides[0], pixelStrides[0],
            direct(1), rowStrides.getOrElse(1) { 0 }, pixelStrides.getOrElse(1) { 0 },
            direct(2), rowStrides.getOrElse(2) { 0 }, pixelStrides.getOrElse(2) { 0 },
            roi, input, affine,
        )
    }
}

object Compare {
    /** Max |a - b| of a model input buffer against the expected array (float32 or uint8). */
    fun maxDiff(buf: ByteBuffer, dtype: String, expected: Any): Double {
        val b = buf.duplicate().order(ByteOrder.nativeOrder()).also { it.clear() }
        var worst = 0.0
        if (dtype == "uint8") {
            val e = expected as ByteArray
            for (i in e.indices) worst = maxOf(worst, Math.abs((b.get(i).toInt() and 0xFF) - (e[i].toInt() and 0xFF)).toDouble())
        } else {
            val e = expected as FloatArray
            val f = b.asFloatBuffer()
            for (i in e.indices) worst = maxOf(worst, Math.abs(f.get(i).toDouble() - e[i]))
        }
        return worst
    }
}
