package io.mobilesdk.pose.internal

import io.mobilesdk.pose.ModelSpec
import io.mobilesdk.pose.PoseException
import java.io.Closeable
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Pre- and post-processing around an engine that only runs the model (TFLite): frame -> model input and raw
 * outputs -> keypoints in the frame, in the native core's flat result layout (see [NativeCore]).
 */
internal interface FrameProcessor : Closeable {
    val isNative: Boolean

    /** [frame] (+ optional [roi]) -> [input] (exactly the model input's bytes, direct, native order); A -> [affine]. */
    fun preprocess(frame: Frame, roi: FloatArray?, input: ByteBuffer, affine: FloatArray)

    /** Raw float32 [outputs] (direct, native order, manifest order) + [affine] -> [out] (resultSize(K) floats). */
    fun decode(outputs: Array<ByteBuffer>, affine: FloatArray, out: FloatArray)
}

internal fun directBuffer(bytes: Int): ByteBuffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder())

/** Kotlin pre/post (the fallback when the native library is absent), equal to the Python reference. */
internal class KotlinProcessor(private val spec: ModelSpec) : FrameProcessor {
    override val isNative = false
    private val k = spec.numKeypoints
    private val pre = KotlinPreprocessor(spec.input)
    private val decoder = KeypointDecoder.create(spec.codec, spec.input.width, spec.input.height, k, spec.outputs)
    private val raw = Array(spec.outputs.size) { FloatArray(spec.outputs[it].count) }
    private val decoded = DecodedPose(k)
    private val calibration = spec.codec.visibilityCalibration
    private val matrix = DoubleArray(6)
    private val lastAffine = FloatArray(6)
    private val inverse = DoubleArray(6)

    init {
        for (o in spec.outputs) {
            if (o.dtype != "float32") {
                throw PoseException(PoseException.UNSUPPORTED, "output '${o.name}' is ${o.dtype}; this runtime decodes float32 outputs")
            }
            if (o.shape[0] != 1) throw PoseException(PoseException.INVALID_MANIFEST, "output '${o.name}' has batch ${o.shape[0]}, expected 1")
        }
    }

    override fun preprocess(frame: Frame, roi: FloatArray?, input: ByteBuffer, affine: FloatArray) {
        pre.run(frame, roi, input, affine, matrix)
        affine.copyInto(lastAffine)
    }

    override fun decode(outputs: Array<ByteBuffer>, affine: FloatArray, out: FloatArray) {
        for (i in outputs.indices) {
            val fb = outputs[i].duplicate().order(ByteOrder.nativeOrder()).also { it.clear() }.asFloatBuffer()
            fb.get(raw[i])
        }
        decoder.decode(raw, 0, decoded)
        decoded.fillVisibility(calibration)
        // Map back through A^-1 in double: the exact matrix of the last preprocess when this is its affine.
        if (!affine.contentEquals(lastAffine)) for (i in 0 until 6) matrix[i] = affine[i].toDouble()
        Geometry.invert(matrix, inverse)
        writeResult(decoded, inverse, affine, out)
    }

    override fun close() {}

    companion object {
        /** Decoded keypoints (model-input px) -> [out] in the native layout, mapped by [inverse] (A^-1). */
        fun writeResult(d: DecodedPose, inverse: DoubleArray, affine: FloatArray, out: FloatArray) {
            val k = d.numKeypoints
            var total = 0.0
            for (j in 0 until k) {
                val x = d.x[j].toFloat().toDouble() // the reference's Keypoints hold float32
                val y = d.y[j].toFloat().toDouble()
                out[4 * j] = (inverse[0] * x + inverse[1] * y + inverse[2]).toFloat()
                out[4 * j + 1] = (inverse[3] * x + inverse[4] * y + inverse[5]).toFloat()
                out[4 * j + 2] = d.z[j].toFloat()
                out[4 * j + 3] = d.score[j].toFloat()
                out[4 * k + 10 + j] = d.visibility[j].toFloat()
                total += d.score[j].toFloat()
            }
            out[4 * k] = (total / k).toFloat()
            for (i in 0 until 6) out[4 * k + 1 + i] = affine[i]
        }
    }
}

/** Pre/post in the native core (`NativeCore` processor handle); inference stays with the caller. */
internal class NativeProcessor(spec: ModelSpec) : FrameProcessor {
    override val isNative = true
    private var handle: Long
    private val scratch = PlaneScratch()

    init {
        val json = spec.manifestJson
            ?: throw PoseException(PoseException.INVALID_MANIFEST, "native processing needs the manifest JSON (ModelSpec.manifestJson is null)")
        handle = NativeCore.nativeCreateProcessor(json, spec.recipe)
        try {
            val k = NativeCore.nativeNumKeypoints(handle)
            val bytes = NativeCore.nativeInputBytes(handle)
            val counts = NativeCore.nativeOutputCounts(handle).toList()
            val want = spec.outputs.map { it.count }
            if (k != spec.numKeypoints || bytes != spec.input.bytes || counts != want) {
                throw PoseException(
                    PoseException.MISMATCH,
                    "the native core reads the manifest as K=$k, input $bytes bytes, outputs $counts; " +
                        "the spec says K=${spec.numKeypoints}, input ${spec.input.bytes} bytes, outputs $want",
                )
            }
        } catch (e: Throwable) {
            NativeCore.nativeDestroyProcessor(handle)
            throw e
        }
    }

