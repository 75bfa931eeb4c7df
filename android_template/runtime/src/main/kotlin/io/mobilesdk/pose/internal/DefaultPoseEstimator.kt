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
import io.mobilesdk.pose.KeypointSmoother
import io.mobilesdk.pose.PoseResult
import io.mobilesdk.pose.RunningMode
import io.mobilesdk.pose.Timings
import io.mobilesdk.pose.VideoTracker
import io.mobilesdk.pose.RgbaFrame
import io.mobilesdk.pose.YuvFrame
import java.util.concurrent.atomic.AtomicBoolean
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
        log(android.util.Log.WARN, randomWeightsMessage(spec))
        return true
    }

    /** android.util.Log (warning, or error from [android.util.Log.ERROR] up) with tag [LOG_TAG]; nothing outside Android (a plain JVM without the framework's native part). */
    fun log(priority: Int, message: String) {
        try {
            if (priority >= android.util.Log.ERROR) android.util.Log.e(LOG_TAG, message) else android.util.Log.w(LOG_TAG, message)
        } catch (e: RuntimeException) {
        } catch (e: LinkageError) {
        }
    }

    /** [PoseEstimator.create]'s thread rule: not on the main (UI) thread. */
    fun checkNotMainThread() {
        val main = try {
            android.os.Looper.getMainLooper()
        } catch (e: RuntimeException) {
            null // a plain JVM without the framework: no main thread to protect
        }
        check(main == null || main.thread !== Thread.currentThread()) {
            "PoseEstimator.create was called on the main thread: it loads and checks the model (file I/O, native " +
                "code), which can take seconds; call it from a background thread (an Executor, Dispatchers.Default)"
        }
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
 * The estimator: argument checks, pixel access, running modes, the tracker and smoother, result objects
 * around a [Pipeline]. Frames run under [lock] (calls are serialised; see [PoseEstimator]). [close] does not
 * take [lock]: the pipeline is reference-counted ([refs]: the owner's reference plus one per frame inside
 * it) and freed by whoever drops the last reference — [close] when idle, else the thread of the running
 * frame when it leaves the pipeline.
 */
internal class DefaultPoseEstimator(
    override val spec: ModelSpec,
    override val options: PoseEstimator.Options,
    private val pipeline: Pipeline,
) : PoseEstimator {
    private val lock = Any()

    @Volatile
    private var closed = false
    private val closing = AtomicBoolean()
    private val refs = AtomicInteger(1)
    private val k = spec.numKeypoints
    private val out = FloatArray(NativeCore.resultSize(k))
    private var pixels = IntArray(0)
    override val minKeypointScore: Float = options.minKeypointScore ?: spec.defaultMinKeypointScore

    /** The raw score whose visibility is [minKeypointScore] (a monotone map): the tracker and the smoother keep
     *  keypoints scoring at least this, i.e. exactly the visible ones, without reading visibilities. */
    private val minVisibleScore = spec.codec.visibilityCalibration.scoreAt(minKeypointScore.toDouble()).toFloat()
    private val mode = options.runningMode
    private val tracker = options.tracking?.takeIf { mode != RunningMode.IMAGE }?.let { VideoTracker(it, k, minVisibleScore) }
    private val smoother = options.smoothing?.takeIf { mode != RunningMode.IMAGE }?.let { KeypointSmoother(it, k, minVisibleScore) }

    /** VIDEO: the previous frame's timestamp (under [lock]). */
    private var lastTimestampMs = Long.MIN_VALUE
    private val live: LiveStream? = if (mode == RunningMode.LIVE_STREAM) LiveStream(::runLive) else null

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

    init {
        live?.start()
    }

    // ---- inputs -> validated frames (the frames may point into the caller's memory or into [pixels]) ----

    private fun bitmapFrame(bitmap: Bitmap, rotationDegrees: Int): Frame {
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
        return Frame.Pixels(px, w, h, w, rotationDegrees)
    }

    /** The bitmap scratch array's size in pixels (instrumentation for the JVM tests: it stays bounded). */
    internal val bitmapScratchPixels: Int get() = synchronized(lock) { pixels.size }

    private fun imageFrame(image: Image, rotationDegrees: Int): Frame = FrameInputs.image(image, rotationDegrees)

    private fun yuvFrame(frame: YuvFrame, rotationDegrees: Int): Frame {
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
        return Frame.Yuv(
            w, h, rotationDegrees,
            Array(3) { planes[it].buffer }, IntArray(3),
            IntArray(3) { planes[it].rowStride }, IntArray(3) { planes[it].pixelStride },
        )
    }

    private fun nv21Frame(nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int): Frame {
        FrameChecks.evenYuv(width, height, "NV21")
        FrameChecks.rotation(rotationDegrees)
        val n = width * height
        val need = n + n / 2
        require(nv21.size >= need) { "NV21 frame: ${nv21.size} bytes, a ${width}x$height frame needs $need" }
        return Frame.nv21(nv21, width, height, rotationDegrees)
    }

    // ---- IMAGE ----

    override fun estimate(bitmap: Bitmap, roi: RectF?): PoseResult = estimate(bitmap, 0, roi)

    override fun estimate(bitmap: Bitmap, rotationDegrees: Int, roi: RectF?): PoseResult =
        image(roi) { bitmapFrame(bitmap, rotationDegrees) }

    override fun estimate(image: Image, rotationDegrees: Int, roi: RectF?): PoseResult =
        image(roi) { imageFrame(image, rotationDegrees) }

    override fun estimate(frame: YuvFrame, rotationDegrees: Int, roi: RectF?): PoseResult =
        image(roi) { yuvFrame(frame, rotationDegrees) }

    override fun estimateNv21(nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int, roi: RectF?): PoseResult =
        image(roi) { nv21Frame(nv21, width, height, rotationDegrees) }

    override fun estimate(frame: RgbaFrame, rotationDegrees: Int, roi: RectF?): PoseResult =
        image(roi) { FrameInputs.rgba(frame, rotationDegrees) }

    // ---- VIDEO ----

    override fun estimateForVideo(bitmap: Bitmap, timestampMs: Long, roi: RectF?): PoseResult =
        estimateForVideo(bitmap, 0, timestampMs, roi)

    override fun estimateForVideo(bitmap: Bitmap, rotationDegrees: Int, timestampMs: Long, roi: RectF?): PoseResult =
        video(timestampMs, roi) { bitmapFrame(bitmap, rotationDegrees) }

    override fun estimateForVideo(image: Image, rotationDegrees: Int, timestampMs: Long, roi: RectF?): PoseResult =
        video(timestampMs, roi) { imageFrame(image, rotationDegrees) }

    override fun estimateForVideo(frame: YuvFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF?): PoseResult =
        video(timestampMs, roi) { yuvFrame(frame, rotationDegrees) }

    override fun estimateNv21ForVideo(
        nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int, timestampMs: Long, roi: RectF?,
    ): PoseResult = video(timestampMs, roi) { nv21Frame(nv21, width, height, rotationDegrees) }

    override fun estimateForVideo(frame: RgbaFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF?): PoseResult =
        video(timestampMs, roi) { FrameInputs.rgba(frame, rotationDegrees) }

    // ---- LIVE_STREAM ----

    override fun estimateAsync(image: Image, rotationDegrees: Int, timestampMs: Long, roi: RectF?) =
        async(timestampMs, roi) { imageFrame(image, rotationDegrees) }

    override fun estimateAsync(frame: YuvFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF?) =
        async(timestampMs, roi) { yuvFrame(frame, rotationDegrees) }

    override fun estimateAsync(bitmap: Bitmap, rotationDegrees: Int, timestampMs: Long, roi: RectF?) =
        async(timestampMs, roi) { bitmapFrame(bitmap, rotationDegrees) }

    override fun estimateNv21Async(nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int, timestampMs: Long, roi: RectF?) =
        async(timestampMs, roi) { nv21Frame(nv21, width, height, rotationDegrees) }

    override fun estimateAsync(frame: RgbaFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF?) =
        async(timestampMs, roi) { FrameInputs.rgba(frame, rotationDegrees) }

    override fun reset() {
        synchronized(lock) {
            tracker?.reset()
            smoother?.reset()
        }
    }

    override fun close() {
        if (!closing.compareAndSet(false, true)) return
        closed = true
        live?.stop()
        release()
    }

    // ---- modes ----

    private inline fun image(roi: RectF?, frame: () -> Frame): PoseResult {
        val t0 = System.nanoTime()
        checkOpen() // before the lock: a closed estimator or the wrong mode fails at once, not after a running frame
        checkMode(RunningMode.IMAGE, "estimate(...)")
        synchronized(lock) {
            checkOpen()
            val f = frame()
            val copyUs = (System.nanoTime() - t0) / 1000
            return run(f, callerRoi(roi, f), t0, copyUs, null, 0)
        }
    }

    private inline fun video(timestampMs: Long, roi: RectF?, frame: () -> Frame): PoseResult {
        val t0 = System.nanoTime()
        checkOpen() // before the lock: a closed estimator or the wrong mode fails at once, not after a running frame
        checkMode(RunningMode.VIDEO, "estimateForVideo(..., timestampMs)")
        synchronized(lock) {
            checkOpen()
            val f = frame()
            val box = callerRoi(roi, f)
            checkTimestamp(timestampMs, lastTimestampMs)
            lastTimestampMs = timestampMs
            val copyUs = (System.nanoTime() - t0) / 1000
            return run(f, box, t0, copyUs, timestampMs, 0)
        }
    }

    private inline fun async(timestampMs: Long, roi: RectF?, frame: () -> Frame) {
        val t0 = System.nanoTime()
        checkOpen()
        checkMode(RunningMode.LIVE_STREAM, "estimateAsync(..., timestampMs)")
        val live = live!!
        synchronized(live.intake) {
            checkOpen()
            val f = frame()
            val box = callerRoi(roi, f)
            checkTimestamp(timestampMs, live.lastTimestampMs)
            live.submit(f, box, timestampMs, t0)
            live.lastTimestampMs = timestampMs
        }
    }

    /** The inference thread of LIVE_STREAM: one copied frame through [run], the result to the listener. */
    private fun runLive(frame: Frame, roi: FloatArray?, timestampMs: Long, t0: Long, copyUs: Long, dropped: Int) {
        val result = try {
            synchronized(lock) {
                if (closed) return
                run(frame, roi, t0, copyUs, timestampMs, dropped)
            }
        } catch (e: RuntimeException) {
            if (closed) return
            deliver { errorListener(e, timestampMs) }
            return
        }
        if (closed) return
        deliver { options.resultListener!!.onResult(result) }
    }

    private fun errorListener(e: RuntimeException, timestampMs: Long) {
        val listener = options.errorListener
        if (listener != null) {
            listener.onError(e, timestampMs)
        } else {
            Estimators.log(android.util.Log.ERROR, "LIVE_STREAM frame at $timestampMs ms failed: $e")
        }
    }

    private fun deliver(call: () -> Unit) {
        val executor = options.listenerExecutor
        try {
            if (executor != null) executor.execute(call) else call()
        } catch (e: RuntimeException) {
            // a rejecting executor (shut down) or a listener that threw on the inference thread: the stream goes on
            Estimators.log(android.util.Log.ERROR, "LIVE_STREAM listener failed: $e")
        }
    }

    private fun checkOpen() {
        check(!closed) { "this PoseEstimator is closed" }
    }

    private fun checkMode(wanted: RunningMode, method: String) {
        check(mode == wanted) {
            val right = when (mode) {
                RunningMode.IMAGE -> "estimate(...)"
                RunningMode.VIDEO -> "estimateForVideo(..., timestampMs)"
                RunningMode.LIVE_STREAM -> "estimateAsync(..., timestampMs)"
            }
            "$method is for RunningMode.$wanted; this estimator was created in $mode mode: call $right"
        }
    }

    private fun checkTimestamp(timestampMs: Long, previous: Long) {
        require(timestampMs > previous) {
            "timestampMs $timestampMs is not after the previous frame's $previous: timestamps must strictly increase in $mode mode"
        }
    }

    /** The caller's ROI as a checked array (IllegalArgumentException when it does not fit the upright frame). */
    private fun callerRoi(roi: RectF?, frame: Frame): FloatArray? {
        if (roi == null) return null
        val a = floatArrayOf(roi.left, roi.top, roi.right, roi.bottom)
        FrameChecks.roi(a, frame.uprightWidth, frame.uprightHeight)
        return a
    }

    /** Takes a reference on the pipeline for one frame; throws when closed (the pipeline may be freed). */
    private fun acquire() {
        while (true) {
            val r = refs.get()
            check(r > 0 && !closed) { "this PoseEstimator is closed" }
            if (refs.compareAndSet(r, r + 1)) return
        }
    }

    /** Drops a reference; the last one frees the pipeline (on this thread). */
    private fun release() {
        if (refs.decrementAndGet() == 0) pipeline.close()
    }

    /** Under [lock]: ROI (caller's or tracked), pipeline, tracker, smoother, result objects. */
    private fun run(frame: Frame, callerRoi: FloatArray?, t0: Long, copyUs: Long, timestampMs: Long?, dropped: Int): PoseResult {
        val upW = frame.uprightWidth
        val upH = frame.uprightHeight
        val ts = timestampMs ?: 0L
        val useTracker = tracker != null && callerRoi == null
        // mirror: the caller's ROI is in the mirrored frame; the pipeline and tracker work unmirrored
        val box = (if (options.mirror) mirrored(callerRoi, upW) else callerRoi) ?: if (useTracker) tracker?.roi(upW, upH, ts) else null
        acquire()
        pipelineCalls.incrementAndGet()
        maxPipelineCallsInFlight.accumulateAndGet(pipelineCallsInFlight.incrementAndGet()) { a, b -> maxOf(a, b) }
        try {
            pipeline.run(frame, box, out)
        } finally {
            pipelineCallsInFlight.decrementAndGet()
            release()
        }
        val tracked = if (useTracker) tracker?.update(out, upW, upH, ts) ?: true else true
        val keep = options.minPoseScore?.let { out[4 * k] >= it } ?: true
        smoother?.apply(out, ts, upW, upH, lost = !tracked || !keep)
        val pose = pose(upW, upH)
        val total = (System.nanoTime() - t0) / 1e6f
        val timings = Timings(
            preprocessMs = (out[4 * k + 7] + copyUs) / 1000f,
            inferenceMs = out[4 * k + 8] / 1000f,
            decodeMs = out[4 * k + 9] / 1000f,
            totalMs = total,
        )
        return PoseResult(
            if (keep) listOf(pose) else emptyList(),
            timings,
            (if (options.mirror) mirrored(box, upW) else box)?.let { RectF(it[0], it[1], it[2], it[3]) },
            timestampMs,
            dropped,
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
            val v = out[4 * k + 10 + src]
            list.add(Keypoint(names[j], x, y, if (z.isNaN()) null else z, s, (x + 0.5f) / upW, (y + 0.5f) / upH, v))
            if (v >= minKeypointScore) {
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
