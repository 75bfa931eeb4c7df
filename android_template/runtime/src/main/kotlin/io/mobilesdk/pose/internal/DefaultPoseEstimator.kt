package io.mobilesdk.pose.internal

import android.content.Context
import android.graphics.Bitmap
import android.graphics.ImageFormat
import android.graphics.RectF
import android.media.Image
import io.mobilesdk.pose.Keypoint
import io.mobilesdk.pose.ModelSpec
import io.mobilesdk.pose.Pose
import io.mobilesdk.pose.PoseEstimator
import io.mobilesdk.pose.PoseException
import io.mobilesdk.pose.PoseResult
import io.mobilesdk.pose.Timings
import io.mobilesdk.pose.VideoTracker
import io.mobilesdk.pose.YuvFrame
import java.util.concurrent.atomic.AtomicInteger

/** Builds the engine + processing that [PoseEstimator.create] asks for. */
internal object Estimators {
    const val LOG_TAG = "mobilesdk"

    /** Model ids whose random weights were logged in this process (once each). */
    private val randomWeightsLogged = java.util.Collections.synchronizedSet(HashSet<String>())

    /** The warning [create] logs once per model id and process for a model without trained weights. */
    fun randomWeightsMessage(spec: ModelSpec): String =
        "${spec.modelId} (${spec.recipe}) was built without trained weights (mobilesdk build without --checkpoint): " +
            "it runs, but its keypoints are noise. Rebuild it with --checkpoint <your trained weights> before relying on it."

    /** Logs [randomWeightsMessage] when [spec] has random weights and it was not logged yet; true if it logged. */
    fun logRandomWeightsOnce(spec: ModelSpec): Boolean {
        if (!spec.randomWeights || !randomWeightsLogged.add(spec.modelId)) return false
        try {
            android.util.Log.w(LOG_TAG, randomWeightsMessage(spec))
        } catch (e: RuntimeException) {
            // android.util.Log outside Android (a plain JVM without the framework's native part): nothing to log to
        } catch (e: LinkageError) {
        }
        return true
    }

    /** [nativeAvailable]: whether libmobilesdk_pose_jni.so loaded (a parameter so tests can take either branch). */
    fun create(
        context: Context,
        spec: ModelSpec,
        options: PoseEstimator.Options,
        nativeAvailable: Boolean = NativeLibrary.isLoaded,
    ): PoseEstimator {
        val pipeline = when (spec.runtime) {
            ModelSpec.Runtime.EXECUTORCH -> {
                require(options.nativeProcessing != PoseEstimator.NativeProcessing.OFF) {
                    "nativeProcessing OFF applies to TFLite models only: the ExecuTorch engine runs in the native core"
                }
                if (!nativeAvailable) {
                    throw PoseException(PoseException.UNSUPPORTED, NativeLibrary.missingMessage(spec.modelId, "The ExecuTorch engine"))
                }
                if (!NativeCore.nativeHasExecuTorch()) {
                    throw PoseException(
                        PoseException.UNSUPPORTED,
                        "lib${NativeLibrary.NAME}.so (${NativeCore.nativeVersion()}) was built without the ExecuTorch engine",
                    )
                }
                val file = ModelFiles.executorchFile(context, spec.assetName, spec.sha256, options.modelFile)
                ExecuTorchPipeline(file.absolutePath, spec, options.threads)
            }
            ModelSpec.Runtime.LITERT -> {
                val processor = processor(spec, options.nativeProcessing, nativeAvailable)
                try {
                    val model = ModelFiles.tfliteBuffer(context, spec.assetName, spec.sha256, options.modelFile)
                    val threads = if (options.threads > 0) options.threads else minOf(4, Runtime.getRuntime().availableProcessors())
                    ProcessorPipeline(spec, "tflite", TfliteRunner(model, spec, threads, options.useXnnpack), processor)
                } catch (e: Throwable) {
                    processor.close()
                    throw e
                }
            }
        }
        logRandomWeightsOnce(spec)
        return DefaultPoseEstimator(spec, options, pipeline)
    }