    override fun preprocess(frame: Frame, roi: FloatArray?, input: ByteBuffer, affine: FloatArray) {
        when (frame) {
            is Frame.Pixels -> NativeCore.nativePreprocessPixels(
                handle, frame.pixels, frame.width, frame.height, frame.stride, frame.rotation, roi, input, affine,
            )
            is Frame.Rgba -> NativeCore.nativePreprocess(
                handle, NativeCore.FORMAT_RGBA8888, frame.width, frame.height, frame.rotation,
                scratch.rgba(frame), frame.rowStride, 4, null, 0, 0, null, 0, 0, roi, input, affine,
            )
            is Frame.Yuv -> {
                val p = scratch.planes(frame)
                NativeCore.nativePreprocess(
                    handle, p.format, frame.width, frame.height, frame.rotation,
                    p.buffers[0]!!, p.rowStrides[0], p.pixelStrides[0],
                    p.buffers[1], p.rowStrides[1], p.pixelStrides[1],
                    p.buffers[2], p.rowStrides[2], p.pixelStrides[2],
                    roi, input, affine,
                )
            }
        }
    }

    override fun decode(outputs: Array<ByteBuffer>, affine: FloatArray, out: FloatArray) {
        NativeCore.nativeDecode(handle, outputs, affine, out)
    }

    override fun close() {
        if (handle != 0L) {
            NativeCore.nativeDestroyProcessor(handle)
            handle = 0L
        }
    }
}

/**
 * Direct-buffer views of a [Frame.Yuv] or [Frame.Rgba] for the native core: direct planes are passed as
 * views from their offset (zero copy); heap buffers (and NV21 byte arrays) are copied into reusable direct
 * buffers (kept between calls: each as large as the largest heap frame seen; Image planes are direct).
 */
internal class PlaneScratch {
    class Planes {
        var format = 0
        val buffers = arrayOfNulls<ByteBuffer>(3)
        val rowStrides = IntArray(3)
        val pixelStrides = IntArray(3)
    }

    private val result = Planes()
    private val copies = arrayOfNulls<ByteBuffer>(3)

    fun planes(f: Frame.Yuv): Planes {
        val r = result
        val nv21 = f.nv21Bytes
        if (nv21 != null) {
            val n = f.width * f.height
            val buf = copy(0, nv21, nv21.size)
            r.format = NativeCore.FORMAT_NV21
            r.buffers[0] = slice(buf, 0, n)
            r.buffers[1] = slice(buf, n, nv21.size - n)
            r.buffers[2] = null
            r.rowStrides[0] = f.width; r.pixelStrides[0] = 1
            r.rowStrides[1] = f.rowStrides[2]; r.pixelStrides[1] = 2
            r.rowStrides[2] = 0; r.pixelStrides[2] = 0
            return r
        }
        r.format = NativeCore.FORMAT_YUV_420_888
        for (i in 0 until 3) {
            val src = f.planes[i]
            val off = f.offsets[i]
            r.buffers[i] = if (src.isDirect) {
                if (off == 0) src else slice(src, off, src.limit() - off)
            } else {
                val len = src.limit() - off
                val dst = ensure(i, len)
                val s = src.duplicate()
                s.limit(off + len).position(off)
                dst.clear()
                dst.put(s)
                slice(dst, 0, len)
            }
            r.rowStrides[i] = f.rowStrides[i]
            r.pixelStrides[i] = f.pixelStrides[i]
        }
        return r
    }

    /** The RGBA plane from the frame's first pixel: the caller's direct buffer (a view) or a reused copy. */
    fun rgba(f: Frame.Rgba): ByteBuffer {
        val src = f.buffer
        val len = (f.height - 1) * f.rowStride + 4 * f.width
        if (src.isDirect) return slice(src, f.offset, len)
        val dst = ensure(0, len)
        val s = src.duplicate()
        s.limit(f.offset + len).position(f.offset)
        dst.clear()
        dst.put(s)
        return slice(dst, 0, len)
    }

    private fun ensure(i: Int, len: Int): ByteBuffer {
        val c = copies[i]
        if (c != null && c.capacity() >= len) return c
        return ByteBuffer.allocateDirect(maxOf(len, 1)).also { copies[i] = it }
    }

    private fun copy(i: Int, bytes: ByteArray, len: Int): ByteBuffer {
        val dst = ensure(i, len)
        dst.clear()
        dst.put(bytes, 0, len)
        return dst
    }

    private fun slice(b: ByteBuffer, offset: Int, len: Int): ByteBuffer {
        val d = b.duplicate()
        d.clear()
        d.position(offset).limit(offset + len)
        return d.slice()
    }
}
