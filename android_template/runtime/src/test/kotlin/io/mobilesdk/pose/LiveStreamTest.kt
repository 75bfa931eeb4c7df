package io.mobilesdk.pose

import android.graphics.RectF
import io.mobilesdk.pose.internal.DefaultPoseEstimator
import io.mobilesdk.pose.internal.ExecuTorchPipeline
import io.mobilesdk.pose.testing.GatedPipeline
import io.mobilesdk.pose.testing.ModelFixture
import java.nio.ByteBuffer
import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/**
 * Running modes on the real ExecuTorch engine: LIVE_STREAM (latest frame wins, dropped counts, timestamps,
 * the listener's executor, the caller's buffers free on return), VIDEO timestamps, and the mode rules. The
 * engine call is gated ([GatedPipeline]) so "a frame is in flight" is a fact the test sets up, not a race.
 * Frames are YUV_420_888 as a camera delivers them (semi-planar, padded rows, direct buffers) made from
 * the fixture's video clip.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class LiveStreamTest {
    private val f by lazy { ModelFixture.load() }
    private val listenerThread = Executors.newSingleThreadExecutor { r -> Thread(r, "app-listener") }

    @After
    fun shutdown() {
        listenerThread.shutdown()
    }

    /** The clip's frame [t] as a camera's YUV_420_888 (NV12 layout, rows padded to width + 32). */
    private fun cameraFrame(t: Int): YuvFrame {
        val video = f.doc.getJSONObject("video")
        val w = video.getInt("width")
        val h = video.getInt("height")
        val px = f.argb(video.getJSONArray("frames").getJSONObject(t).getString("rgb"), w, h)
        val stride = w + 32
        val y = ByteBuffer.allocateDirect(stride * h)
        val uv = ByteBuffer.allocateDirect(stride * h / 2)
        for (i in 0 until h) for (j in 0 until w) {
            val c = px[i * w + j]
            val r = (c shr 16) and 0xFF
            val g = (c shr 8) and 0xFF
            val b = c and 0xFF
            y.put(i * stride + j, (0.299 * r + 0.587 * g + 0.114 * b).toInt().coerceIn(0, 255).toByte())
            if (i % 2 == 0 && j % 2 == 0) {
                uv.put(i / 2 * stride + j, (128 - 0.168736 * r - 0.331264 * g + 0.5 * b).toInt().coerceIn(0, 255).toByte())
                uv.put(i / 2 * stride + j + 1, (128 + 0.5 * r - 0.418688 * g - 0.081312 * b).toInt().coerceIn(0, 255).toByte())
            }
        }
        val v = uv.duplicate().also { it.position(1) }.slice()
        return YuvFrame(w, h, ImagePlane(y, stride, 1), ImagePlane(uv, stride, 2), ImagePlane(v, stride, 2))
    }

    /** What CameraX does once the analyzer returns: the frame's memory is reused for another frame. */
    private fun scribble(frame: YuvFrame) {
        for (p in listOf(frame.y, frame.u, frame.v)) for (i in 0 until p.buffer.capacity()) p.buffer.put(i, 7)
    }

    private fun gated(options: PoseEstimator.Options): Pair<DefaultPoseEstimator, GatedPipeline> {
        val pipeline = GatedPipeline(ExecuTorchPipeline(f.pte.absolutePath, f.spec, 0))
        return DefaultPoseEstimator(f.spec, options, pipeline) to pipeline
    }

    private fun live(results: LinkedBlockingQueue<Pair<PoseResult, Thread>>, errors: LinkedBlockingQueue<Pair<RuntimeException, Long>>? = null, executor: Executor? = listenerThread) =
        PoseEstimator.Options(
            runningMode = RunningMode.LIVE_STREAM,
            resultListener = { results.add(it to Thread.currentThread()) },
            errorListener = errors?.let { q -> ErrorListener { e, ts -> q.add(e to ts) } },
            listenerExecutor = executor,
        )

    private fun <T : Any> LinkedBlockingQueue<T>.next(): T = poll(120, TimeUnit.SECONDS) ?: throw AssertionError("nothing came in 120 s")

    @Test
    fun burstDropsFramesLatestWinsAndResultsComeInOrderOnTheExecutor() {
        val clip = (0 until 8).map { cameraFrame(it) }
        // Reference: the same frames through VIDEO mode (same tracker and smoother), the ones LIVE_STREAM runs.
        val video = f.estimator(PoseEstimator.Options(runningMode = RunningMode.VIDEO))
        val want = video.use { listOf(0 to 0L, 4 to 132L, 7 to 231L).map { (i, ts) -> it.estimateForVideo(clip[i], 0, ts) } }

        val results = LinkedBlockingQueue<Pair<PoseResult, Thread>>()
        val (est, engine) = gated(live(results))
        est.estimateAsync(clip[0], 0, 0L)
        scribble(clip[0]) // the caller's buffers are free as soon as estimateAsync returns
        engine.awaitEntered() // frame 0 is in flight
        for (i in 1..4) est.estimateAsync(clip[i], 0, 33L * i) // a burst: 1, 2, 3 are replaced by 4
        for (i in 1..4) scribble(clip[i])
        engine.open()
        engine.awaitEntered() // frame 4 in flight
        est.estimateAsync(clip[5], 0, 165L)
        est.estimateAsync(clip[6], 0, 198L, RectF(0f, 0f, 50f, 50f)) // replaced before it runs: its ROI is never used
        est.estimateAsync(clip[7], 0, 231L)
        engine.open()
        engine.awaitEntered()
        engine.open()
        val got = (0 until 3).map { results.next() }
        assertEquals(listOf(0L, 132L, 231L), got.map { it.first.timestampMs })
        assertEquals("frames dropped since the previous result", listOf(0, 3, 2), got.map { it.first.droppedFrames })
        assertTrue("the listener runs on the given executor", got.all { it.second.name == "app-listener" })
        for ((i, r) in got.withIndex()) {
            assertEquals("result $i: the frame's own keypoints, from the copy", want[i].poses, r.first.poses)
            assertEquals("result $i: the tracked box", want[i].roi, r.first.roi)
        }
        assertNull(want[0].roi)
        assertNotNull("tracking: the later frames use the tracked box", want[1].roi)
        est.close()
        engine.awaitFreed()
        assertTrue("nothing else was delivered", results.isEmpty())
    }

    @Test
    fun timestampsMustIncreaseAndModesAreEnforced() {
        val results = LinkedBlockingQueue<Pair<PoseResult, Thread>>()
        val (est, engine) = gated(live(results, executor = null))
        val frame = cameraFrame(0)
        est.estimateAsync(frame, 0, 100L)
        engine.awaitEntered()
        val back = assertThrows(IllegalArgumentException::class.java) { est.estimateAsync(frame, 0, 99L) }
        assertEquals("timestampMs 99 is not after the previous frame's 100: timestamps must strictly increase in LIVE_STREAM mode", back.message)
        assertThrows("an equal timestamp", IllegalArgumentException::class.java) { est.estimateAsync(frame, 0, 100L) }
        assertThrows("a bad frame is refused before its timestamp counts", IllegalArgumentException::class.java) { est.estimateAsync(frame, 45, 101L) }
        val wrong = assertThrows(IllegalStateException::class.java) { est.estimate(frame, 0) }
        assertEquals("estimate(...) is for RunningMode.IMAGE; this estimator was created in LIVE_STREAM mode: call estimateAsync(..., timestampMs)", wrong.message)
        assertThrows(IllegalStateException::class.java) { est.estimateForVideo(frame, 0, 200L) }
        est.estimateAsync(frame, 0, 101L)
        engine.open()
        engine.awaitEntered()
        engine.open()
        val got = (0 until 2).map { results.next() }
        assertEquals(listOf(100L, 101L), got.map { it.first.timestampMs })
        assertEquals(listOf(0, 0), got.map { it.first.droppedFrames })
        assertTrue("no executor: the listener runs on the estimator's thread", got.all { it.second.name == "mobilesdk-pose-live" })
        est.close()
        engine.awaitFreed()

        f.estimator(PoseEstimator.Options(runningMode = RunningMode.VIDEO)).use { v ->
            v.estimateForVideo(frame, 0, 5L)
            val e = assertThrows(IllegalArgumentException::class.java) { v.estimateForVideo(frame, 0, 5L) }
            assertTrue(e.message!!, e.message!!.contains("must strictly increase in VIDEO mode"))
            assertEquals("usable after a refused timestamp", 6L, v.estimateForVideo(frame, 0, 6L).timestampMs)
            val async = assertThrows(IllegalStateException::class.java) { v.estimateAsync(frame, 0, 7L) }
            assertTrue(async.message!!, async.message!!.contains("call estimateForVideo(..., timestampMs)"))
        }
        f.estimator().use { i ->
            assertNull("IMAGE results have no timestamp", i.estimate(frame, 0).timestampMs)
            assertThrows(IllegalStateException::class.java) { i.estimateForVideo(frame, 0, 1L) }
            assertThrows(IllegalStateException::class.java) { i.estimateAsync(frame, 0, 1L) }
        }
        val noListener = assertThrows(IllegalArgumentException::class.java) { PoseEstimator.Options(runningMode = RunningMode.LIVE_STREAM) }
        assertEquals("LIVE_STREAM mode needs a resultListener", noListener.message)
        assertThrows(IllegalArgumentException::class.java) { PoseEstimator.Options(resultListener = {}) }
    }

    @Test
    fun aFailedRunGoesToTheErrorListenerAndTheStreamGoesOn() {
        val results = LinkedBlockingQueue<Pair<PoseResult, Thread>>()
        val errors = LinkedBlockingQueue<Pair<RuntimeException, Long>>()
        val (est, engine) = gated(live(results, errors))
        engine.failNext = PoseException(PoseException.INFERENCE, "engine failed")
        val frame = cameraFrame(1)
        est.estimateAsync(frame, 0, 10L)
        engine.awaitEntered()
        engine.open()
        val (e, ts) = errors.next()
        assertEquals(10L, ts)
        assertEquals(PoseException.INFERENCE, (e as PoseException).status)
        est.estimateAsync(frame, 0, 20L)
        engine.awaitEntered()
        engine.open()
        assertEquals(20L, results.next().first.timestampMs)
        est.close()
        engine.awaitFreed()
    }

    /**
     * VIDEO smooths the engine's keypoints exactly as the One Euro filter does with the frames' timestamps
     * (recomputed here from the unsmoothed run), visible keypoints only; IMAGE mode does not smooth.
     */
    @Test
    fun videoModeSmoothsWithTheTimestampsAndImageModeDoesNot() {
        val clip = (0 until 6).map { cameraFrame(it) }
        val times = listOf(0L, 33L, 66L, 132L, 165L, 200L) // a dropped frame and an uneven period
        fun run(o: PoseEstimator.Options) = f.estimator(o).use { e -> clip.indices.map { e.estimateForVideo(clip[it], 0, times[it]).poses[0] } }
        val raw = run(PoseEstimator.Options(runningMode = RunningMode.VIDEO, tracking = null, smoothing = null))
        val smooth = run(PoseEstimator.Options(runningMode = RunningMode.VIDEO, tracking = null))
        val image = f.estimator().use { e -> clip.map { e.estimate(it, 0).poses[0] } }
        assertEquals("IMAGE mode: no smoothing", raw, image)
        val k = f.spec.numKeypoints
        val filter = KeypointSmoother(SmoothingOptions(), k, VisibilityCalibration.DEFAULT_THRESHOLD)
        var moved = 0
        for ((t, pose) in raw.withIndex()) {
            val out = FloatArray(io.mobilesdk.pose.internal.NativeCore.resultSize(k))
            for ((j, kp) in pose.keypoints.withIndex()) {
                out[4 * j] = kp.x; out[4 * j + 1] = kp.y; out[4 * j + 2] = Float.NaN; out[4 * j + 3] = kp.visibility
            }
            filter.apply(out, times[t], 224, 224, lost = false)
            for ((j, kp) in smooth[t].keypoints.withIndex()) {
                assertEquals("frame $t ${kp.name} x", out[4 * j], kp.x, 1e-3f)
                assertEquals("frame $t ${kp.name} y", out[4 * j + 1], kp.y, 1e-3f)
                assertEquals("scores are not smoothed", pose.keypoints[j].score, kp.score, 0f)
                if (Math.abs(kp.x - pose.keypoints[j].x) > 1e-3f) moved++
            }
        }
        assertTrue("smoothing changed keypoints: $moved", moved > 0)
        assertEquals("the first frame passes through", raw[0], smooth[0])
    }

    /** RGBA planes (padded rows) and bitmaps are copied too: the results equal VIDEO mode's on the same frames. */
    @Test
    fun rgbaAndBitmapFramesAreCopiedToo() {
        val video = f.doc.getJSONObject("video")
        val w = video.getInt("width")
        val h = video.getInt("height")
        val name = { t: Int -> video.getJSONArray("frames").getJSONObject(t).getString("rgb") }
        val stride = 4 * w + 12
        val rgba = { t: Int ->
            val px = f.argb(name(t), w, h)
            val buf = ByteBuffer.allocateDirect(stride * h)
            for (i in 0 until h) for (j in 0 until w) {
                val c = px[i * w + j]
                val o = i * stride + 4 * j
                buf.put(o, (c shr 16).toByte()); buf.put(o + 1, (c shr 8).toByte()); buf.put(o + 2, c.toByte()); buf.put(o + 3, -1)
            }
            RgbaFrame(w, h, ImagePlane(buf, stride, 4))
        }
        val want = f.estimator(PoseEstimator.Options(runningMode = RunningMode.VIDEO)).use {
            listOf(it.estimateForVideo(rgba(2), 0, 10L), it.estimateForVideo(f.bitmap(name(3), w, h), 90, 20L))
        }
        val results = LinkedBlockingQueue<Pair<PoseResult, Thread>>()
        val (est, engine) = gated(live(results))
        val first = rgba(2)
        est.estimateAsync(first, 0, 10L)
        for (i in 0 until first.plane.buffer.capacity()) first.plane.buffer.put(i, 0)
        engine.open()
        val bmp = f.bitmap(name(3), w, h).copy(android.graphics.Bitmap.Config.ARGB_8888, true)
        est.estimateAsync(bmp, 90, 20L)
        bmp.eraseColor(0)
        engine.open()
        val got = listOf(results.next().first, results.next().first)
        assertEquals(want.map { it.poses }, got.map { it.poses })
        assertEquals(want.map { it.roi }, got.map { it.roi })
        est.close()
        engine.awaitFreed()
    }

    /** close() while a frame runs: returns at once, the frame's thread frees the engine, nothing is delivered. */
    @Test
    fun closeDuringALiveInferenceReturnsAtOnce() {
        val results = LinkedBlockingQueue<Pair<PoseResult, Thread>>()
        val (est, engine) = gated(live(results))
        est.estimateAsync(cameraFrame(0), 0, 0L)
        engine.awaitEntered()
        est.estimateAsync(cameraFrame(1), 0, 33L) // waiting: dropped by close
        est.close() // the gate is shut: a close that waited for the inference would never return
        assertEquals("not freed while the inference runs", 1L, engine.freed.count)
        assertThrows(IllegalStateException::class.java) { est.estimateAsync(cameraFrame(2), 0, 66L) }
        engine.open()
        engine.awaitFreed()
        assertEquals("freed by the inference thread", "mobilesdk-pose-live", engine.closeThread!!.name)
        listenerThread.submit {}.get(60, TimeUnit.SECONDS) // anything posted before is done
        assertTrue("no result after close: ${results.map { it.first.timestampMs }}", results.isEmpty())
        assertSame(RunningMode.LIVE_STREAM, est.runningMode)
    }
}