    /** Native or Kotlin pre/post for an engine that only runs the model. */
    fun processor(spec: ModelSpec, mode: PoseEstimator.NativeProcessing, nativeAvailable: Boolean): FrameProcessor = when (mode) {
        PoseEstimator.NativeProcessing.OFF -> KotlinProcessor(spec)
        PoseEstimator.NativeProcessing.ON -> {
            if (!nativeAvailable) {
                throw PoseException(PoseException.UNSUPPORTED, NativeLibrary.missingMessage(spec.modelId, "nativeProcessing ON"))
            }
            NativeProcessor(spec)
        }
        PoseEstimator.NativeProcessing.AUTO -> if (nativeAvailable) NativeProcessor(spec) else KotlinProcessor(spec)
    }
}

/**
 * The estimator: argument checks, pixel access, the video tracker and result objects around a [Pipeline].
 * All state is guarded by [lock] (calls are serialised; see [PoseEstimator]).
 */
internal class DefaultPoseEstimator(
    override val spec: ModelSpec,
    override val options: PoseEstimator.Options,
    private val pipeline: Pipeline,
) : PoseEstimator {
    private val lock = Any()
    private var closed = false
    private val k = spec.numKeypoints
    private val out = FloatArray(NativeCore.resultSize(k))
    private var pixels = IntArray(0)
    override val minKeypointScore: Float = options.minKeypointScore ?: spec.defaultMinKeypointScore
    private val tracker = if (options.videoTracking) VideoTracker(options.tracking, k, minKeypointScore) else null

    /**
     * Instrumentation of the engine call (internal: read by the JVM tests, useful when debugging): how many
     * frames reached the [pipeline], and the most calls that were ever inside it at the same time, which is 1
     * by this class's contract (every call holds [lock] while the pipeline runs). Two atomic updates per frame.
     */
    internal val pipelineCalls = AtomicInteger()
    internal val maxPipelineCallsInFlight = AtomicInteger()
    private val pipelineCallsInFlight = AtomicInteger()

    override val engineName: String get() = pipeline.engineName
    override val usesNativeProcessing: Boolean get() = pipeline.nativeProcessing
    override val threads: Int get() = pipeline.threads

    override fun estimate(bitmap: Bitmap, roi: RectF?): PoseResult = estimate(bitmap, 0, roi)

    override fun estimate(bitmap: Bitmap, rotationDegrees: Int, roi: RectF?): PoseResult {
        val t0 = System.nanoTime()
        synchronized(lock) {
            checkOpen()
            require(!bitmap.isRecycled) { "bitmap is recycled" }
            // Config.HARDWARE exists from API 26; compare by name so minSdk 24 devices do not fail on it.
            require(bitmap.config?.name != "HARDWARE") {
                "HARDWARE bitmaps have no CPU pixels; pass bitmap.copy(Bitmap.Config.ARGB_8888, false)"
            }
            val w = bitmap.width
            val h = bitmap.height
            FrameChecks.size(w, h, "bitmap")
            FrameChecks.rotation(rotationDegrees)
            if (pixels.size < w * h) pixels = IntArray(w * h)
            bitmap.getPixels(pixels, 0, w, 0, 0, w, h)
            val copyUs = (System.nanoTime() - t0) / 1000
            return run(Frame.Pixels(pixels, w, h, w, rotationDegrees), roi, t0, copyUs)
        }
    }

    override fun estimate(image: Image, rotationDegrees: Int, roi: RectF?): PoseResult {
        val frame = synchronized(lock) {
            checkOpen()
            require(image.format == ImageFormat.YUV_420_888) {
                "image format ${image.format} is not YUV_420_888 (${ImageFormat.YUV_420_888}); for JPEG/RGBA images decode them to a Bitmap"
            }
            val p = image.planes
            require(p.size == 3) { "a YUV_420_888 image has 3 planes, got ${p.size}" }
            YuvFrame(
                image.width, image.height,
                io.mobilesdk.pose.ImagePlane(p[0].buffer, p[0].rowStride, p[0].pixelStride),
                io.mobilesdk.pose.ImagePlane(p[1].buffer, p[1].rowStride, p[1].pixelStride),
                io.mobilesdk.pose.ImagePlane(p[2].buffer, p[2].rowStride, p[2].pixelStride),
            )
        }
        return estimate(frame, rotationDegrees, roi)
    }

    override fun estimate(frame: YuvFrame, rotationDegrees: Int, roi: RectF?): PoseResult {
        val t0 = System.nanoTime()
        synchronized(lock) {
            checkOpen()
            val w = frame.width
            val h = frame.height
            FrameChecks.evenYuv(w, h, "YUV_420_888")
            FrameChecks.rotation(rotationDegrees)
            val planes = arrayOf(frame.y, frame.u, frame.v)
            val rows = intArrayOf(h, h / 2, h / 2)
            val cols = intArrayOf(w, w / 2, w / 2)
            for (i in 0 until 3) {
                val p = planes[i]
                FrameChecks.plane("YUV_420_888", i, p.buffer.limit(), 0, rows[i], cols[i], p.rowStride, p.pixelStride)
            }
            val f = Frame.Yuv(
                w, h, rotationDegrees,
                Array(3) { planes[it].buffer }, IntArray(3),
                IntArray(3) { planes[it].rowStride }, IntArray(3) { planes[it].pixelStride },
            )
            return run(f, roi, t0, 0)
        }
    }

    override fun estimateNv21(nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int, roi: RectF?): PoseResult {
        val t0 = System.nanoTime()
        synchronized(lock) {
            checkOpen()
            FrameChecks.evenYuv(width, height, "NV21")
            FrameChecks.rotation(rotationDegrees)
            val n = width * height
            val need = n + n / 2
            require(nv21.size >= need) { "NV21 frame: ${nv21.size} bytes, a ${width}x$height frame needs $need" }
            return run(Frame.nv21(nv21, width, height, rotationDegrees), roi, t0, 0)
        }
    }

    override fun reset() {
        synchronized(lock) { tracker?.reset() }
    }

    override fun close() {
        synchronized(lock) {
            if (closed) return
            closed = true
            pipeline.close()
        }
    }

    private fun checkOpen() {
        check(!closed) { "this PoseEstimator is closed" }
    }

    /** Under [lock]: ROI (caller's or tracked), pipeline, result objects, tracker update. */
    private fun run(frame: Frame, roi: RectF?, t0: Long, copyUs: Long): PoseResult {
        val upW = frame.uprightWidth
        val upH = frame.uprightHeight
        val callerRoi = roi?.let { floatArrayOf(it.left, it.top, it.right, it.bottom) }
        if (callerRoi != null) FrameChecks.roi(callerRoi, upW, upH)
        val useTracker = tracker != null && callerRoi == null
        val box = callerRoi ?: if (useTracker) tracker?.roi(upW, upH) else null
        pipelineCalls.incrementAndGet()
        maxPipelineCallsInFlight.accumulateAndGet(pipelineCallsInFlight.incrementAndGet()) { a, b -> maxOf(a, b) }
        try {
            pipeline.run(frame, box, out)
        } finally {
            pipelineCallsInFlight.decrementAndGet()
        }
        if (useTracker) tracker?.update(out, upW, upH)
        val pose = pose()
        val total = (System.nanoTime() - t0) / 1e6f
        val timings = Timings(
            preprocessMs = (out[4 * k + 7] + copyUs) / 1000f,
            inferenceMs = out[4 * k + 8] / 1000f,
            decodeMs = out[4 * k + 9] / 1000f,
            totalMs = total,
        )
        val keep = options.minPoseScore?.let { pose.score >= it } ?: true
        return PoseResult(
            if (keep) listOf(pose) else emptyList(),
            timings,
            box?.let { RectF(it[0], it[1], it[2], it[3]) },
        )
    }

    private fun pose(): Pose {
        val names = spec.keypointNames
        var l = Float.POSITIVE_INFINITY
        var t = Float.POSITIVE_INFINITY
        var r = Float.NEGATIVE_INFINITY
        var b = Float.NEGATIVE_INFINITY
        val list = ArrayList<Keypoint>(k)
        for (j in 0 until k) {
            val x = out[4 * j]
            val y = out[4 * j + 1]
            val z = out[4 * j + 2]
            val s = out[4 * j + 3]
            list.add(Keypoint(names[j], x, y, if (z.isNaN()) null else z, s))
            if (s >= minKeypointScore) {
                l = minOf(l, x); t = minOf(t, y); r = maxOf(r, x); b = maxOf(b, y)
            }
        }
        val box = if (l <= r) RectF(l, t, r, b) else null
        return Pose(list, out[4 * k], box)
    }
}
