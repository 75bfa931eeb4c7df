package io.mobilesdk.pose.internal

import android.content.Context
import android.graphics.Bitmap
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
import io.mobilesdk.pose.RgbaFrame
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
            // Config.HARDWARE and RGBA_F16 exist from API 26; compare by name so minSdk 24 devices do not fail on it.
            val config = bitmap.config?.name
            require(config != "HARDWARE") {
                "HARDWARE bitmaps have no CPU pixels; pass bitmap.copy(Bitmap.Config.ARGB_8888, false)"
            }
            require(config != "ALPHA_8") {
                "ALPHA_8 bitmaps hold only alpha, no colour (they would read as black); draw the picture into an ARGB_8888 bitmap"
            }
            val w = bitmap.width
            val h = bitmap.height
            FrameChecks.size(w, h, "bitmap")
            FrameChecks.rotation(rotationDegrees)
            val n = w.toLong() * h
            // Bounded scratch: frames up to BITMAP_SCRATCH_PIXELS reuse one kept array; larger ones (photos) get a
            // temporary array for this call only (nothing large outlives the call).
            val px = if (n <= PoseEstimator.BITMAP_SCRATCH_PIXELS) {
                if (pixels.size < n) pixels = IntArray(n.toInt())
                pixels
            } else {
                require(n <= Int.MAX_VALUE) { "bitmap ${w}x$h: too many pixels" }
                IntArray(n.toInt())
            }
            bitmap.getPixels(px, 0, w, 0, 0, w, h) // RGB_565 / RGBA_F16: converted to 8-bit ARGB here
            val copyUs = (System.nanoTime() - t0) / 1000
            return run(Frame.Pixels(px, w, h, w, rotationDegrees), roi, t0, copyUs)
        }
    }

    /** The bitmap scratch array's size in pixels (instrumentation for the JVM tests: it stays bounded). */
    internal val bitmapScratchPixels: Int get() = synchronized(lock) { pixels.size }

    override fun estimate(image: Image, rotationDegrees: Int, roi: RectF?): PoseResult {
        val t0 = System.nanoTime()
        synchronized(lock) {
            checkOpen()
            return run(FrameInputs.image(image, rotationDegrees), roi, t0, 0)
        }
    }

    override fun estimate(frame: RgbaFrame, rotationDegrees: Int, roi: RectF?): PoseResult {
        val t0 = System.nanoTime()
        synchronized(lock) {
            checkOpen()
            return run(FrameInputs.rgba(frame, rotationDegrees), roi, t0, 0)
        }
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
        // mirror: the caller's ROI is in the mirrored frame; the pipeline and tracker work unmirrored
        val box = (if (options.mirror) mirrored(callerRoi, upW) else callerRoi) ?: if (useTracker) tracker?.roi(upW, upH) else null
        pipelineCalls.incrementAndGet()
        maxPipelineCallsInFlight.accumulateAndGet(pipelineCallsInFlight.incrementAndGet()) { a, b -> maxOf(a, b) }
        try {
            pipeline.run(frame, box, out)
        } finally {
            pipelineCallsInFlight.decrementAndGet()
        }
        if (useTracker) tracker?.update(out, upW, upH)
        val pose = pose(upW, upH)
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
            (if (options.mirror) mirrored(box, upW) else box)?.let { RectF(it[0], it[1], it[2], it[3]) },
        )
    }

    /**
     * Keypoints from [out] in the upright [upW] x [upH] frame (normalized too); with [PoseEstimator.Options.mirror]
     * keypoint j takes its flip partner's point, mirrored (x -> upW - 1 - x).
     */
    private fun pose(upW: Int, upH: Int): Pose {
        val names = spec.keypointNames
        var l = Float.POSITIVE_INFINITY
        var t = Float.POSITIVE_INFINITY
        var r = Float.NEGATIVE_INFINITY
        var b = Float.NEGATIVE_INFINITY
        val list = ArrayList<Keypoint>(k)
        val mirror = options.mirror
        for (j in 0 until k) {
            val src = if (mirror) flipPartner[j] else j
            val x = if (mirror) upW - 1 - out[4 * src] else out[4 * src]
            val y = out[4 * src + 1]
            val z = out[4 * src + 2]
            val s = out[4 * src + 3]
            list.add(Keypoint(names[j], x, y, if (z.isNaN()) null else z, s, (x + 0.5f) / upW, (y + 0.5f) / upH))
            if (s >= minKeypointScore) {
                l = minOf(l, x); t = minOf(t, y); r = maxOf(r, x); b = maxOf(b, y)
            }
        }
        val box = if (l <= r) RectF(l, t, r, b) else null
        return Pose(list, out[4 * k], box)
    }

    /** Keypoint j's left/right partner by the model's flip pairs (itself when it has none). */
    private val flipPartner = IntArray(k) { it }.also { p -> for ((a, c) in spec.flipPairs) { p[a] = c; p[c] = a } }

    /** [roi] (left, top, right, bottom) mirrored horizontally in a frame [width] wide (its own inverse). */
    private fun mirrored(roi: FloatArray?, width: Int): FloatArray? =
        roi?.let { floatArrayOf(width - it[2], it[1], width - it[0], it[3]) }
}
