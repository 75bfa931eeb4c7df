package io.mobilesdk.pose.internal

import io.mobilesdk.pose.ModelSpec
import io.mobilesdk.pose.PoseException
import java.io.Closeable
import java.nio.ByteBuffer

/**
 * Frame -> result in the native core's flat layout ([NativeCore] docs): K x (x, y, z, score), pose score,
 * affine A, then preprocess / inference / decode microseconds.
 */
internal interface Pipeline : Closeable {
    val engineName: String
    val nativeProcessing: Boolean
    val threads: Int

    fun run(frame: Frame, roi: FloatArray?, out: FloatArray)
}

/** ExecuTorch: everything in the native core (one JNI call per frame). */
internal class ExecuTorchPipeline(
    modelPath: String,
    spec: ModelSpec,
    requestedThreads: Int,
) : Pipeline {
    override val engineName = "executorch"
    override val nativeProcessing = true
    private var handle: Long = NativeCore.nativeCreateEstimator(modelPath, spec.manifestJson, spec.recipe, requestedThreads)
    override val threads: Int = NativeCore.nativeEstimatorThreads(handle)
    private val scratch = PlaneScratch()

    init {
        val processor = NativeCore.nativeEstimatorProcessor(handle)
        val k = NativeCore.nativeNumKeypoints(processor)
        if (k != spec.numKeypoints) {
            close()
            throw PoseException(PoseException.MISMATCH, "the program has $k keypoints, the spec ${spec.numKeypoints}")
        }
    }

    override fun run(frame: Frame, roi: FloatArray?, out: FloatArray) {
        when (frame) {
            is Frame.Pixels -> NativeCore.nativeEstimatePixels(
                handle, frame.pixels, frame.width, frame.height, frame.stride, frame.rotation, roi, out,
            )
            is Frame.Rgba -> NativeCore.nativeEstimate(
                handle, NativeCore.FORMAT_RGBA8888, frame.width, frame.height, frame.rotation,
                scratch.rgba(frame), frame.rowStride, 4, null, 0, 0, null, 0, 0, roi, out,
            )
            is Frame.Yuv -> {
                val nv21 = frame.nv21Bytes
                if (nv21 != null) {
                    NativeCore.nativeEstimateBytes(
                        handle, NativeCore.FORMAT_NV21, nv21, frame.width, frame.height, frame.rotation,
                        intArrayOf(0, frame.width * frame.height, 0),
                        intArrayOf(frame.width, frame.rowStrides[2], 0), intArrayOf(1, 2, 0), roi, out,
                    )
                } else {
                    val p = scratch.planes(frame)
                    NativeCore.nativeEstimate(
                        handle, p.format, frame.width, frame.height, frame.rotation,
                        p.buffers[0]!!, p.rowStrides[0], p.pixelStrides[0],
                        p.buffers[1], p.rowStrides[1], p.pixelStrides[1],
                        p.buffers[2], p.rowStrides[2], p.pixelStrides[2],
                        roi, out,
                    )
                }
            }
        }
    }

    override fun close() {
        if (handle != 0L) {
            NativeCore.nativeDestroyEstimator(handle)
            handle = 0L
        }
    }
}

/** Runs the model on prepared buffers: the TFLite Interpreter ([TfliteRunner]). */
internal interface InferenceRunner : Closeable {
    val threads: Int

    /** [input] holds the model input; fill [outputs] (manifest order, float32, native order). */
    fun run(input: ByteBuffer, outputs: Array<ByteBuffer>)
}

/** An engine that only runs the model, with pre/post from a [FrameProcessor] (native core or Kotlin). */
internal class ProcessorPipeline(
    spec: ModelSpec,
    override val engineName: String,
    private val runner: InferenceRunner,
    private val processor: FrameProcessor,
) : Pipeline {
    override val nativeProcessing get() = processor.isNative
    override val threads get() = runner.threads
    private val k = spec.numKeypoints
    val input: ByteBuffer = inputBuffer(spec)
    val outputs: Array<ByteBuffer> = outputBuffers(spec)
    private val affine = FloatArray(6)

    override fun run(frame: Frame, roi: FloatArray?, out: FloatArray) {
        val t0 = System.nanoTime()
        input.clear()
        processor.preprocess(frame, roi, input, affine)
        val t1 = System.nanoTime()
        input.clear()
        for (o in outputs) o.clear()
        runner.run(input, outputs)
        val t2 = System.nanoTime()
        for (o in outputs) o.clear()
        processor.decode(outputs, affine, out)
        val t3 = System.nanoTime()
        out[4 * k + 7] = ((t1 - t0) / 1000).toFloat()
        out[4 * k + 8] = ((t2 - t1) / 1000).toFloat()
        out[4 * k + 9] = ((t3 - t2) / 1000).toFloat()
    }

    override fun close() {
        try {
            runner.close()
        } finally {
            processor.close()
        }
    }

    companion object {
        /** The model input: direct, native order, exactly the manifest input's bytes (the runner reads it as is). */
        fun inputBuffer(spec: ModelSpec): ByteBuffer = directBuffer(spec.input.bytes)

        /** One direct, native-order float32 buffer per manifest output, in manifest order. */
        fun outputBuffers(spec: ModelSpec): Array<ByteBuffer> = Array(spec.outputs.size) { directBuffer(4 * spec.outputs[it].count) }
    }
}
